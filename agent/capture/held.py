"""Network events held back for a short delay, then released in arrival order.

The recorder reports a click in its next batch, up to one flush interval after the click; a
request it caused is seen by CDP at once. A network event is held for one flush plus a
margin, and an event whose cause is to be linked is held further, while its page's
recorders have not yet reported anything as recent as it (a loaded renderer flushes late),
up to ``gap_silence_ms`` in all: by then a silent recorder is a recorded gap, and the event
is linked with what is known. Events leave in arrival order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.events import Event

if TYPE_CHECKING:
    from agent.capture.context import CaptureContext

_MARGIN_MS = 250


class HeldEvents:
    """A delay queue of network events; ``release`` links causes and emits them."""

    def __init__(self, ctx: CaptureContext) -> None:
        self.ctx = ctx
        self._out: deque[tuple[int, Event, bool]] = deque()
        self.delay_ns = (ctx.cfg.flush_ms + _MARGIN_MS) * 1_000_000
        self.max_hold_ns = max(self.delay_ns, ctx.cfg.gap_silence_ms * 1_000_000)
        self.wake: Callable[[], None] | None = None  # the engine's tick, while it naps

    def __len__(self) -> int:
        return len(self._out)

    def queue(
        self,
        kind: str,
        payload: dict[str, Any],
        page: str | None,
        frame: str | None,
        t_utc_ns: int | None = None,
        link: bool = False,
    ) -> Event:
        """Hold one event (``link``: fill its ``cause`` with the user action behind it)."""
        utc, mono = self.ctx.emitter.stamp(t_utc_ns)
        ev = Event(kind=kind, payload=payload, t_utc_ns=utc, t_mono_ns=mono, page=page, frame=frame)
        self._out.append((self.ctx.clock.mono_ns() + self.delay_ns, ev, link))
        if self.wake is not None:
            self.wake()
        return ev

    def release(self, force: bool = False) -> None:
        """Emit every held event whose delay has passed (all of them when ``force``)."""
        now = self.ctx.clock.mono_ns()
        while self._out and (force or self._out[0][0] <= now):
            due, ev, link = self._out[0]
            if not force and link and self._unheard(ev, now - due):
                return
            self._out.popleft()
            if link and ev.page is not None:
                opener = self.ctx.targets.opener_of(ev.page)
                act = self.ctx.causes.link(ev.page, ev.frame, ev.t_utc_ns, opener)
                ev.payload["cause"] = act.ref() if act else None
            self.ctx.emitter.push(ev)

    def _unheard(self, ev: Event, overdue_ns: int) -> bool:
        """Whether ``ev`` should wait for its page's recorders to catch up with it."""
        if ev.page is None or overdue_ns >= self.max_hold_ns - self.delay_ns:
            return False
        causes = self.ctx.causes
        if causes.has_heard(ev.page, ev.t_utc_ns):
            return False
        opener = self.ctx.targets.opener_of(ev.page)  # a popup's first requests: its opener
        return opener is None or not causes.has_heard(opener, ev.t_utc_ns)
