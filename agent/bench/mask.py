"""``sessiontape bench mask``: masking cost per event on a realistic mix, against capture's.

The mix (:mod:`agent.bench.mask_mix`) is what the demo blotter produces: a 50x20 grid, 200
cells changing every 50 ms, plus per second mouse moves, a heartbeat, tokenized inputs and
keystrokes, an XHR request/response pair, a WebSocket frame and a console line. Prices change
on every update, so the per-string caches mostly miss - the unfavourable case.

The capture-side reference is the agent's own per-event work in capture: decoding the
recorder's binding message (``agent.capture.recorder_messages.parse_message``) and building
the events. Without ``journal_append``, journal work (canonical JSON, compression, encryption)
is left out of the denominator, so ``mask_share_of_capture_pct`` overstates masking's part of
total agent CPU; ``mask_share_of_agent_pct`` adds the journal. The live figure is measured
inside a real capture of the demo blotter (:func:`bench_live`).
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from agent.bench.mask_mix import SNAPSHOT_NODES, second, snapshot
from agent.capture.config import CaptureConfig
from agent.config import Config
from agent.events import Event
from agent.mask.masker import Masker
from agent.mask.rules import load_rules_file

_PAGE = "page-1"


@dataclass
class MaskBench:
    """Results of one benchmark run."""

    events: int
    seconds_simulated: int
    mask_us_per_event: float
    capture_us_per_event: float
    mask_share_of_capture_pct: float
    journal_us_per_event: float | None
    mask_share_of_agent_pct: float | None
    mutation_event_us: float
    full_snapshot_ms: float
    snapshot_nodes: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


def _binding_batches(entries: list[dict[str, Any]]) -> list[bytes]:
    """The entries as capture receives them: binding payloads of 40 entries inside CDP
    ``Runtime.bindingCalled`` messages."""
    return [
        orjson.dumps(
            {
                "method": "Runtime.bindingCalled",
                "sessionId": "S" * 32,
                "params": {
                    "name": "__st_b",
                    "executionContextId": 3,
                    "payload": orjson.dumps(
                        {"v": 1, "n": i, "events": entries[i : i + 40]}
                    ).decode(),
                },
            }
        )
        for i in range(0, len(entries), 40)
    ]


def _capture_side(batches: list[bytes]) -> list[Event]:
    """Capture's own per-event work: decode each binding message and build the events."""
    from agent.capture.recorder_messages import parse_message

    evs: list[Event] = []
    for raw in batches:
        parsed = parse_message(orjson.loads(raw)["params"]["payload"])
        for k, t, p in parsed.entries:
            evs.append(
                Event(
                    kind=k, payload=p, t_utc_ns=t * 1_000_000, t_mono_ns=t * 1_000_000, page=_PAGE
                )
            )
    return evs


def _cpu(fn: Callable[[], object]) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


@dataclass
class _Best:
    """Fastest CPU seconds seen over the repeats (the least disturbed by other load)."""

    capture: float = float("inf")
    mask: float = float("inf")
    mutation: float = float("inf")
    journal: float = float("inf")
    events: int = 0


def _one_round(
    masker: Masker,
    batches: list[bytes],
    best: _Best,
    journal_append: Callable[[list[Event]], object] | None,
) -> None:
    t0 = time.process_time()
    events = _capture_side(batches)
    cap = time.process_time() - t0
    mutations = [e for e in events if e.kind == "rrweb.mutation"]
    # fresh caches each round: prices in a live blotter rarely repeat
    masker.strings.scan.cache_clear()
    msk = _cpu(lambda: masker.mask_events(events))
    masker.strings.scan.cache_clear()
    mut = _cpu(lambda: masker.mask_events(mutations)) / max(1, len(mutations))
    best.capture, best.mask = min(best.capture, cap), min(best.mask, msk)
    best.mutation = min(best.mutation, mut)
    best.events = len(events)
    if journal_append is not None:
        masked = masker.mask_events(events)

        def journal() -> None:
            for i in range(0, len(masked), 40):
                journal_append(masked[i : i + 40])

        best.journal = min(best.journal, _cpu(journal))


def run_mask_bench(
    seconds: int = 10,
    seed: int = 4511,
    masker: Masker | None = None,
    repeat: int = 3,
    journal_append: Callable[[list[Event]], object] | None = None,
) -> MaskBench:
    """CPU time of capture-side decoding, masking and (optionally) journaling, per event.

    ``journal_append`` (the CLI passes a real journal's ``append_many``) adds the journal's
    CPU to the agent total, for the share of agent CPU that masking adds. Process CPU time
    is measured, not wall time, so a busy machine skews the figures less.
    """
    if masker is None:
        masker = Masker.build(load_rules_file(), b"\x11" * 32)
    rng = random.Random(seed)
    entries = [e for s in range(seconds) for e in second(rng, s, 1_767_225_600_000)]
    batches = _binding_batches(entries)
    snap = Event("rrweb.full_snapshot", snapshot(), 1, 1, page=_PAGE)
    snap_ms = _cpu(lambda: masker.mask_event(snap)) * 1000
    best = _Best()
    for _ in range(repeat):
        _one_round(masker, batches, best, journal_append)
    n = best.events
    with_journal = journal_append is not None
    return MaskBench(
        events=n,
        seconds_simulated=seconds,
        mask_us_per_event=round(best.mask / n * 1e6, 2),
        capture_us_per_event=round(best.capture / n * 1e6, 2),
        mask_share_of_capture_pct=round(100 * best.mask / best.capture, 1),
        mutation_event_us=round(best.mutation * 1e6, 1),
        journal_us_per_event=round(best.journal / n * 1e6, 2) if with_journal else None,
        mask_share_of_agent_pct=round(100 * best.mask / (best.capture + best.journal), 1)
        if with_journal
        else None,
        full_snapshot_ms=round(snap_ms, 2),
        snapshot_nodes=SNAPSHOT_NODES,
    )


class TimedMaskingSink:
    """A MaskingSink stand-in for benchmarks: masks, keeps the events, and counts the CPU
    time this thread spent masking (``time.thread_time``: other threads are not counted)."""

    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self.mask_cpu_s = 0.0
        self.events_in = 0
        self.events: list[Event] = []

    async def append_many(self, events: Sequence[Event]) -> None:
        """Mask and keep."""
        t0 = time.thread_time()
        out = self.masker.mask_events(events)
        self.mask_cpu_s += time.thread_time() - t0
        self.events_in += len(events)
        self.events.extend(out)


@dataclass
class LiveMaskBench:
    """Masking inside a real capture of the demo blotter."""

    cells: int
    seconds: float
    events: int
    agent_cpu_s: float
    mask_cpu_s: float
    mask_share_of_agent_cpu_pct: float
    mask_us_per_event: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


def live_result(
    cells: int, seconds: float, sink: TimedMaskingSink, events0: int, mask0: float, cpu_s: float
) -> LiveMaskBench:
    """Figures for the window between two readings of the sink and the process CPU clock."""
    n = sink.events_in - events0
    mask = sink.mask_cpu_s - mask0
    return LiveMaskBench(
        cells=cells,
        seconds=seconds,
        events=n,
        agent_cpu_s=round(cpu_s, 3),
        mask_cpu_s=round(mask, 4),
        mask_share_of_agent_cpu_pct=round(100 * mask / cpu_s, 2) if cpu_s else 0.0,
        mask_us_per_event=round(mask / n * 1e6, 2) if n else 0.0,
    )


async def bench_live(
    home: Path, capture: CaptureConfig, cells: int, seconds: float
) -> LiveMaskBench:
    """Record the demo blotter in Chromium and time the masking inside that capture."""
    from agent.bench.blotter import demo_blotter
    from agent.capture.session import CaptureSession
    from agent.clock import SystemClock

    masker = Masker.load(home)
    cfg = capture.model_copy(update={"headless": "true"})
    async with demo_blotter(cells) as blotter:
        sink = TimedMaskingSink(masker)
        session = CaptureSession(
            cfg, sink, SystemClock(), home, headless=True, relaunch=False, mask=masker.page_config()
        )
        await session.start(None)
        try:
            await blotter.prepare(session.page)
            await asyncio.sleep(1.0)  # past the first snapshot
            ev0, m0, cpu0 = sink.events_in, sink.mask_cpu_s, time.process_time()
            await asyncio.sleep(seconds)
            cpu = time.process_time() - cpu0
            res = live_result(cells, seconds, sink, ev0, m0, cpu)
        finally:
            await session.stop()
    return res


def run_bench(
    cfg: Config, *, seconds: int, live: bool, cells: int, live_seconds: float
) -> dict[str, Any]:
    """The synthetic mix against a real journal, and (``live``) the demo blotter; as JSON."""
    from agent.journal import Journal

    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="sessiontape-bench-mask-") as tmp:
        journal = Journal.open(Path(tmp), cfg)
        try:
            result["synthetic"] = run_mask_bench(
                seconds=seconds, journal_append=journal.append_many
            ).as_dict()
        finally:
            journal.close()
        if live:
            live_bench = bench_live(Path(tmp), cfg.capture, cells, live_seconds)
            result["live"] = asyncio.run(live_bench).as_dict()
    return result


def iter_lines(result: dict[str, Any]) -> Iterator[str]:
    """The human-readable report."""
    syn = result["synthetic"]
    yield (
        f"synthetic mix ({syn['events']} events): mask {syn['mask_us_per_event']} us/event,"
        f" capture decode {syn['capture_us_per_event']} us/event, journal "
        f"{syn['journal_us_per_event']} us/event -> masking = "
        f"{syn['mask_share_of_agent_pct']}% of agent CPU"
    )
    yield (
        f"  blotter mutation (200 texts): {syn['mutation_event_us']} us; full snapshot "
        f"({syn['snapshot_nodes']} nodes): {syn['full_snapshot_ms']} ms"
    )
    if "live" in result:
        lv = result["live"]
        yield (
            f"live demo blotter ({lv['cells']} cells, {lv['seconds']} s, {lv['events']} "
            f"events): masking {lv['mask_cpu_s']} s of {lv['agent_cpu_s']} s agent CPU "
            f"= {lv['mask_share_of_agent_cpu_pct']}% ({lv['mask_us_per_event']} us/event)"
        )
