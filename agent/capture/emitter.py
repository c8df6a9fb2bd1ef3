"""Turn observations into ``Event``s and hand them to the sink in batches, in order.

The CDP reader must never wait on the journal, so events go to an in-memory queue that a
flusher task drains: the first event queued wakes it, it waits ``flush_ms`` for more to join
the batch (less once :data:`HURRY_EVENTS` are queued) and hands them to the sink. An idle
recorder costs no wake-ups at all. The queue is bounded: past ``max_pending`` events (or
``max_pending_bytes`` of recorder data) the newest are counted instead of kept, and a
``capture.degraded`` event says how many were lost (never a silent drop, never unbounded
memory).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from agent.clock import Clock
from agent.events import Event
from agent.sink import EventSink

log = structlog.get_logger(__name__)

HURRY_EVENTS = 2000  # this many queued events are flushed without waiting out flush_ms


class Emitter:
    """Stamp, queue and flush events to an ``EventSink``."""

    def __init__(
        self,
        sink: EventSink,
        clock: Clock,
        *,
        flush_ms: int = 100,
        max_pending: int = 500_000,
        max_pending_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self._sink = sink
        self._clock = clock
        self._flush_s = flush_ms / 1000
        self._max_pending = max_pending
        self._max_bytes = max_pending_bytes
        self._pending_bytes = 0
        self._queue: list[Event] = []
        self._overflow = 0
        self._overflow_since = 0
        self._wake = asyncio.Event()  # set when the queue stops being empty
        self._hurry: asyncio.Future[None] | None = None  # the flusher's wait for more events
        self._task: asyncio.Task[None] | None = None
        self.sink_error: BaseException | None = None
        self.emitted = 0

    def start(self) -> None:
        """Start the flusher task."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="capture-flusher")

    def stamp(self, t_utc_ns: int | None = None) -> tuple[int, int]:
        """(utc, mono) for an observation made at ``t_utc_ns`` (default: now).

        The monotonic time is the agent's monotonic clock at receipt minus the observation's
        age, so events from one page keep their spacing even if the wall clock jumps later.
        """
        now_utc = self._clock.utc_ns()
        now_mono = self._clock.mono_ns()
        if t_utc_ns is None:
            return now_utc, now_mono
        age = max(0, now_utc - t_utc_ns)
        return t_utc_ns, now_mono - age

    def emit(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        page: str | None = None,
        frame: str | None = None,
        t_utc_ns: int | None = None,
    ) -> Event:
        """Queue one event (stamped now, or at ``t_utc_ns``)."""
        utc, mono = self.stamp(t_utc_ns)
        ev = Event(kind=kind, payload=payload, t_utc_ns=utc, t_mono_ns=mono, page=page, frame=frame)
        self.push(ev)
        return ev

    def push(self, ev: Event, size_hint: int = 0) -> None:
        """Queue an already built event (``size_hint``: its approximate bytes, if known)."""
        if len(self._queue) >= self._max_pending or (
            size_hint and self._pending_bytes + size_hint > self._max_bytes
        ):
            if self._overflow == 0:
                self._overflow_since = ev.t_utc_ns
                self._wake.set()  # the capture.degraded event is due even if nothing follows
            self._overflow += 1
            return
        self._queue.append(ev)
        self._pending_bytes += size_hint
        self.emitted += 1
        n = len(self._queue)
        if n == 1:
            self._wake.set()
        elif n >= HURRY_EVENTS and self._hurry is not None and not self._hurry.done():
            self._hurry.set_result(None)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._gather()
            await self.flush()

    async def _gather(self) -> None:
        """Wait ``flush_ms`` for more events to join the batch (not once the queue is long).

        A bare future and a timer: no task is created per batch."""
        if len(self._queue) >= HURRY_EVENTS:
            return
        loop = asyncio.get_running_loop()
        self._hurry = hurry = loop.create_future()
        timer = loop.call_later(self._flush_s, _wake_up, hurry)
        try:
            await hurry
        finally:
            timer.cancel()
            self._hurry = None

    async def flush(self) -> None:
        """Hand everything queued to the sink (returns when durable)."""
        if self._overflow:
            utc, mono = self.stamp()
            self._queue.append(
                Event(
                    kind="capture.degraded",
                    payload={
                        "reason": "agent_queue_full",
                        "dropped_events": self._overflow,
                        "start": self._overflow_since,
                        "end": utc,
                    },
                    t_utc_ns=utc,
                    t_mono_ns=mono,
                )
            )
            self._overflow = 0
        if not self._queue:
            return
        batch, self._queue = self._queue, []
        self._pending_bytes = 0
        try:
            await self._sink.append_many(batch)
        except Exception as exc:
            # The sink owns durability policy (strict vs best_effort); we record that these
            # events did not make it, and keep capturing.
            self.sink_error = exc
            log.error("capture.sink_failed", error=type(exc).__name__, events=len(batch))
            if getattr(exc, "recorded_as_gap", False):
                return  # the journal counted them and writes the gap itself
            utc, mono = self.stamp()
            self._queue.insert(
                0,
                Event(
                    kind="capture.gap",
                    payload={
                        "start": batch[0].t_utc_ns,
                        "end": utc,
                        "cause": "sink_failed",
                        "lost_events": len(batch),
                    },
                    t_utc_ns=utc,
                    t_mono_ns=mono,
                ),
            )
            self._wake.set()  # the gap event is flushed next, even if nothing else is queued

    async def aclose(self) -> None:
        """Stop the flusher and flush what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
        if self._queue:  # the gap event queued by a failed last flush
            with contextlib.suppress(Exception):
                await self._sink.append_many(self._queue)
            self._queue = []


def _wake_up(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
