"""The one place that knows the order: capture -> mask -> journal -> seal (-> ship -> index).

:class:`Recording` opens the journal for a new session, puts the masking stage in front of
it, and hands capture a sink; ``rotate()`` seals the session and continues in a new one linked
to it while capture keeps writing; closing it seals the last segment (with an RFC 3161 token
when a TSA is configured) and verifies what was written. ``record_session`` and
``record_demo`` are what ``sessiontape record`` and ``sessiontape demo`` call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import structlog

from agent.clock import Clock, SystemClock
from agent.config import Config
from agent.errors import JournalClosed, JournalError
from agent.events import Event
from agent.journal.journal import Journal
from agent.journal.recovery import recover_all
from agent.journal.rotation import SessionSwitch, find_previous
from agent.journal.session import SessionMeta, default_meta
from agent.journal.sink import JournalSink
from agent.keys import Keyring
from agent.seal.verify import VerifyReport, verify_paths
from agent.sink import EventSink

log = structlog.get_logger("sessiontape.pipeline")


Blocker = Callable[[bool, str], Awaitable[None]]


class StrictSink:
    """``journal.durability = "strict"``: never let capture run ahead of durability.

    When the journal cannot make events durable, the recorded browser is blocked (``blocker``:
    input ignored, an interstitial) and the same events are retried with backoff until they
    are written; then the browser is unblocked. Nothing is dropped while the browser is
    open. Once ``stopping()`` says capture has ended (the browser is gone, nothing is left to
    block) a failing write is tried ``stop_attempts`` more times and then raised, so closing
    on a disk that stays full ends; the journal records those events as lost. (In
    ``best_effort`` the failure is raised at once and capture goes on; the lost events become
    a ``capture.gap``.)
    """

    def __init__(
        self,
        inner: EventSink,
        *,
        retry_s: float = 0.25,
        max_retry_s: float = 5.0,
        stop_attempts: int = 3,
    ) -> None:
        self.inner = inner
        self.blocker: Blocker | None = None
        self.stopping: Callable[[], bool] = lambda: False
        self.blocks = 0
        self._retry_s = retry_s
        self._max_retry_s = max_retry_s
        self._stop_attempts = stop_attempts

    async def append_many(self, events: Sequence[Event]) -> None:
        delay = self._retry_s
        blocked = False
        after_stop = 0
        while True:
            try:
                await self.inner.append_many(events)
            except JournalError as exc:
                if isinstance(exc, JournalClosed):
                    raise
                if self.stopping():
                    after_stop += 1
                    if after_stop > self._stop_attempts:
                        raise
                if not blocked:
                    blocked = True
                    self.blocks += 1
                    log.error("pipeline.durability_block", error=exc.message[:200])
                    if self.blocker is not None:
                        await self.blocker(True, "journal unavailable")
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_retry_s)
                continue
            if blocked:
                log.warning("pipeline.durability_unblock")
                if self.blocker is not None:
                    await self.blocker(False, "")
            return


def make_timestamper(config: Config) -> Callable[[bytes], bytes | None] | None:
    """A seal timestamper for the configured TSA, or None when no TSA is configured."""
    url = config.seal.tsa_url
    if not url:
        return None
    from agent.seal.timestamp import request_timestamp

    timeout = float(config.seal.tsa_timeout_seconds)

    def stamp(digest: bytes) -> bytes | None:
        return request_timestamp(digest, url, timeout=timeout)

    return stamp


@dataclass
class RecordingResult:
    """What a finished recording produced."""

    session_id: str
    segments: list[Path]
    events: int
    bytes: int
    kinds: dict[str, int]
    report: VerifyReport
    extra: dict[str, Any] = field(default_factory=dict)


class Recording:
    """capture -> mask -> journal for one session; ``sink`` is what capture writes to."""

    def __init__(
        self,
        home: Path,
        config: Config,
        *,
        user: str | None = None,
        clock: Clock | None = None,
        meta: SessionMeta | None = None,
        tst_roots: list[bytes] | None = None,
        timestamper: Callable[[bytes], bytes | None] | None = None,
        link_previous: bool = False,
    ) -> None:
        """``link_previous``: the new session's genesis links to the most recent earlier
        session of the same user and workstation in ``home`` (after recovery sealed any that
        crashed: link reason ``recovered``, else ``restart``)."""
        from agent.mask.masker import Masker
        from agent.mask.sink import MaskingSink

        self.home = home
        self.config = config
        self.clock = clock or SystemClock()
        self.keyring = Keyring.load_or_init(home, config.seal.keys)
        recovered = recover_all(home, self.keyring, self.clock)
        if recovered:
            log.warning("pipeline.recovered_segments", count=len(recovered))
        self.masker = Masker.from_config(config.mask, home)
        self.meta = meta or default_meta(config, user)
        if link_previous:
            self.meta = replace(self.meta, previous=find_previous(home, self.meta))
        self.timestamper = timestamper or make_timestamper(config)
        self.journal = Journal.open(
            home,
            config,
            clock=self.clock,
            keyring=self.keyring,
            timestamper=self.timestamper,
            meta=self.meta,
        )
        self.journal_sink = JournalSink(self.journal)
        self.switch = SessionSwitch(self.journal_sink)  # what a rotation swaps
        self.on_rotate: Callable[[], Awaitable[None]] | None = None  # e.g. fresh snapshots
        self.rotated: list[RecordingResult] = []  # sessions this recording rotated out of
        self._rotate_lock = asyncio.Lock()
        inner: EventSink = self.switch
        self.strict: StrictSink | None = None
        if config.journal.durability == "strict":
            self.strict = StrictSink(inner)
            inner = self.strict
        self.sink: EventSink = MaskingSink(inner, self.masker)
        self._tst_roots = tst_roots
        from agent.ship.stream import start_stream

        started = start_stream(home, config.ship, self.clock)
        self.stream = started if not isinstance(started, str) else None
        self.stream_problem = started if isinstance(started, str) else None

    @property
    def session_id(self) -> str:
        return self.journal.session_id

    def attach_capture(self, capture: Any) -> None:
        """Let strict durability block and unblock the recorded browser (and know when it is
        gone: then there is nothing left to block, and retrying for ever would hang)."""
        if self.strict is not None:
            closed = getattr(capture, "browser_closed", None)
            if isinstance(closed, asyncio.Event):
                self.strict.stopping = closed.is_set

            async def block(on: bool, reason: str) -> None:
                engine = getattr(capture, "engine", None)
                if engine is not None:
                    await engine.set_blocked(on, reason)

            self.strict.blocker = block
        snapshots = getattr(capture, "request_snapshots", None)
        if callable(snapshots):
            self.on_rotate = snapshots

    async def rotate(self, reason: str = "rotation") -> str:
        """Seal the current session (``session.end`` with ``reason``, naming the next session)
        and continue in a new session linked to it; return the new session's id.

        Capture keeps writing to ``sink`` throughout: writes that arrive during the switch
        wait and go to the new session; none is lost, repeated or written after the old
        session's end. ``on_rotate`` (set by ``attach_capture`` to the capture's
        ``request_snapshots``) then gives the new session a full snapshot of every tab. The
        sealed session's result (verified; vault coverage) is appended to ``rotated``.
        """
        from agent.pipeline_rotation import rotate_recording

        async with self._rotate_lock:
            return await rotate_recording(self, reason)

    def page_mask_config(self) -> dict[str, Any]:
        """The masking rules the in-page recorder applies itself (first line of defence)."""
        return self.masker.page_config()

    def close(self, reason: str = "closed") -> RecordingResult:
        """Flush, seal, verify; return the result (with how far the vault covers it)."""
        self.journal_sink.close(reason)
        result = self.result()
        if self.stream is not None:
            result.extra["vault"] = self.stream.stop(self.session_id)
        elif self.stream_problem is not None:
            result.extra["vault"] = {"problem": self.stream_problem}
        return result

    async def aclose(self, reason: str = "closed") -> RecordingResult:
        """:meth:`close` from the event loop, once any rotation in progress has finished (a
        rotation and a close never interleave)."""
        async with self._rotate_lock:
            return await asyncio.to_thread(self.close, reason)

    def result(self, session_id: str | None = None) -> RecordingResult:
        """Verify the session as written (the current one, or ``session_id``); summarise it."""
        from agent.journal.store import find_session

        info = find_session(self.home, session_id or self.session_id)
        from agent.seal.timestamp import tst_verifier
        from agent.seal.tsa_roots import tsa_root_paths

        roots = self._tst_roots or [
            p.read_bytes() for p in tsa_root_paths(self.home, self.config.seal.tsa_roots)
        ]
        report = verify_paths(
            [info.segments[0].path.parent],
            self.keyring.trust(),
            keyring=self.keyring,
            decrypt=True,
            tst_verifier=tst_verifier(roots),
        )
        kinds: dict[str, int] = {}
        for s in info.segments:
            for k, n in s.kinds.items():
                kinds[k] = kinds.get(k, 0) + n
        return RecordingResult(
            info.session_id,
            [s.path for s in info.segments],
            info.event_count,
            info.size_bytes,
            kinds,
            report,
        )


async def record_session(
    url: str,
    config: Config,
    home: Path,
    *,
    headless: bool | None = None,
    user: str | None = None,
    duration: float | None = None,
    clock: Clock | None = None,
    record_class: str | None = None,
) -> RecordingResult:
    """Record ``url`` until the browser closes, Ctrl-C or ``duration``; seal and verify.

    ``record_class`` is an explicit retention class (it overrides ``ship.class_rules``).
    """
    from agent.capture.run import run_capture

    meta = default_meta(config, user)
    meta.record_class = record_class
    rec = Recording(home, config, clock=clock, meta=meta)
    try:
        summary = await run_capture(
            url,
            config.capture,
            home,
            rec.sink,
            headless=headless,
            duration=duration,
            clock=rec.clock,
            mask=rec.page_mask_config(),
            on_session=rec.attach_capture,
        )
    finally:
        result = await asyncio.to_thread(rec.close)
    result.extra["capture"] = {
        "reason": summary.reason,
        "relaunches": summary.relaunches,
        "loaded": summary.loaded,
        "load_errors": summary.load_errors,
    }
    return result


Script = Callable[[Any, Any], Awaitable[Any]]


async def record_demo(
    config: Config,
    home: Path,
    *,
    headless: bool | None = None,
    fast: bool = False,
    clock: Clock | None = None,
    tsa: Any = None,
    record_class: str | None = None,
) -> RecordingResult:
    """Start the demo trading app, drive the scripted trader session, seal and verify
    (``record_class``: an explicit retention class)."""
    from agent.capture.session import CaptureSession
    from agent.demo_app.script import run_trader_script
    from agent.demo_app.server import running_demo_app

    timestamper = None
    roots = None
    if tsa is not None:
        from agent.seal.timestamp import request_timestamp

        url = tsa.url

        def timestamper(digest: bytes) -> bytes | None:
            return request_timestamp(digest, url)

        roots = [tsa.root_pem]
    rec = Recording(
        home,
        config,
        clock=clock,
        timestamper=timestamper,
        tst_roots=roots,
        meta=SessionMeta("demo-trader", default_meta(config).workstation, record_class),
    )
    steps: list[Any] = []
    app_info: dict[str, Any] = {}
    try:
        async with running_demo_app() as app:
            cap = CaptureSession(
                config.capture,
                rec.sink,
                rec.clock,
                home,
                headless=headless,
                mask=rec.page_mask_config(),
                relaunch=False,
            )
            rec.attach_capture(cap)
            await cap.start(app.url)
            try:
                steps = list(await run_trader_script(cap.page, app, fast=fast))
            finally:
                await cap.stop()
            app_info = {"url": app.url, "orders": len(app.orders)}
    finally:
        result = await asyncio.to_thread(rec.close)
    result.extra["steps"] = steps
    result.extra["app"] = app_info
    return result
