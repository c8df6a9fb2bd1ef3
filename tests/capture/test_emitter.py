"""The emitter: stamps, batches in order, and never drops silently."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from agent.capture.emitter import HURRY_EVENTS, Emitter
from agent.events import Event
from agent.testing import FakeClock, MemorySink
from tests.waiting import wait_until_async


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


class _Batches:
    """A sink that keeps each batch it was handed, as handed."""

    def __init__(self) -> None:
        self.batches: list[list[Event]] = []

    async def append_many(self, events: Sequence[Event]) -> None:
        self.batches.append(list(events))

    @property
    def events(self) -> list[Event]:
        return [e for b in self.batches for e in b]


def test_the_first_event_queued_wakes_the_flusher_and_later_ones_join_its_batch() -> None:
    """No flush is asked for: the flusher wakes on the first event and sends the batch."""

    async def main() -> _Batches:
        sink = _Batches()
        em = Emitter(sink, FakeClock(), flush_ms=20)
        em.start()
        for i in range(3):
            em.emit("clock.tick", {"i": i})
        await wait_until_async(lambda: len(sink.events) == 3, what="the batch at the sink")
        em.emit("clock.tick", {"i": 3})
        await wait_until_async(lambda: len(sink.events) == 4, what="the next batch")
        await em.aclose()
        return sink

    sink = asyncio.run(main())
    assert [[e.payload["i"] for e in b] for b in sink.batches] == [[0, 1, 2], [3]]


def test_a_long_queue_is_flushed_without_waiting_out_flush_ms() -> None:
    """HURRY_EVENTS queued events go to the sink at once, not a minute later."""

    async def main() -> int:
        sink = _Batches()
        em = Emitter(sink, FakeClock(), flush_ms=60_000)
        em.start()
        await asyncio.sleep(0)  # the flusher is waiting for the first event
        for i in range(HURRY_EVENTS):
            em.emit("clock.tick", {"i": i})
        await wait_until_async(
            lambda: len(sink.events) == HURRY_EVENTS, what="the long queue", timeout_s=30
        )
        n = len(sink.batches)
        await em.aclose()
        return n

    assert asyncio.run(main()) == 1


def test_a_gap_for_a_failed_batch_is_flushed_even_if_nothing_else_is_queued() -> None:
    """The flusher itself writes the capture.gap after a refused batch (no stop needed)."""

    async def main() -> list[str]:
        sink = _FailingOnce()
        em = Emitter(sink, FakeClock(), flush_ms=10)
        em.start()
        em.emit("clock.tick", {"i": 1})
        await wait_until_async(lambda: sink.events, what="the capture.gap")
        kinds = [e.kind for e in sink.events]
        await em.aclose()
        return kinds

    assert asyncio.run(main()) == ["capture.gap"]


def test_an_overflow_with_an_empty_queue_still_reports_the_loss() -> None:
    """One event bigger than the byte bound: dropped, and capture.degraded goes out by itself."""

    async def main() -> list[Event]:
        sink = _Batches()
        em = Emitter(sink, FakeClock(), flush_ms=10, max_pending_bytes=100)
        em.start()
        em.push(Event("rrweb.mutation", {"i": 0}, 1, 1), size_hint=1000)
        await wait_until_async(lambda: sink.events, what="the capture.degraded event")
        events = sink.events
        await em.aclose()
        return events

    events = asyncio.run(main())
    assert [e.kind for e in events] == ["capture.degraded"]
    assert events[0].payload["dropped_events"] == 1
