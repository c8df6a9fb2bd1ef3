"""The emitter: stamps, batches in order, and never drops silently."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from agent.capture.emitter import Emitter
from agent.events import Event
from agent.testing import FakeClock, MemorySink


def test_observation_time_maps_to_monotonic_by_its_age() -> None:
    """t_mono = agent monotonic at receipt minus (receipt UTC - observation UTC)."""
    clock = FakeClock()
    em = Emitter(MemorySink(), clock)
    utc, mono = em.stamp(clock.utc_ns() - 40_000_000)
    assert utc == clock.utc_ns() - 40_000_000
    assert mono == clock.mono_ns() - 40_000_000
    # a page clock ahead of ours never yields a time after receipt
    assert em.stamp(clock.utc_ns() + 5)[1] == clock.mono_ns()


def test_events_reach_the_sink_in_order_on_flush() -> None:
    """Queued events are handed to the sink in emission order."""

    async def main() -> list[str]:
        sink = MemorySink()
        em = Emitter(sink, FakeClock())
        for i in range(5):
            em.emit("clock.tick", {"i": i})
        await em.aclose()
        return [str(e.payload["i"]) for e in sink.events]

    assert asyncio.run(main()) == ["0", "1", "2", "3", "4"]


class _FailingOnce:
    def __init__(self) -> None:
        self.calls = 0
        self.events: list[Event] = []

    async def append_many(self, events: Sequence[Event]) -> None:
        self.calls += 1
        if self.calls == 1:
            raise OSError("disk full")
        self.events.extend(events)


def test_sink_failure_is_recorded_as_a_gap_with_the_lost_count() -> None:
    """Events the sink refused are not reported as written: a capture.gap says how many."""

    async def main() -> _FailingOnce:
        sink = _FailingOnce()
        em = Emitter(sink, FakeClock())
        em.emit("clock.tick", {"i": 1})
        em.emit("clock.tick", {"i": 2})
        await em.flush()
        await em.aclose()
        return sink

    sink = asyncio.run(main())
    assert [e.kind for e in sink.events] == ["capture.gap"]
    assert sink.events[0].payload["cause"] == "sink_failed"
    assert sink.events[0].payload["lost_events"] == 2


def test_queue_overflow_keeps_memory_bounded_and_counts_what_was_dropped() -> None:
    """Past max_pending, events are counted in a capture.degraded event instead of kept."""

    async def main() -> MemorySink:
        sink = MemorySink()
        em = Emitter(sink, FakeClock(), max_pending=3)
        for i in range(10):
            em.emit("clock.tick", {"i": i})
        await em.aclose()
        return sink

    sink = asyncio.run(main())
    assert [e.kind for e in sink.events] == ["clock.tick"] * 3 + ["capture.degraded"]
    assert sink.events[-1].payload["dropped_events"] == 7


def test_queue_is_bounded_by_bytes_of_recorder_data_too() -> None:
    """A flood of big recorder batches cannot grow the queue past max_pending_bytes."""

    async def main() -> MemorySink:
        sink = MemorySink()
        em = Emitter(sink, FakeClock(), max_pending_bytes=2500)
        for i in range(5):
            em.push(Event("rrweb.mutation", {"i": i}, 1, 1), size_hint=1000)
        await em.aclose()
        return sink

    sink = asyncio.run(main())
    assert [e.kind for e in sink.events] == ["rrweb.mutation"] * 2 + ["capture.degraded"]
    assert sink.events[-1].payload["dropped_events"] == 3
