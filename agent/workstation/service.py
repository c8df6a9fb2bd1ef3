"""``WorkstationService``: one recording session, one visible browser, the jobs beside them.

:meth:`WorkstationService.run` opens a :class:`~agent.pipeline.Recording` (which first
recovers and seals what a killed agent left), starts the scheduler thread (ship jobs and the
local index update), then records browser after browser until it is told to stop:

- a browser crash is handled inside :class:`~agent.capture.session.CaptureSession`
  (relaunch at the start pages; a ``capture.gap`` naming how the browser ended);
- the user closing the last window ends the browser; ``agent.on_close`` decides: ``relaunch``
  (a new browser at the start pages, an ``agent.browser_relaunch`` event) or ``end``;
- SIGTERM/SIGINT (or ``run_seconds``) stops it: the browser is closed, the session sealed
  and verified, the jobs stopped.

Extending it: :meth:`add_periodic` runs a coroutine every N seconds in the agent's event
loop for as long as the service runs; :meth:`on_session_change` registers a hook called with
the session id whenever the recording session changes (at start, and from whatever changes
it later through :meth:`session_changed`). ``service.recording`` and ``service.capture`` are
the live session and browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from agent.capture.session import CaptureSession
from agent.clock import Clock, SystemClock
from agent.config import Config
from agent.errors import CaptureError
from agent.health.board import StatusBoard
from agent.pipeline import Recording
from agent.workstation.instance import single_instance
from agent.workstation.profile import profile_dirs

if TYPE_CHECKING:
    from agent.pipeline import RecordingResult
    from agent.ship.shipper import Shipper
    from agent.workstation.jobs import SchedulerThread

log = structlog.get_logger("sessiontape.workstation")

Periodic = Callable[[], Awaitable[None]]
SessionHook = Callable[[str], None]


@dataclass(frozen=True)
class ServiceOptions:
    """How ``sessiontape agent`` was asked to run."""

    headless: bool = False
    run_seconds: float = 0.0  # 0 = until SIGTERM/SIGINT
    user: str | None = None


@dataclass
class ServiceResult:
    """What a finished service run did."""

    reason: str  # "stopped" | "duration" | "browser_closed" | "failed"
    sessions: list[str] = field(default_factory=list)
    reopened: int = 0  # browsers relaunched after the user closed the last window
    crash_relaunches: int = 0  # browsers relaunched after a crash
    result: RecordingResult | None = None  # the last session's
    rotated: list[RecordingResult] = field(default_factory=list)  # sessions sealed at rotations


class WorkstationService:
    """Records the user's browser all day; see the module docstring."""

    def __init__(
        self,
        home: Path,
        config: Config,
        options: ServiceOptions | None = None,
        *,
        shipper: Shipper | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.home = home
        self.config = config
        self.options = options or ServiceOptions()
        self.shipper = shipper
        self.clock = clock or SystemClock()
        self.profile = profile_dirs(home, config.agent)
        self.board = StatusBoard(home, clock=self.clock)
        self.recording: Recording | None = None
        self.capture: CaptureSession | None = None
        self._periodic: list[tuple[str, float, Periodic]] = []
        self._session_hooks: list[SessionHook] = []
        self._stop: asyncio.Event | None = None
        self._stop_reason = "stopped"
        self._out = ServiceResult("stopped")

    # -- extension points ---------------------------------------------------------------
    def add_periodic(self, name: str, interval_s: float, fn: Periodic) -> None:
        """Run ``await fn()`` every ``interval_s`` seconds while the service runs (an
        exception is logged and the next run goes on). Call before :meth:`run`."""
        self._periodic.append((name, interval_s, fn))

    def on_session_change(self, hook: SessionHook) -> None:
        """Call ``hook(session_id)`` whenever the recording session changes."""
        self._session_hooks.append(hook)

    def session_changed(self, session_id: str) -> None:
        """Tell the hooks that ``session_id`` is now the recording session."""
        self._out.sessions.append(session_id)
        for hook in self._session_hooks:
            try:
                hook(session_id)
            except Exception:
                log.exception("workstation.session_hook_failed")

    def request_stop(self, reason: str = "stopped") -> None:
        """Stop the service (from the event loop): close the browser, seal, stop the jobs."""
        self._stop_reason = reason
        if self.capture is not None:
            self.capture.request_stop()
        if self._stop is not None:
            self._stop.set()

    # -- run ------------------------------------------------------------------------------
    async def run(self) -> ServiceResult:
        """Record until stopped; return what was done (the session sealed and verified)."""
        from agent.health.server import start_health

        with single_instance(self.home):
            health = start_health(self.board, self.home, self.config)
            self.on_session_change(self.board.recording_started)
            self.add_periodic("tabs", 2.0, self._count_tabs)
            try:
                return await self._run()
            except BaseException as exc:
                self.board.error(f"the agent stopped: {exc}"[:300])
                raise
            finally:
                self.board.recording_stopped()
                health.stop()

    async def _count_tabs(self) -> None:
        cap = self.capture
        engine = cap.engine if cap is not None else None
        targets = engine.targets.values() if engine is not None else ()
        self.board.tabs(sum(1 for t in targets if t.is_page))

    async def _run(self) -> ServiceResult:
        from agent.journal.session import default_meta

        self._stop = asyncio.Event()
        rec = Recording(
            self.home,
            self.config,
            clock=self.clock,
            meta=default_meta(self.config, self.options.user),
            link_previous=True,
        )
        self.recording = rec
        self.session_changed(rec.session_id)
        jobs = self._start_jobs()
        tasks = [
            asyncio.create_task(self._every(name, seconds, fn), name=f"workstation-{name}")
            for name, seconds, fn in self._periodic
        ]
        tasks.append(asyncio.create_task(self._daily(rec), name="workstation-rotation"))
        restore = self._install_signals()
        try:
            self._out.reason = await self._record(rec)
        except BaseException:
            self._out.reason = "failed"  # the session still ends sealed, saying so
            raise
        finally:
            restore()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.capture is not None:
                await self._end_capture(self.capture)
            self._out.result = await rec.aclose(self._out.reason)
            self._out.rotated = list(rec.rotated)
            if jobs is not None:
                await asyncio.to_thread(jobs.stop)
        return self._out

    def _start_jobs(self) -> SchedulerThread | None:
        if self.shipper is None:
            return None
        from agent.workstation.jobs import SchedulerThread, agent_jobs

        jobs = SchedulerThread(self.shipper, agent_jobs(self.home, self.config), self.board)
        jobs.start()
        return jobs

    def _install_signals(self) -> Callable[[], None]:
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.request_stop)
                installed.append(sig)
        if self.options.run_seconds > 0:
            timer = loop.call_later(self.options.run_seconds, self.request_stop, "duration")
        else:
            timer = None

        def restore() -> None:
            for sig in installed:
                loop.remove_signal_handler(sig)
            if timer is not None:
                timer.cancel()

        return restore

    async def _daily(self, rec: Recording) -> None:
        """Seal the day's session at ``agent.rotate_at`` and go on in a new, linked one; the
        browser stays open (capture writes through the rotation)."""
        from agent.workstation.daily import rotation_loop

        async def rotate() -> None:
            old = rec.session_id
            new = await rec.rotate("rotation")
            log.info("workstation.rotated", previous=old, session=new)
            self.session_changed(new)

        await rotation_loop(self.config.agent.rotate_at, rotate)

    async def _every(self, name: str, seconds: float, fn: Periodic) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await fn()
            except Exception:
                log.exception("workstation.task_failed", task=name)

    async def _record(self, rec: Recording) -> str:
        """Browser after browser until a stop, or the user closes it under ``on_close=end``."""
        reopening = False
        while True:
            cap = await self._launch(rec, reopening)
            assert self._stop is not None
            stop = asyncio.ensure_future(self._stop.wait())
            closed = asyncio.ensure_future(cap.browser_closed.wait())
            await asyncio.wait({stop, closed}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            closed.cancel()
            if self._stop.is_set():
                return self._stop_reason
            failed = cap.launch_error
            await self._end_capture(cap)
            if failed is not None:
                self.board.error(f"browser relaunch failed: {failed}")
                raise CaptureError(f"the browser crashed and could not be relaunched: {failed}")
            if self.config.agent.on_close == "end":
                return "browser_closed"
            reopening = True

    async def _launch(self, rec: Recording, reopening: bool) -> CaptureSession:
        """A new recorded browser at the start pages (``reopening``: after the user closed
        the last window; that is on the record)."""
        cap = CaptureSession(
            self.config.capture,
            rec.sink,
            rec.clock,
            self.home,
            headless=self.options.headless,
            mask=rec.page_mask_config(),
            relaunch=True,
            profile=self.profile,
        )
        rec.attach_capture(cap)
        self.capture = cap
        pages = list(self.config.agent.start_pages) or ["about:blank"]
        if reopening:
            self._out.reopened += 1
            cap.emitter.emit(
                "agent.browser_relaunch", {"reason": "closed_by_user", "start_pages": pages}
            )
        await cap.start(pages[0], more_tabs=pages[1:])
        return cap

    async def _end_capture(self, cap: CaptureSession) -> None:
        self._out.crash_relaunches += cap.relaunches
        await cap.stop()
        if self.capture is cap:
            self.capture = None


def describe(out: ServiceResult) -> dict[str, Any]:
    """A JSON-able summary of a service run."""
    res = out.result
    return {
        "reason": out.reason,
        "sessions": out.sessions,
        "reopened": out.reopened,
        "crash_relaunches": out.crash_relaunches,
        "verified": None
        if res is None
        else res.report.ok and all(r.report.ok for r in out.rotated),
        "events": None if res is None else res.events,
    }
