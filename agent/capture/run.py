"""Record one browser session to a sink until the browser closes, Ctrl-C, or a duration ends."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.capture.config import CaptureConfig
from agent.capture.health import ERROR_PAGE
from agent.capture.session import CaptureSession
from agent.clock import Clock, SystemClock
from agent.events import Event
from agent.sink import EventSink


@dataclass
class CaptureSummary:
    """What a capture run produced, for the CLI to print."""

    url: str
    reason: str  # "browser_closed" | "interrupted" | "duration"
    started_utc_ns: int
    ended_utc_ns: int
    events: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    relaunches: int = 0
    loaded: int = 0  # main-frame documents committed that were not an error page
    load_errors: list[str] = field(default_factory=list)  # "url: net error" per failed load


class _CountingSink:
    """Passes events through and counts them by kind."""

    def __init__(self, inner: EventSink, summary: CaptureSummary) -> None:
        self._inner = inner
        self._summary = summary

    async def append_many(self, events: Sequence[Event]) -> None:
        # Loads are counted as captured: a page that loaded while the disk was full did load
        # (its events are in the session's disk_full gap), so "nothing was loaded" would be
        # false. Events and kinds count what was written.
        self._count_loads(events)
        await self._inner.append_many(events)
        self._summary.events += len(events)
        self._summary.kinds.update(e.kind for e in events)

    def _count_loads(self, events: Sequence[Event]) -> None:
        for e in events:
            if e.kind == "page.load_failed":
                self._summary.load_errors.append(f"{e.payload.get('error')}")
            elif e.kind == "page.navigate" and e.payload.get("main_frame"):
                url = str(e.payload.get("url", ""))
                if not url.startswith(("about:", ERROR_PAGE)) and not e.payload.get(
                    "same_document"
                ):
                    self._summary.loaded += 1


async def run_capture(
    url: str,
    cfg: CaptureConfig,
    home: Path,
    sink: EventSink,
    *,
    headless: bool | None = None,
    duration: float | None = None,
    clock: Clock | None = None,
    mask: dict[str, Any] | None = None,
    on_session: Callable[[CaptureSession], None] | None = None,
) -> CaptureSummary:
    """Record ``url`` into ``sink``; return when the browser is closed, on SIGINT/SIGTERM, or
    after ``duration`` seconds. Everything captured is durable in ``sink`` on return."""
    clock = clock or SystemClock()
    summary = CaptureSummary(url, "browser_closed", clock.utc_ns(), 0)
    session = CaptureSession(
        cfg, _CountingSink(sink, summary), clock, home, headless=headless, mask=mask, relaunch=True
    )
    if on_session is not None:
        on_session(session)
    loop = asyncio.get_running_loop()
    interrupted = asyncio.Event()
    installed: list[signal.Signals] = []

    def on_signal() -> None:
        # From now on a browser exit is the shutdown (we close it), not a crash to relaunch
        # from. The browser runs in its own process group, so a terminal's Ctrl-C reaches
        # only the agent.
        session.request_stop()
        interrupted.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
    try:
        await session.start(url)
        waiters: dict[asyncio.Future[Any], str] = {
            asyncio.ensure_future(interrupted.wait()): "interrupted",
            asyncio.ensure_future(session.browser_closed.wait()): "browser_closed",
        }
        if duration is not None:
            waiters[asyncio.ensure_future(asyncio.sleep(duration))] = "duration"
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        summary.reason = next(waiters[d] for d in done)
        for p in pending:
            p.cancel()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await session.stop()
        summary.relaunches = session.relaunches
        summary.ended_utc_ns = clock.utc_ns()
    return summary
