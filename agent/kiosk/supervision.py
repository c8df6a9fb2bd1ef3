"""Live supervision of the kiosk: supervisors join and leave, pause, resume and end.

:class:`Supervision` belongs to one :class:`~agent.kiosk.service.KioskService`
(``service.supervision``); its coroutines run on the kiosk's event loop. Every join, leave
and action is an event in the customer's own session (so the sealed record says who watched
and what they did), each with the supervisor's name and the UTC time (``at``):

- ``kiosk.supervisor_join`` (``supervisor``, ``via``, ``at``; ``before_start: true`` for a
  supervisor who joined on the start screen or in an earlier customer's session: every
  supervisor present when a session starts is recorded right after its
  ``kiosk.session_start``, so the session shows who was watching from its start);
- ``kiosk.supervisor_leave`` (``supervisor``, ``via``, ``at``);
- ``kiosk.paused`` (``supervisor``, ``reason``: ``supervisor`` or ``no_supervisor``,
  ``shown``: pages showing the "please wait for assistance" screen, ``at``) and
  ``kiosk.resumed`` (``supervisor``, ``reason``: ``supervisor`` or ``supervisor_joined``);
- ``kiosk.supervisor_end`` (``supervisor``, ``at``), then ``kiosk.session_end`` with reason
  ``supervisor`` and ``supervisor``.

Joins and leaves on the start screen are not a session: they are logged, and who is still
joined is recorded when the next session starts.

A pause blocks the customer's input (the browser ignores it; :mod:`agent.kiosk.controls`) and
stops the idle clock: a customer waiting for help is not idle. The clock starts again from
the resume. The operator's Ctrl+Alt+End is input too, so only a supervisor (or stopping the
kiosk) ends a paused session.

With ``require_supervisor``, Start opens no session until a supervisor has joined (refused
Starts: ``kiosk.start_refused``, held with the start screen's events, so they open the next
session's record, and a log line), and when the last supervisor leaves a session, the session
is paused (``no_supervisor``) until one joins again, which resumes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog

from agent.clock import utc_iso
from agent.errors import UsageError

if TYPE_CHECKING:
    from agent.kiosk.service import KioskService

log = structlog.get_logger("sessiontape.kiosk")

MAX_NAME = 128
NO_SUPERVISOR = "a supervisor must join before the session can start"


def check_name(value: str, what: str) -> str:
    """``value`` if it is a usable name (1 to ``MAX_NAME`` printable characters, not only
    spaces); else a ``UsageError``."""
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"kiosk supervision: {what} is empty")
    if len(value) > MAX_NAME:
        raise UsageError(f"kiosk supervision: {what} is over {MAX_NAME} characters")
    if not value.isprintable():
        raise UsageError(f"kiosk supervision: {what} {value!r} has unprintable characters")
    return value


class Supervision:
    """Who supervises the kiosk, and what they may do (see the module docstring)."""

    def __init__(self, service: KioskService, *, require_supervisor: bool = False) -> None:
        self.service = service
        self.require_supervisor = require_supervisor
        self.joined: dict[str, tuple[str, int]] = {}  # name -> (via, UTC ns joined)
        self.paused: str | None = None  # why the session is paused (None: it is not)
        self.unpaused = asyncio.Event()
        self.unpaused.set()
        self.ended_by: str | None = None  # the supervisor who ended the current session
        self.listeners: list[Callable[[dict[str, Any]], None]] = []  # called with state()
        self._in_session = False  # between session_started and session_ended
        self._lock = asyncio.Lock()
        service.hooks.append(lambda _state, _session: self._changed())

    # -- the API ------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """``state`` (``lobby``, ``active`` or ``paused``), ``session_id`` ("" in the
        lobby), ``supervisors`` (names joined, in join order), ``require_supervisor``."""
        rec = self.service.recording
        active = self._in_session and self.service.state == "session" and rec is not None
        return {
            "state": ("paused" if self.paused else "active") if active else "lobby",
            "session_id": rec.session_id if active and rec is not None else "",
            "supervisors": list(self.joined),
            "require_supervisor": self.require_supervisor,
        }

    async def join(self, who: str, via: str) -> None:
        """``who`` joins (``via``: how, e.g. ``viewer`` or ``watch``)."""
        check_name(who, "supervisor name")
        check_name(via, "join method")
        async with self._lock:
            if who in self.joined:
                raise UsageError(f"kiosk supervision: {who!r} has already joined")
            now = self.service.clock.utc_ns()
            self.joined[who] = (via, now)
            if self._active():
                self._emit("kiosk.supervisor_join", {"supervisor": who, "via": via})
                if self.paused == "no_supervisor":
                    await self._resume(who, "supervisor_joined")
            else:
                log.info("kiosk.supervisor_join", supervisor=who, via=via, at=utc_iso(now))
                gate = self.service.gate
                if gate is not None and self.require_supervisor:
                    await gate.note("")
        self._changed()

    async def leave(self, who: str) -> None:
        """``who`` leaves; the last one to leave a session that requires a supervisor
        pauses it."""
        check_name(who, "supervisor name")
        async with self._lock:
            self._joined(who)
            via, _ = self.joined.pop(who)
            if self._active():
                self._emit("kiosk.supervisor_leave", {"supervisor": who, "via": via})
                if self.require_supervisor and not self.joined and not self.paused:
                    await self._pause(who, "no_supervisor")
            else:
                at = utc_iso(self.service.clock.utc_ns())
                log.info("kiosk.supervisor_leave", supervisor=who, via=via, at=at)
        self._changed()

    async def pause(self, who: str) -> None:
        """Block the customer's input and show "please wait for assistance"."""
        check_name(who, "supervisor name")
        async with self._lock:
            self._joined(who)
            self._must_be("active", "pause")
            await self._pause(who, "supervisor")
        self._changed()

    async def resume(self, who: str) -> None:
        """Give the customer the session back."""
        check_name(who, "supervisor name")
        async with self._lock:
            self._joined(who)
            self._must_be("paused", "resume")
            await self._resume(who, "supervisor")
        self._changed()

    async def end(self, who: str) -> None:
        """End the customer's session (``kiosk.session_end`` reason ``supervisor``); return
        once the end is recorded and under way (the session is then sealed; the kiosk goes on
        to the next customer's start screen)."""
        check_name(who, "supervisor name")
        async with self._lock:
            self._joined(who)
            if self.state()["state"] == "lobby":
                raise UsageError("kiosk supervision: no customer session to end (start screen)")
            if self.ended_by is not None or self.service.ending:
                raise UsageError("kiosk supervision: the customer session is already ending")
            self.ended_by = who
            self._emit("kiosk.supervisor_end", {"supervisor": who})
            self.service.end_session()
        self._changed()

    # -- what the service calls ---------------------------------------------------------
    def start_refusal(self) -> str | None:
        """Why Start may not open a session now (None: it may)."""
        if self.require_supervisor and not self.joined:
            return NO_SUPERVISOR
        return None

    async def session_started(self) -> None:
        """Record who is already watching; pause a session that requires a supervisor and
        has none (one who left between Start and now)."""
        async with self._lock:
            self.ended_by = None
            self._in_session = True
            for who, (via, since) in self.joined.items():
                payload = {"supervisor": who, "via": via, "before_start": True}
                self._emit("kiosk.supervisor_join", payload, at=since)
            if self.require_supervisor and not self.joined:
                await self._pause("", "no_supervisor")
        self._changed()

    def session_ended(self) -> None:
        """The session is over (it is being sealed): nothing is paused any more, and
        :meth:`state` says ``lobby``."""
        self._in_session = False
        self.paused = None
        self.unpaused.set()
        self.ended_by = None
        self._changed()

    # -- helpers ------------------------------------------------------------------------
    async def _pause(self, who: str, reason: str) -> None:
        gate = self.service.gate
        assert gate is not None
        self.paused = reason
        self.unpaused.clear()
        gate.activity.set()  # wakes the idle clock, which stops while paused
        shown = await gate.pause()
        self._emit("kiosk.paused", {"supervisor": who, "reason": reason, "shown": shown})

    async def _resume(self, who: str, reason: str) -> None:
        gate = self.service.gate
        assert gate is not None
        await gate.resume()
        self.paused = None
        self.unpaused.set()
        self._emit("kiosk.resumed", {"supervisor": who, "reason": reason})

    def _active(self) -> bool:
        return self.state()["state"] != "lobby" and self.service.capture is not None

    def _joined(self, who: str) -> None:
        if who not in self.joined:
            raise UsageError(f"kiosk supervision: {who!r} has not joined")

    def _must_be(self, state: str, action: str) -> None:
        now = self.state()["state"]
        if now == "lobby":
            why = "no customer session (start screen)"
        elif now != state:
            why = f"the session is {now}"
        elif self.ended_by is not None or self.service.ending:
            why = "the session is ending"
        else:
            return
        raise UsageError(f"kiosk supervision: cannot {action}: {why}")

    def _emit(self, kind: str, payload: dict[str, Any], *, at: int | None = None) -> None:
        cap = self.service.capture
        assert cap is not None
        utc = self.service.clock.utc_ns()
        cap.emitter.emit(kind, {**payload, "at": utc_iso(at if at is not None else utc)})

    def _changed(self) -> None:
        state = self.state()
        for listener in self.listeners:
            try:
                listener(state)
            except Exception:
                log.exception("kiosk.supervision_listener_failed")
