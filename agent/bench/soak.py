"""``sessiontape bench soak``: the workstation agent recording a blotter for a long time.

The real ``sessiontape agent`` runs in a subprocess (its own home, the in-home file vault,
the embedded defaults) with the static blotter page (``pages/blotter.html``, ``cells`` cells
changed every 50 ms) as its start page. Every ``sample_s`` seconds the benchmark reads, from
outside the agent:

- the agent's RSS and CPU time (``/proc/<pid>/status``, ``/proc/<pid>/stat``) and the summed
  RSS of the browser's processes (every descendant of the agent);
- the bytes of the home's journals;
- the agent's own status (its health socket): the ship backlog and its oldest segment's age
  (the segment being written counts, so it grows up to ``journal.rotate_seconds`` between
  rotations), and the age of the newest checkpoint that reached the vault.

The summary covers the recording: samples taken with no browser running (the agent sealing
and stopping after its run time, or a crashed browser) are counted, not fitted. It fits a
least-squares line to RSS over time after a warm-up (a fifth of the run, at least one minute
when the run allows) and reports the slope in MB per hour, the agent's
CPU as a share of one core over the same span, journal bytes per hour, and the worst and
95th-percentile checkpoint age and backlog age, against the targets (agent RSS slope at most
5 MB/hour, agent CPU at most 5 % of a core, checkpoint age at most 10 s throughout).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agent.bench.blotter import fixture_blotter

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
TARGETS = {"agent_rss_slope_mb_per_h": 5.0, "agent_cpu_pct": 5.0, "checkpoint_age_max_s": 10.0}


@dataclass
class Sample:
    """One reading of the running agent."""

    t_s: float  # seconds since the agent started
    agent_rss_mb: float
    browser_rss_mb: float
    agent_cpu_s: float  # user + system CPU seconds of the agent process so far
    journal_bytes: int
    backlog_segments: int | None
    backlog_oldest_age_s: float | None
    checkpoint_age_s: float | None


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return out


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, grandchildren, ...)."""
    seen: list[int] = []
    todo = _children(pid)
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(_children(p))
    return seen


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB (0 when it is gone)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * PAGE_SIZE / 1e6


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (its threads included, its children not)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def tree_bytes(root: Path) -> int:
    """Bytes of the regular files under ``root``."""
    total = 0
    for p in root.rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size
        except OSError:
            continue
    return total


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) points, in value per hour."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    den = sum((t - mx) ** 2 for t, _ in points)
    if den == 0:
        return None
    return sum((t - mx) * (v - my) for t, v in points) / den * 3600


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (nearest rank) of ``values``."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _read(pid: int, home: Path, t0: float) -> Sample:
    from agent.health.client import query_status

    status = query_status(home) or {}
    backlog = status.get("ship_backlog") or {}
    checkpoint = status.get("last_checkpoint") or {}
    return Sample(
        t_s=round(time.monotonic() - t0, 1),
        agent_rss_mb=round(rss_mb(pid), 1),
        browser_rss_mb=round(sum(rss_mb(p) for p in descendants(pid)), 1),
        agent_cpu_s=round(cpu_seconds(pid), 2),
        journal_bytes=tree_bytes(home / "journals"),
        backlog_segments=backlog.get("segments"),
        backlog_oldest_age_s=backlog.get("oldest_age_s"),
        checkpoint_age_s=checkpoint.get("age_s"),
    )


def _start_agent(home: Path, url: str, seconds: float, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONTAPE_")}
    env["SESSIONTAPE_AGENT_START_PAGES"] = json.dumps([url])
    env["PYTHONFAULTHANDLER"] = "1"  # a crash in native code leaves the threads' stacks
    cmd = [sys.executable, "-m", "agent.cli.main", "--home", str(home), "agent", "--headless"]
    cmd += ["--run-seconds", str(seconds)]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


def _summary(samples: list[Sample], cells: int, minutes: float) -> dict[str, Any]:
    recording = [s for s in samples if s.browser_rss_mb > 0]
    end = recording[-1].t_s if recording else 0.0
    warm = min(max(60.0, end / 5), end / 2)
    steady = [s for s in recording if s.t_s >= warm]
    first, last = (steady[0], steady[-1]) if steady else (None, None)
    span = (last.t_s - first.t_s) if first and last else 0.0
    cp = [s.checkpoint_age_s for s in steady if s.checkpoint_age_s is not None]
    lag = [s.backlog_oldest_age_s for s in steady if s.backlog_oldest_age_s is not None]
    out: dict[str, Any] = {
        "minutes": minutes,
        "cells": cells,
        "samples": len(samples),
        "samples_without_browser": len(samples) - len(recording),
        "warmup_s": round(warm, 1),
        "agent_rss_mb_last": recording[-1].agent_rss_mb if recording else None,
        "agent_rss_slope_mb_per_h": _round(
            slope_per_hour([(s.t_s, s.agent_rss_mb) for s in steady])
        ),
        "browser_rss_mb_last": recording[-1].browser_rss_mb if recording else None,
        "browser_rss_slope_mb_per_h": _round(
            slope_per_hour([(s.t_s, s.browser_rss_mb) for s in steady])
        ),
        "agent_cpu_pct": _round(
            100 * (last.agent_cpu_s - first.agent_cpu_s) / span if first and last and span else None
        ),
        "journal_mb_per_h": _round(
            (last.journal_bytes - first.journal_bytes) / span * 3600 / 1e6
            if first and last and span
            else None
        ),
        "checkpoint_age_max_s": _round(max(cp) if cp else None),
        "checkpoint_age_p95_s": _round(percentile(cp, 0.95)),
        "checkpoint_age_missing_samples": len(steady) - len(cp),
        "ship_backlog_oldest_age_max_s": _round(max(lag) if lag else None),
        "ship_backlog_segments_max": max(
            (s.backlog_segments for s in steady if s.backlog_segments is not None), default=None
        ),
    }
    out["targets"] = {
        k: {"target": v, "met": out[k] is not None and out[k] <= v} for k, v in TARGETS.items()
    }
    out["targets"]["checkpoint_age_max_s"]["met"] &= out["checkpoint_age_missing_samples"] == 0
    return out


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


async def _soak(minutes: float, cells: int, sample_s: float, work: Path) -> dict[str, Any]:
    home = work / "home"
    async with fixture_blotter(cells) as blotter:
        seconds = minutes * 60
        proc = _start_agent(home, blotter.url, seconds, work / "agent.log")
        t0 = time.monotonic()
        samples: list[Sample] = []
        try:
            while proc.poll() is None and time.monotonic() - t0 < seconds:
                await asyncio.sleep(sample_s)
                if proc.poll() is None:
                    samples.append(await asyncio.to_thread(_read, proc.pid, home, t0))
            code = await asyncio.to_thread(proc.wait, 120)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
    result = _summary(samples, cells, minutes)
    result["agent_exit"] = code
    result["agent_ran_s"] = samples[-1].t_s if samples else 0.0
    if code != 0:
        result["agent_log_tail"] = (work / "agent.log").read_text(errors="replace")[-6000:]
    result["series"] = [asdict(s) for s in samples]
    return result


def run_bench(
    minutes: float, cells: int, sample_s: float, keep: Path | None = None
) -> dict[str, Any]:
    """Run the soak; the summary with its samples (``series``). With ``keep`` (a new
    directory) the agent's home and log stay there, to verify or inspect afterwards."""
    if keep is not None:
        keep.mkdir(parents=True)
        return asyncio.run(_soak(minutes, cells, sample_s, keep))
    with tempfile.TemporaryDirectory(prefix="st-soak-") as tmp:
        return asyncio.run(_soak(minutes, cells, sample_s, Path(tmp)))


def iter_lines(result: dict[str, Any]) -> Iterator[str]:
    """The human summary."""
    yield (
        f"soak: {result['minutes']} min, {result['cells']} cells per update, "
        f"{result['samples']} samples (warm-up {result['warmup_s']} s excluded)"
    )
    for key in (
        "agent_rss_mb_last",
        "agent_rss_slope_mb_per_h",
        "browser_rss_mb_last",
        "browser_rss_slope_mb_per_h",
        "agent_cpu_pct",
        "journal_mb_per_h",
        "checkpoint_age_p95_s",
        "checkpoint_age_max_s",
        "ship_backlog_oldest_age_max_s",
        "ship_backlog_segments_max",
    ):
        target = result["targets"].get(key)
        mark = "" if target is None else f"  (target <= {target['target']}: "
        mark += "" if target is None else ("met)" if target["met"] else "NOT MET)")
        yield f"  {key:32} {result[key]}{mark}"
    if result["agent_exit"] != 0:
        yield f"the agent exited {result['agent_exit']} after {result['agent_ran_s']} s:"
        yield result["agent_log_tail"]
