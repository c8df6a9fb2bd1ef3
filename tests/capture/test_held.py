"""Held network events: linked once the page's recorders have caught up with them, in
arrival order, and never held longer than ``gap_silence_ms``."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import pytest

from agent.capture import tick
from agent.capture.cause import Action, CauseLinker
from agent.capture.config import CaptureConfig
from agent.capture.held import HeldEvents
from agent.events import Event
from agent.testing import FakeClock

MS = 1_000_000


@dataclass
class _Emitter:
    clock: FakeClock
    pushed: list[Event] = field(default_factory=list)

    def stamp(self, t_utc_ns: int | None = None) -> tuple[int, int]:
        return (t_utc_ns or self.clock.utc_ns()), self.clock.mono_ns()

    def push(self, ev: Event) -> None:
        self.pushed.append(ev)


@dataclass
class _Targets:
    openers: dict[str, str] = field(default_factory=dict)

    def opener_of(self, page: str) -> str | None:
        return self.openers.get(page)


@dataclass
class _Ctx:
    """The parts of a capture context the held queue reads."""

    clock: FakeClock
    cfg: CaptureConfig
    emitter: _Emitter
    causes: CauseLinker
    targets: _Targets


def _ctx() -> _Ctx:
    clock = FakeClock()
    cfg = CaptureConfig(flush_ms=100, gap_silence_ms=3000)
    return _Ctx(clock, cfg, _Emitter(clock), CauseLinker(window_ms=1000), _Targets())


def test_a_request_waits_for_a_late_recorder_batch_and_gets_its_click() -> None:
    """The click reaches the agent after the hold delay (a loaded renderer): the request
    stays held until the recorder reports past it, then carries the click as its cause."""
    ctx = _ctx()
    held = HeldEvents(ctx)  # type: ignore[arg-type]
    t0 = ctx.clock.utc_ns()
    held.queue("net.request", {}, "P", "F", t_utc_ns=t0 + 2 * MS, link=True)
    held.queue("net.response", {}, "P", "F", t_utc_ns=t0 + 3 * MS)
    ctx.clock.advance(1000 * MS)  # well past flush + margin
    held.release()
    assert ctx.emitter.pushed == []  # nothing from the page's recorders yet: both wait
    ctx.causes.note(Action("P", "F", t0, "rrweb.mouse_interaction", "a1"))
    ctx.causes.heard("P", t0 + 100 * MS)
    held.release()
    kinds = [e.kind for e in ctx.emitter.pushed]
    assert kinds == ["net.request", "net.response"]  # arrival order kept
    assert ctx.emitter.pushed[0].payload["cause"]["action_id"] == "a1"


def test_a_silent_recorder_holds_a_request_no_longer_than_gap_silence() -> None:
    """With nothing from the page, the request leaves at gap_silence_ms, without a cause."""
    ctx = _ctx()
    held = HeldEvents(ctx)  # type: ignore[arg-type]
    held.queue("net.request", {}, "P", "F", link=True)
    ctx.clock.advance(2900 * MS)
    held.release()
    assert ctx.emitter.pushed == []
    ctx.clock.advance(200 * MS)
    held.release()
    assert [e.payload["cause"] for e in ctx.emitter.pushed] == [None]


def test_a_popups_request_is_released_when_its_opener_has_reported() -> None:
    """A new popup has no recorder yet: its opener's report is enough."""
    ctx = _ctx()
    ctx.targets.openers["POPUP"] = "OPENER"
    held = HeldEvents(ctx)  # type: ignore[arg-type]
    t0 = ctx.clock.utc_ns()
    ctx.causes.note(Action("OPENER", "F", t0, "rrweb.mouse_interaction", "a7"))
    held.queue("net.request", {}, "POPUP", "G", t_utc_ns=t0 + 5 * MS, link=True)
    ctx.clock.advance(400 * MS)
    ctx.causes.heard("OPENER", t0 + 50 * MS)
    held.release()
    assert [e.payload["cause"]["action_id"] for e in ctx.emitter.pushed] == ["a7"]


def test_queueing_an_event_wakes_the_engines_napping_tick() -> None:
    """With nothing held the engine's tick naps (a quarter second); an event queued meanwhile
    wakes it at once, so the event is still released on time."""
    ctx = _ctx()
    held = HeldEvents(ctx)  # type: ignore[arg-type]
    woken: list[int] = []
    held.queue("net.request", {}, "P", "F")  # nobody napping: nothing to wake
    held.wake = lambda: woken.append(len(held))
    held.queue("net.response", {}, "P", "F")
    assert woken == [2]  # called once, with the event already in the queue
    assert len(held) == 2


def test_the_napping_tick_runs_its_step_as_soon_as_an_event_is_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the idle nap made an hour long, only the wake-up of a queued event can run the
    step: the test waits on the step itself."""
    monkeypatch.setattr(tick, "TICK_IDLE_S", 3600.0)
    ctx = _ctx()
    held = HeldEvents(ctx)  # type: ignore[arg-type]

    async def scenario() -> list[int]:
        stepped = asyncio.Event()
        seen: list[int] = []

        def step() -> None:
            seen.append(len(held))
            stepped.set()

        task = asyncio.create_task(tick.run_tick(held, step, 3_600_000))
        while held.wake is None:  # the tick is napping
            await asyncio.sleep(0)
        held.queue("net.request", {}, "P", "F")
        await asyncio.wait_for(stepped.wait(), 30)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert held.wake is None  # a cancelled nap leaves no stale wake-up behind
        return seen

    assert asyncio.run(scenario())[0] == 1
