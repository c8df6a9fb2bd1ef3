"""``KioskService``: one locked-down browser and one sealed session per customer.

Each customer gets a fresh Chromium on a fresh throwaway profile (the capture default: a
private temporary directory, deleted when that browser closes), so nothing of one customer
(cookies, storage, cache, IndexedDB, service workers, downloads, autofill) exists in the next
one's browser. The persistent workstation profile is never used.

For each customer (:meth:`KioskService.run` loops until told to stop):

1. the browser opens on the start screen (:mod:`agent.kiosk.lobby`); what capture records
   there is held in memory (:class:`HeldSink`);
2. the operator's trusted click on Start opens the customer's :class:`~agent.pipeline.Recording`
   (user: the operator id; linked to the previous customer's session), writes what was held,
   records ``kiosk.session_start`` and goes to the configured URL;
3. the session ends on the operator's Ctrl+Alt+End (``operator``), after ``idle_minutes``
   without input, once the countdown shown ``idle_warning_seconds`` before has run out
   (``idle``), on :meth:`end_session` (``supervisor``), when the browser goes away
   (``browser_closed``) or when the kiosk stops (``shutdown``): ``kiosk.session_end`` names
   the reason, the browser closes (its profile deleted), the session is sealed and verified.

Supervisors join, pause, resume and end through :attr:`KioskService.supervision`
(:mod:`agent.kiosk.supervision`); a paused session does not idle out.

A kiosk stopped on the start screen records nothing: no customer, no session.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from agent.capture.session import CaptureSession
from agent.clock import Clock, SystemClock
from agent.config import Config
from agent.events import Event
from agent.kiosk.controls import CustomerGate, customer_gate
from agent.kiosk.lobby import END_KEYS, LOBBY_URL
from agent.kiosk.policy import KioskPolicy, kiosk_args
from agent.kiosk.supervision import Supervision
from agent.sink import EventSink

if TYPE_CHECKING:
    from agent.pipeline import Recording, RecordingResult

log = structlog.get_logger("sessiontape.kiosk")

END_REASONS = ("operator", "idle", "supervisor", "browser_closed", "shutdown")


class HeldSink:
    """Holds events until :meth:`open` gives it the session's sink, then writes through.

    At most ``limit`` events are held (the start screen's first snapshot and what follows);
    later ones are counted in ``dropped`` and logged, so a start screen left open all day
    cannot fill the memory."""

    def __init__(self, limit: int = 20_000) -> None:
        self.limit = limit
        self.dropped = 0
        self.held: list[Event] = []
        self.target: EventSink | None = None
        self._lock = asyncio.Lock()  # a write never overtakes the held ones

    async def append_many(self, events: Sequence[Event]) -> None:
        async with self._lock:
            if self.target is None:
                room = max(0, self.limit - len(self.held))
                self.held.extend(events[:room])
                self.dropped += len(events) - len(events[:room])
                return
            await self.target.append_many(events)

    async def open(self, target: EventSink) -> None:
        """Write what was held to ``target``; from now on write straight to it."""
        async with self._lock:
            if self.dropped:
                log.warning("kiosk.start_screen_events_dropped", events=self.dropped)
            held, self.held = self.held, []
            if held:
                await target.append_many(held)
            self.target = target


@dataclass(frozen=True)
class KioskOptions:
    """How ``sessiontape kiosk`` was asked to run."""

    headless: bool = False
    operator: str | None = None
    idle_seconds: float = 300.0
    warning_seconds: float = 30.0
    customers: int = 0  # stop after this many customer sessions (0 = until stopped)
    require_supervisor: bool = False  # Start waits for a supervisor; none left: paused


@dataclass
class CustomerResult:
    """One customer's sealed session."""

    session_id: str
    reason: str
    result: RecordingResult
    tmp_dir: Path  # the customer's browser's private directory (deleted)


@dataclass
class KioskResult:
    """What a finished kiosk run did."""

    reason: str
    customers: list[CustomerResult] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return all(c.result.report.ok for c in self.customers)


class KioskService:
    """See the module docstring; ``state`` is ``starting`` (a customer's browser is being
    launched), ``lobby`` (its start screen shows), ``session`` or ``stopped``."""

    def __init__(
        self,
        home: Path,
        config: Config,
        policy: KioskPolicy,
        options: KioskOptions | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.home = home
        self.config = config
        self.policy = policy
        self.options = options or KioskOptions()
        self.clock = clock or SystemClock()
        self.state = "starting"
        self.capture: CaptureSession | None = None
        self.recording: Recording | None = None
        self.gate: CustomerGate | None = None
        self._stop = asyncio.Event()
        self._end = asyncio.Event()  # the supervisor's end
        self._out = KioskResult("stopped")
        self.hooks: list[Callable[[str, str], None]] = []  # (state, session id or "")
        self.supervision = Supervision(self, require_supervisor=self.options.require_supervisor)

    def request_stop(self) -> None:
        """Stop the kiosk: a customer session in progress ends (``shutdown``) and is sealed."""
        self._stop.set()

    def end_session(self) -> None:
        """End the current customer session (``supervisor``); the kiosk goes on."""
        self._end.set()

    @property
    def ending(self) -> bool:
        """Whether the current customer session was told to end (by a supervisor or a stop)."""
        return self._end.is_set() or self._stop.is_set()

    async def run(self) -> KioskResult:
        """Customer after customer until stopped; return the sealed sessions."""
        restore = _install_signals(self.request_stop)
        try:
            while not self._stop.is_set():
                if not await self._customer():
                    break
                n = self.options.customers
                if n and len(self._out.customers) >= n:
                    self._out.reason = "customers"
                    break
        finally:
            restore()
            self._set_state("stopped")
        return self._out

    def _set_state(self, state: str, session_id: str = "") -> None:
        self.state = state
        for hook in self.hooks:
            try:
                hook(state, session_id)
            except Exception:
                log.exception("kiosk.hook_failed")

    async def _customer(self) -> bool:
        """One browser: the start screen, then one customer's session; False: stopped first."""
        held = HeldSink()
        gates: list[CustomerGate] = []
        cap = self._capture(held, gates)
        self._set_state("starting")
        await cap.start(LOBBY_URL)
        gate = gates[-1]
        self.capture, self.gate = cap, gate
        self._set_state("lobby")
        try:
            first = await _first(
                started=gate.started.wait(),
                stop=self._stop.wait(),
                closed=cap.browser_closed.wait(),
            )
            if first == "started":
                await self._session(cap, gate, held)
                return True
        finally:
            if self.capture is cap:  # stopped on the start screen, or the session failed to open
                await cap.stop()
                self.capture = None
        log.info("kiosk.stopped_in_lobby", events_dropped=len(held.held) + held.dropped)
        return first == "closed"

    def _capture(self, held: HeldSink, gates: list[CustomerGate]) -> CaptureSession:
        cfg = self.config.capture
        args = kiosk_args(self.policy, headless=self.options.headless)
        cfg = cfg.model_copy(update={"extra_args": [*cfg.extra_args, *args]})
        from agent.mask.masker import Masker

        mask = Masker.from_config(self.config.mask, self.home).page_config()
        return CaptureSession(
            cfg,
            held,
            self.clock,
            self.home,
            headless=self.options.headless,
            mask=mask,
            relaunch=False,  # a crashed customer browser ends that customer's session
            gate=customer_gate(self.policy, gates, self.supervision.start_refusal),
        )

    async def _session(self, cap: CaptureSession, gate: CustomerGate, held: HeldSink) -> None:
        from agent.journal.session import default_meta
        from agent.pipeline import Recording

        meta = default_meta(self.config, self.options.operator)
        rec = await asyncio.to_thread(
            Recording, self.home, self.config, clock=self.clock, meta=meta, link_previous=True
        )
        self.recording = rec
        reason = "failed"
        try:
            await held.open(rec.sink)
            rec.attach_capture(cap)
            self._end.clear()
            cap.emitter.emit("kiosk.session_start", self._start_payload(meta.user))
            self._set_state("session", rec.session_id)
            await self.supervision.session_started()
            await self._open_service(cap)
            reason = await self._until_end(cap, gate)
            cap.emitter.emit("kiosk.session_end", self._end_payload(reason, meta.user))
        finally:  # whatever happened, the browser goes and the session is sealed, saying why
            self.supervision.session_ended()
            await cap.stop()
            self.capture = None
            result = await rec.aclose(f"kiosk_{reason}")
            self.recording = None
        tmp = cap.browser.tmp_dir
        self._out.customers.append(CustomerResult(rec.session_id, reason, result, tmp))
        log.info("kiosk.session_sealed", session=rec.session_id, reason=reason)

    async def _open_service(self, cap: CaptureSession) -> None:
        try:
            await cap.page.goto(self.policy.start_url, wait_until="domcontentloaded", timeout=30)
        except Exception as exc:  # a service that fails to load is still recorded (net.failed)
            log.info("kiosk.goto_failed", error=str(exc).splitlines()[0][:200])

    def _start_payload(self, operator: str) -> dict[str, Any]:
        return {
            "reason": "operator",
            "operator": operator,
            "customer": len(self._out.customers) + 1,
            "url": self.policy.start_url,
            "allow": [p.text for p in self.policy.allowlist.patterns],
            "idle_ms": int(self.options.idle_seconds * 1000),
            "warning_ms": int(self.options.warning_seconds * 1000),
            "end_keys": END_KEYS,
        }

    def _end_payload(self, reason: str, operator: str) -> dict[str, Any]:
        """``reason`` and ``operator``; ``supervisor`` (who ended it) for a supervisor's end;
        ``supervisors`` (who was joined) when any was."""
        payload: dict[str, Any] = {"reason": reason, "operator": operator}
        if reason == "supervisor" and self.supervision.ended_by is not None:
            payload["supervisor"] = self.supervision.ended_by
        if self.supervision.joined:
            payload["supervisors"] = list(self.supervision.joined)
        return payload

    async def _until_end(self, cap: CaptureSession, gate: CustomerGate) -> str:
        gate.last_activity = time.monotonic()
        reason = await _first(
            operator=gate.ended.wait(),
            idle=self._idle(cap, gate),
            supervisor=self._end.wait(),
            browser_closed=cap.browser_closed.wait(),
            shutdown=self._stop.wait(),
        )
        return reason

    async def _idle(self, cap: CaptureSession, gate: CustomerGate) -> None:
        """Return once the customer was idle for ``idle_seconds``; the countdown shows for the
        last ``warning_seconds`` (a ``kiosk.idle_warning``), and input hides it. A pause stops
        the clock (and hides the countdown); it starts again from the resume."""
        idle = self.options.idle_seconds
        warn = min(self.options.warning_seconds, idle)
        sup = self.supervision
        warned = False
        while True:
            if sup.paused:
                if warned:
                    warned = False
                    cap.emitter.emit("kiosk.idle_cleared", {"paused": True})
                await sup.unpaused.wait()
                gate.last_activity = time.monotonic()
                continue
            left = gate.last_activity + idle - time.monotonic()
            if left <= 0:
                return
            if left <= warn and not warned:
                warned = True
                shown = await gate.show_idle_warning(int(left + 0.999))
                cap.emitter.emit(
                    "kiosk.idle_warning", {"left_ms": int(left * 1000), "shown": shown}
                )
            gate.activity.clear()
            await _wait_event(gate.activity, left if warned else left - warn)
            if gate.activity.is_set() and warned and not sup.paused:
                warned = False
                await gate.hide_idle_warning()
                cap.emitter.emit("kiosk.idle_cleared", {})


async def _wait_event(event: asyncio.Event, timeout: float) -> None:
    """Wait for ``event`` at most ``timeout`` seconds. (``asyncio.wait_for`` on Python 3.11
    swallows a cancellation that arrives as the event is set, and the idle loop would then
    outlive the session.)"""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()


async def _first(**waits: Any) -> str:
    """Run the awaitables; return the name of the first to finish (the others cancelled)."""
    tasks = {asyncio.ensure_future(w): name for name, w in waits.items()}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return tasks[next(iter(done))]
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _install_signals(stop: Callable[[], None]) -> Callable[[], None]:
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop)
            installed.append(sig)

    def restore() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return restore
