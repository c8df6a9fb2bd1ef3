"""Busy time per update: the capture-overhead measure shared by bench busy and bench capture."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agent.bench.busy import BusySample, measure_busy, summarize
from agent.errors import CaptureError


class ScriptedCDP:
    """A CDP endpoint whose TaskDuration and page counter advance by fixed steps per read."""

    def __init__(self, task_s: list[float], updates: list[int]) -> None:
        self.task_s = task_s
        self.updates = updates
        self.sent: list[tuple[str, dict[str, Any] | None]] = []

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.sent.append((method, params))
        if method == "Performance.getMetrics":
            if not self.task_s:
                return {"metrics": [{"name": "Nodes", "value": 3}]}
            return {"metrics": [{"name": "TaskDuration", "value": self.task_s.pop(0)}]}
        if method == "Runtime.evaluate":
            return {"result": {"type": "number", "value": self.updates.pop(0)}}
        return {}


async def _no_sleep(_s: float) -> None:
    return None


def test_busy_per_update_is_task_time_delta_over_update_delta_in_thread_ticks() -> None:
    """(2.5 s - 1.0 s) of main-thread time over 60 updates = 25 ms per update."""
    cdp = ScriptedCDP(task_s=[1.0, 2.5], updates=[10, 70])
    probes = iter([100.0, 160.0])

    async def probe() -> float:
        return next(probes)

    sample = asyncio.run(
        measure_busy(cdp, seconds=4, sleep=_no_sleep, monotonic=lambda: 0.0, probe=probe)
    )
    assert sample.updates == 60
    assert sample.busy_ms_per_update == pytest.approx(25.0)
    assert sample.probe_delta == pytest.approx(60.0)
    assert ("Performance.enable", {"timeDomain": "threadTicks"}) in cdp.sent


def test_missing_task_duration_is_a_capture_error() -> None:
    """A browser that reports no TaskDuration cannot be measured: a clear error."""
    cdp = ScriptedCDP(task_s=[], updates=[0, 0])
    with pytest.raises(CaptureError, match="TaskDuration"):
        asyncio.run(measure_busy(cdp, seconds=1, sleep=_no_sleep))


def test_summary_reports_medians_and_their_ratio() -> None:
    """Medians resist one outlier run; the ratio is recorded over baseline."""
    base = [
        BusySample(task_ms=100.0, updates=100, wall_ms=4000.0),
        BusySample(task_ms=120.0, updates=100, wall_ms=4000.0),
        BusySample(task_ms=500.0, updates=100, wall_ms=4000.0),
    ]
    rec = [
        BusySample(task_ms=150.0, updates=100, wall_ms=4000.0),
        BusySample(task_ms=180.0, updates=100, wall_ms=4000.0),
        BusySample(task_ms=170.0, updates=100, wall_ms=4000.0),
    ]
    out = summarize(base, rec)
    assert out["baseline_ms_per_update"] == 1.2
    assert out["recorded_ms_per_update"] == 1.7
    assert out["ratio"] == pytest.approx(1.417, abs=1e-3)
    with pytest.raises(CaptureError):
        summarize([], rec)
