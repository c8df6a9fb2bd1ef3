"""``sessiontape bench soak``: its slope arithmetic and its usage errors (the soak itself runs
for many minutes: it is a benchmark, run by hand, not in the suite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.bench.soak import Sample, _summary, slope_per_hour
from tests.cli.clirun import run_main


def test_slope_per_hour_of_a_straight_line_is_its_rise_per_hour() -> None:
    points = [(t * 60.0, 100.0 + 0.1 * t) for t in range(30)]  # +0.1 MB a minute
    slope = slope_per_hour(points)
    assert slope is not None and abs(slope - 6.0) < 1e-9


def test_keep_refuses_an_existing_directory_before_the_agent_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "mine.txt").write_text("not the soak's", encoding="utf-8")
    code, _, err = run_main(capsys, "bench", "soak", "--minutes", "0.5", "--keep", str(kept))
    assert code == 2
    assert "exists; give a new path" in err
    assert [p.name for p in kept.iterdir()] == ["mine.txt"]


def _sample(t: float, rss: float, browser: float, cpu: float) -> Sample:
    return Sample(t, rss, browser, cpu, int(t) * 1000, 1, 1.0, 1.0)


def test_samples_after_the_browser_is_gone_are_counted_not_fitted() -> None:
    """A flat agent stays flat although its last sample (sealing, browser gone) jumps."""
    series = [_sample(t * 10.0, 100.0, 1100.0, t * 0.1) for t in range(1, 61)]
    series.append(_sample(610.0, 112.0, 0.0, 9.0))
    out = _summary(series, 200, 10.0)
    assert out["samples"] == 61 and out["samples_without_browser"] == 1
    assert out["agent_rss_slope_mb_per_h"] == 0.0 and out["agent_rss_mb_last"] == 100.0
    assert out["agent_cpu_pct"] == 1.0
    with_it = _summary([*series[:-1], _sample(610.0, 112.0, 1100.0, 9.0)], 200, 10.0)
    assert with_it["agent_rss_slope_mb_per_h"] > 5.0  # the same jump, fitted, would fail
