"""The recorders' side of capture: their execution contexts and what they send.

The recorder bundle runs in the isolated world ``__sessiontape`` and calls a private binding;
its messages arrive as ``Runtime.bindingCalled`` and become events here, user actions get an
``action_id`` for cause linking, and a hole in a recorder's batch counter is reported as a gap.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from agent.capture.cause import Action
from agent.capture.recorder_messages import BadMessage, is_user_action, parse_message, tamper_event
from agent.capture.state import Recorder, Target, is_our_world
from agent.events import Event

if TYPE_CHECKING:
    from collections.abc import Callable

    from agent.capture.closed_shadow import ClosedShadow
    from agent.capture.context import CaptureContext
    from agent.capture.health import Health


class RecorderChannel:
    """Tracks execution contexts per target and turns binding messages into events."""

    def __init__(
        self, ctx: CaptureContext, health: Health, closed: ClosedShadow | None = None
    ) -> None:
        self.ctx = ctx
        self.health = health
        self.closed = closed
        self._progress = asyncio.Event()  # set whenever a batch was handled or a context went

    def handlers(self) -> dict[str, Callable[[dict[str, Any], Target], None]]:
        """The CDP events this part handles, by method name."""
        return {
            "Runtime.bindingCalled": self._binding_called,
            "Runtime.executionContextCreated": self._context_created,
            "Runtime.executionContextDestroyed": self._context_destroyed,
            "Runtime.executionContextsCleared": self._contexts_cleared,
        }

    # -- execution contexts -------------------------------------------------------------
    def _context_created(self, p: dict[str, Any], t: Target) -> None:
        ctx = p["context"]
        aux = ctx.get("auxData") or {}
        frame = str(aux.get("frameId", ""))
        name = str(ctx.get("name", ""))
        t.contexts[int(ctx["id"])] = (frame, name)
        if aux.get("isDefault"):
            t.default_ctx[frame] = int(ctx["id"])
        if is_our_world(name):
            t.recorders[int(ctx["id"])] = Recorder(
                int(ctx["id"]),
                frame,
                last_mono_ns=self.ctx.clock.mono_ns(),
                last_utc_ns=self.ctx.clock.utc_ns(),
            )

    def _context_destroyed(self, p: dict[str, Any], t: Target) -> None:
        ctx_id = int(p.get("executionContextId", -1))
        t.contexts.pop(ctx_id, None)
        t.recorders.pop(ctx_id, None)
        self._progress.set()

    def _contexts_cleared(self, p: dict[str, Any], t: Target) -> None:
        t.contexts.clear()
        t.recorders.clear()
        self._progress.set()

    # -- acknowledged flush ---------------------------------------------------------------
    async def wait_handled(self, sent: list[tuple[Target, int, int]]) -> None:
        """Return once, for each ``(target, context id, n)``, the recorder's batch ``n`` has
        been turned into events (or that recorder, or its target, is gone).

        ``n`` is what the recorder's ``__st_flush`` answered: the counter of the last batch it
        handed to the binding. The answer to the evaluate proves only that the batch was sent,
        not that its ``Runtime.bindingCalled`` has reached us.
        """
        while not all(_handled(t, ctx_id, n) for t, ctx_id, n in sent):
            self._progress.clear()
            await self._progress.wait()

    # -- messages -------------------------------------------------------------------------
    def _count_batch(self, t: Target, rec: Recorder, n: int) -> None:
        """Match ``n`` to a recorder's counter; a hole in it is a gap of lost batches."""
        if n in rec.tracks:
            rec.tracks[rec.tracks.index(n)] = n + 1
            return
        if n == 0:  # a recorder (re)started in this context
            rec.tracks.append(1)
            return
        below = [x for x in rec.tracks if x < n]
        if below:
            expected = max(below)
            rec.tracks[rec.tracks.index(expected)] = n + 1
        else:
            expected = min(rec.tracks, default=0)
            rec.tracks.append(n + 1)
        self.health.batch_gap(t, rec, expected, n)

    def _binding_called(self, p: dict[str, Any], t: Target) -> None:
        if p.get("name") != self.ctx.binding:
            return
        ctx_id = int(p.get("executionContextId", -1))
        raw = str(p.get("payload", ""))
        rec = t.recorders.get(ctx_id)
        frame = rec.frame_id if rec else t.contexts.get(ctx_id, ("", ""))[0] or None
        utc, mono = self.ctx.emitter.stamp()
        if rec is None:
            rec = Recorder(ctx_id, frame or "")
            t.recorders[ctx_id] = rec
        rec.last_mono_ns, rec.last_utc_ns = mono, utc
        rec.messages += 1
        self.health.recorder_alive(t, rec.frame_id)
        try:
            msg = parse_message(raw)
        except BadMessage as exc:
            self.ctx.emitter.push(tamper_event(str(exc), len(raw), utc, mono, t.page_id, frame))
            return
        self._count_batch(t, rec, msg.n)
        self._progress.set()
        if self.closed is not None:
            snapshot = any(k == "rrweb.full_snapshot" for k, _t, _p in msg.entries)
            self.closed.batch(t, ctx_id, msg.hosts, snapshot)
        if msg.rejected:
            self.ctx.emitter.push(
                tamper_event("; ".join(msg.rejected[:5]), len(raw), utc, mono, t.page_id, frame)
            )
        push = self.ctx.emitter.push
        size = len(raw) // max(1, len(msg.entries))
        for kind, t_ms, payload in msg.entries:
            t_utc = t_ms * 1_000_000
            age = max(0, utc - t_utc)
            if is_user_action(kind, payload):
                aid = self.ctx.causes.new_action_id()
                payload["action_id"] = aid
                self.ctx.causes.note(Action(t.page_id, frame, t_utc, kind, aid))
                if self.ctx.cfg.screenshots:
                    self.health.screenshot(t, aid)
            push(Event(kind, payload, t_utc, mono - age, t.page_id, frame), size)
        if msg.entries:
            self.ctx.causes.heard(t.page_id, max(e[1] for e in msg.entries) * 1_000_000)


def _handled(t: Target, ctx_id: int, n: int) -> bool:
    """Whether batch ``n`` of the recorder in ``ctx_id`` has been handled (or never will be)."""
    rec = t.recorders.get(ctx_id)
    if n < 0 or rec is None or not t.alive:
        return True
    return any(expected > n for expected in rec.tracks)
