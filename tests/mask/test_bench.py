"""The masking benchmark runs on its realistic mix and reports per-event figures."""

from __future__ import annotations

import asyncio

from agent.mask.bench import TimedMaskingSink, run_mask_bench
from agent.mask.testing import build_masker
from agent.testing import make_event


def test_bench_reports_costs_for_one_simulated_second() -> None:
    """45 events per simulated second; costs are positive; no journal -> no agent share."""
    r = run_mask_bench(seconds=1, repeat=1)
    assert r.events == 45 and r.seconds_simulated == 1
    assert r.mask_us_per_event > 0 and r.capture_us_per_event > 0 and r.mutation_event_us > 0
    assert r.journal_us_per_event is None and r.mask_share_of_agent_pct is None


def test_timed_sink_masks_and_counts() -> None:
    """The benchmark sink really masks (so it measures the real work)."""
    sink = TimedMaskingSink(build_masker())
    asyncio.run(sink.append_many([make_event("page.console", {"text": "ssn 078-05-1120"})]))
    assert sink.events_in == 1 and "078-05-1120" not in sink.events[0].payload["text"]
    assert sink.mask_cpu_s > 0
