"""``CaptureSession``: launch an instrumented Chromium, record it to a sink, survive crashes.

The pipeline (and ``sessiontape demo``) constructs one with the ``[capture]`` config, the sink to
write to (mask -> journal), a clock and the state directory; ``start(url)`` returns once the
first tab exists and is instrumented; ``.page`` is that tab for scripts to drive, through the
agent's own driver (:mod:`agent.capture.driver`) on the same CDP pipe: the recorded browser
has no debugging port and no other client.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog

from agent.capture.browser import LaunchedBrowser, launch_browser
from agent.capture.cdp import CDPConnection
from agent.capture.config import CaptureConfig, resolve_headless
from agent.capture.driver import BrowserDriver
from agent.capture.driver_page import PageDriver
from agent.capture.emitter import Emitter
from agent.capture.engine import CaptureEngine
from agent.capture.gate import GateFactory
from agent.capture.profile import ProfileDirs
from agent.clock import Clock
from agent.errors import CaptureError
from agent.sink import EventSink

log = structlog.get_logger(__name__)

_TASKS_GRACE_S = 1.0  # at stop, how long the engine's background tasks may take to finish
_FINAL_FLUSH_S = 3.0  # at stop, how long the recorders' last batches may take to arrive


def _load_bundle() -> tuple[str, str]:
    from agent.capture.bundle import load_bundle

    source, meta = load_bundle()
    return source, str(meta.get("version", ""))


class CaptureSession:
    """One recorded browser: our CDP pipe for capturing and for driving."""

    def __init__(
        self,
        config: CaptureConfig,
        sink: EventSink,
        clock: Clock,
        home: Path,
        *,
        headless: bool | None = None,
        mask: dict[str, Any] | None = None,
        relaunch: bool = True,
        profile: ProfileDirs | None = None,
        gate: GateFactory | None = None,
    ) -> None:
        self.cfg = config
        self.profile = profile
        self.sink = sink
        self.clock = clock
        self.home = Path(home)
        self.mask = mask
        self.relaunch = relaunch
        self.gate = gate  # a policy on what the browser may load, on every (re)launch
        self.headless = resolve_headless(self.cfg.headless, headless)
        self.emitter = Emitter(sink, clock, flush_ms=self.cfg.emit_ms)
        self._bundle, self._bundle_version = _load_bundle()
        self._url: str | None = None
        self._more_tabs: tuple[str, ...] = ()
        self._browser: LaunchedBrowser | None = None
        self._driver: BrowserDriver | None = None
        self._page: PageDriver | None = None
        self.engine: CaptureEngine | None = None
        self._conn: CDPConnection | None = None
        self._watch: asyncio.Task[None] | None = None
        self._closed_watch: asyncio.Task[None] | None = None
        self._stopping = False
        self.browser_closed = asyncio.Event()
        self.relaunches = 0
        self.launch_error: str | None = None  # why a relaunch after a crash failed

    @property
    def page(self) -> PageDriver:
        """The driver of the first tab (replaced after a browser relaunch)."""
        if self._page is None:
            raise CaptureError("capture session not started")
        return self._page

    @property
    def driver(self) -> BrowserDriver:
        """The driver of the whole browser (popups, tabs, downloads, dialogs)."""
        if self._driver is None:
            raise CaptureError("capture session not started")
        return self._driver

    @property
    def browser(self) -> LaunchedBrowser:
        """The launched browser (its process, our CDP pipe, its private directories)."""
        if self._browser is None:
            raise CaptureError("capture session not started")
        return self._browser

    async def start(self, url: str | None = None, *, more_tabs: Sequence[str] = ()) -> None:
        """Launch, instrument, open the first tab (and go to ``url`` if given), then one more
        tab per URL of ``more_tabs``; a relaunch after a crash opens the same pages.

        Before the browser is launched, the process's start-up objects are frozen out of the
        cyclic collector (:func:`freeze_startup_objects`); the session's own objects (CDP
        connection, targets, tasks) stay in its care.
        """
        self._url = url
        self._more_tabs = tuple(more_tabs)
        self.emitter.start()
        freeze_startup_objects()
        await self._launch()
        await self._open_start_pages()

    async def _open_start_pages(self) -> None:
        if self._url:
            await self._goto(self.page, self._url)
        for url in self._more_tabs:
            await self._goto(await self.driver.new_page(), url)

    async def _launch(self) -> None:
        self._browser = await launch_browser(self.cfg, headless=self.headless, profile=self.profile)
        try:
            self._conn = self._browser.conn
            self.engine = CaptureEngine(
                self._conn,
                self.cfg,
                self.emitter,
                self.clock,
                home=self.home,
                bundle=self._bundle,
                bundle_version=self._bundle_version,
                downloads_dir=self._browser.downloads_dir,
                mask=self.mask,
                emulate_viewport=self.headless,
                gate=self.gate,
            )
            await self.engine.start()
            self._driver = BrowserDriver(
                self._conn,
                self.engine.registry,
                headless=self.headless,
                downloads_dir=self._browser.downloads_dir,
            )
            self._page = await self._driver.new_page()
        except BaseException:
            await self._browser.close()
            raise
        self._watch = asyncio.create_task(self._watch_browser(self._conn))
        if self._closed_watch is not None:
            self._closed_watch.cancel()
        self._closed_watch = asyncio.create_task(self._watch_pages(self.engine))

    async def _watch_pages(self, engine: CaptureEngine) -> None:
        # Chromium started without a startup window outlives its last tab: that is the user
        # closing the browser too.
        await engine.all_pages_closed.wait()
        if engine is self.engine:
            self.browser_closed.set()

    async def _goto(self, page: PageDriver, url: str) -> None:
        # The agent opens its start pages itself: recorded as an automatic top-level
        # navigation, never as one the user typed.
        try:
            await page.goto(
                url, wait_until="domcontentloaded", timeout=30, transition="auto_toplevel"
            )
        except Exception as exc:  # a page that fails to load is still recorded (net.failed)
            log.info("capture.goto_failed", error=str(exc).splitlines()[0][:200])

    async def _watch_browser(self, conn: CDPConnection) -> None:
        """When our CDP link drops: a user closing the browser, or a crash to recover from."""
        await conn.closed.wait()
        if self._stopping:
            return
        start = self.clock.utc_ns()
        engine = self.engine
        if engine is not None and engine.pages_seen and not engine.registry.any_page():
            # Every tab was closed first: the user closed the browser; not a crash.
            await engine.stop()
            self.browser_closed.set()
            return
        if engine is not None:
            start = await self._stop_crashed(engine, start)
        log.warning("capture.browser_died")
        exit_text = "unknown"
        if self._browser is not None:
            await self._browser.close()
            exit_text = exit_description(self._browser.returncode)
        await self._relaunch(start, exit_text)

    async def _stop_crashed(self, engine: CaptureEngine, start: int) -> int:
        """Record a crash for every open page, stop ``engine``; when capture last heard from it."""
        last = [r.last_utc_ns for t in engine.targets.values() for r in t.recorders.values()]
        start = max(last, default=start)
        for t in engine.targets.values():
            if t.is_page:
                self.emitter.emit(
                    "page.crash",
                    {"url": t.url, "status": "browser_exited", "error_code": 0},
                    page=t.page_id,
                )
        await engine.stop()
        return start

    async def _relaunch(self, start: int, exit_text: str) -> None:
        """Relaunch the browser if allowed; the outage since ``start`` is a ``capture.gap``
        naming how the browser ended (``exit_text``)."""
        if not (self.relaunch and self._url):
            self._exit_gap(start, exit_text, relaunched=False)
            self.browser_closed.set()
            return
        try:
            await self._launch()
            await self._open_start_pages()
        except CaptureError as exc:
            self.launch_error = exc.message[:200]
            self._exit_gap(start, exit_text, relaunched=False, error=self.launch_error)
            self.browser_closed.set()
            return
        self.relaunches += 1
        self._exit_gap(start, exit_text, relaunched=True)

    def _exit_gap(
        self, start: int, exit_text: str, *, relaunched: bool, error: str | None = None
    ) -> None:
        payload: dict[str, Any] = {
            "start": start,
            "end": self.clock.utc_ns(),
            "cause": "browser_exited",
            "browser_exit": exit_text,
            "relaunched": relaunched,
        }
        if error is not None:
            payload["error"] = error
        self.emitter.emit("capture.gap", payload)

    def request_stop(self) -> None:
        """Mark the session as ending (e.g. on Ctrl-C): a browser exit from now on is the
        shutdown, not a crash to recover from. Call :meth:`stop` next."""
        self._stopping = True

    async def stop(self) -> None:
        """Stop recording: flush held events, close the browser, make everything durable."""
        self._stopping = True
        if self.engine is not None:
            try:
                await asyncio.wait_for(self._final_flush(), _FINAL_FLUSH_S)
            except Exception as exc:  # a hung or dying page: stop with what arrived
                log.warning("capture.final_flush_incomplete", error=type(exc).__name__)
            await self.engine.stop()
        for task in (self._watch, self._closed_watch):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._browser is not None:
            await self._browser.close()
        if self._conn is not None:
            await self._conn.close()
        if self.engine is not None:  # what is still running fails fast on the closed link
            await self.engine.tasks.aclose(grace=_TASKS_GRACE_S)
        self.browser_closed.set()
        await self.emitter.aclose()

    async def _final_flush(self) -> None:
        """Ask every live recorder to send what it holds; return once capture has handled the
        last batch each one says it sent (typed keys right before a stop reach the sink)."""
        engine = self.engine
        if engine is None or engine.conn.closed.is_set():
            return
        asks = [
            (t, ctx, engine.conn.send_nowait("Runtime.evaluate", _flush_params(ctx), t.session_id))
            for t in list(engine.targets.values())
            for ctx in list(t.recorders)
        ]
        answers = await asyncio.gather(*(fut for _t, _ctx, fut in asks), return_exceptions=True)
        sent = []
        for (t, ctx, _fut), answer in zip(asks, answers, strict=True):
            n = _last_batch(answer)
            if n is not None:
                sent.append((t, ctx, n))
        await engine.recorders.wait_handled(sent)

    async def request_snapshots(self) -> int:
        """Ask every live recorder for a full snapshot of its document now (the first
        keyframe of a new session after a rotation); return how many were asked and answered.
        The snapshots reach the sink like any other recorder events."""
        engine = self.engine
        if engine is None or engine.conn.closed.is_set():
            return 0
        asks = [
            engine.conn.send_nowait("Runtime.evaluate", _snapshot_params(ctx), t.session_id)
            for t in list(engine.targets.values())
            for ctx in list(t.recorders)
        ]
        answers = await asyncio.gather(*asks, return_exceptions=True)
        return sum(1 for a in answers if not isinstance(a, BaseException))


def freeze_startup_objects() -> bool:
    """Move every object the process has made so far out of the cyclic collector's
    generations (``gc.freeze``), once per process; whether this call did it.

    Modules, configuration, compiled rules and the journal live as long as the process. A
    busy page's payloads live until their chunk is committed, long enough to reach the oldest
    generation, and so trigger full collections, each of which walked all of those start-up
    objects too (about a tenth of the agent's CPU at 1000 grid cells per update). Garbage is
    collected first, so none is frozen; frozen objects are still freed by reference counting.
    Only the first call freezes: a later session's objects (a kiosk starts one per user)
    stay in the collector's care.
    """
    if gc.get_freeze_count():
        return False
    gc.collect()
    gc.freeze()
    return True


def _snapshot_params(ctx: int) -> dict[str, Any]:
    """``Runtime.evaluate`` of the recorder's ``__st_snapshot`` in its context ``ctx``."""
    return {
        "expression": "typeof globalThis.__st_snapshot === 'function' && "
        "(globalThis.__st_snapshot(), true)",
        "contextId": ctx,
        "returnByValue": True,
    }


def exit_description(returncode: int | None) -> str:
    """How a browser process ended, for the record: ``killed by SIGKILL``, ``exit code 1``."""
    if returncode is None:
        return "unknown"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def _flush_params(ctx: int) -> dict[str, Any]:
    """``Runtime.evaluate`` of the recorder's ``__st_flush`` in its context ``ctx``."""
    return {
        "expression": "typeof globalThis.__st_flush === 'function' && globalThis.__st_flush()",
        "contextId": ctx,
        "returnByValue": True,
    }


def _last_batch(answer: dict[str, Any] | BaseException) -> int | None:
    """The batch counter a ``__st_flush`` answered (None: no recorder, or no answer)."""
    if isinstance(answer, BaseException):
        return None
    value = answer.get("result", {}).get("value")
    return value if isinstance(value, int) and not isinstance(value, bool) else None
