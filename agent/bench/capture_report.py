"""Medians, targets and the printed table of ``sessiontape bench capture``; the machine."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from collections.abc import Iterator
from typing import Any

from agent.bench.capture_arms import ArmRun
from agent.bench.workloads import WORKLOADS as STATIC_PAGES

# The targets the table shows: busy ratio (recording / none) per workload, our journal bytes
# against rrweb's raw JSON on the blotter, and agent CPU at 1,000 blotter cells per update
# (checked at the rate the page updates with nothing recording it, measured in the same run: a
# recorder or a loaded machine that slows the page would otherwise flatter the agent).
TARGETS: dict[str, dict[str, float]] = {
    "blotter": {"busy_ratio": 1.45, "rrweb_raw_over_ours": 25.0},
    "aggrid": {"busy_ratio": 1.2},
    "form": {"busy_ratio": 1.05},
    "blotter_1000": {"agent_cpu_pct": 5.0},
}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _chromium(executable: str) -> str:
    from agent.capture.config import find_executable
    from agent.errors import CaptureError

    try:
        out = subprocess.run(
            [find_executable(executable), "--version"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.SubprocessError, CaptureError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def machine(executable: str = "") -> dict[str, Any]:
    """What the figures were measured on (the load average moves them: it is noted)."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "chromium": _chromium(executable),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def base_rate(runs: list[ArmRun]) -> float | None:
    """Updates per second of the page with nothing recording it (the ``none`` arm's median
    over the runs), or None when no window was measured."""
    rates = [r.sample.updates / (r.sample.wall_ms / 1000.0) for r in runs if r.sample.wall_ms > 0]
    return _median(rates) if rates else None


def _per_update(runs: list[ArmRun], rate: float | None) -> dict[str, Any]:
    """Bytes and agent CPU per page update, and both at the unrecorded page's ``rate``."""
    out: dict[str, Any] = {}
    if all(r.bytes_per_update is not None for r in runs):
        per = _median([r.bytes_per_update or 0.0 for r in runs])
        out["bytes_per_update"] = round(per, 1)
        if rate:
            out["bytes_per_hour_at_base_rate"] = int(per * rate * 3600)
    cpu = [r.agent_cpu_ms / r.sample.updates for r in runs if r.agent_cpu_ms and r.sample.updates]
    if cpu:
        out["agent_cpu_ms_per_update"] = round(_median(cpu), 4)
        if rate:
            out["agent_cpu_pct_at_base_rate"] = round(_median(cpu) * rate / 10.0, 2)
    return out


def arm_summary(
    runs: list[ArmRun],
    base_ms: float | None,
    base_runs: list[float] | None = None,
    rate: float | None = None,
) -> dict[str, Any]:
    """One arm's medians over the runs (busy ratio against the ``none`` median; per run
    against the same run's ``none``); per-hour figures also at ``rate``, the unrecorded
    page's updates per second."""
    ms = _median([r.sample.busy_ms_per_update for r in runs])
    out: dict[str, Any] = {
        "ms_per_update": round(ms, 4),
        "busy_ratio": round(ms / base_ms, 3) if base_ms else None,
        "updates": [r.sample.updates for r in runs],
        "ms_per_update_runs": [round(r.sample.busy_ms_per_update, 4) for r in runs],
    }
    if rate:
        out["updates_per_s_base"] = round(rate, 2)
    if base_runs:
        out["busy_ratio_runs"] = [
            round(r.sample.busy_ms_per_update / b, 3) for r, b in zip(runs, base_runs, strict=False)
        ]
    out.update(_per_update(runs, rate))
    per_hour = [r.bytes_per_hour for r in runs]
    if all(v is not None for v in per_hour):
        out["bytes_per_hour"] = int(_median([float(v) for v in per_hour if v is not None]))
        out["stored_bytes"] = int(_median([float(r.stored_bytes or 0) for r in runs]))
        out["stored_s"] = round(_median([float(r.stored_s or 0) for r in runs]), 3)
    cpu = [r.agent_cpu_pct for r in runs if r.agent_cpu_pct is not None]
    if cpu:
        out["agent_cpu_pct"] = round(_median(cpu), 2)
        out["agent_cpu_pct_runs"] = [round(x, 2) for x in cpu]
    pcts = [r.changes_captured_pct for r in runs if r.changes_captured_pct is not None]
    if pcts:
        out["changes_captured_pct"] = round(_median(pcts), 3)
    for key in runs[0].extra:
        vals = [r.extra.get(key) for r in runs]
        if all(isinstance(v, int | float) for v in vals):
            out[key] = round(_median([float(v) for v in vals if v is not None]), 3)
    return out


def _met(key: str, figures: dict[str, float | None]) -> dict[str, bool | None]:
    """Each target of the case: met (True/False), or None when its figure is missing."""
    out: dict[str, bool | None] = {}
    for name, limit in TARGETS.get(key, {}).items():
        value = figures.get(name)
        if value is None:
            out[name] = None
        elif name == "rrweb_raw_over_ours":
            out[name] = value >= limit
        else:
            out[name] = value <= limit
    return out


def summarize_case(
    key: str, workload: str, cells: int, per_arm: dict[str, list[ArmRun]]
) -> dict[str, Any]:
    """Medians of one case's arms, the storage ratio against rrweb, and its targets."""
    base_runs = [r.sample.busy_ms_per_update for r in per_arm["none"]]
    base = _median(base_runs)
    rate = base_rate(per_arm["none"]) if workload in STATIC_PAGES else None
    arms = {a: arm_summary(runs, base, base_runs, rate) for a, runs in per_arm.items()}
    del arms["none"]["busy_ratio"], arms["none"]["busy_ratio_runs"]
    ours = arms["sessiontape"].get("bytes_per_update")
    theirs = arms.get("rrweb", {}).get("bytes_per_update")
    ratio = round(theirs / ours, 2) if ours and theirs else None
    figures: dict[str, float | None] = {
        "busy_ratio": arms["sessiontape"]["busy_ratio"],
        "rrweb_raw_over_ours": ratio,
        "agent_cpu_pct": arms["sessiontape"].get("agent_cpu_pct_at_base_rate"),
    }
    return {
        "workload": workload,
        "cells": cells if workload in ("blotter", "demo") else None,
        "arms": arms,
        "rrweb_raw_over_ours": ratio,
        "targets": TARGETS.get(key, {}),
        "met": _met(key, figures),
    }


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _cpu(a: dict[str, Any]) -> str:
    if a.get("agent_cpu_pct") is None:
        return "-"
    return f"{a['agent_cpu_pct']:.1f} ({_cell(a.get('agent_cpu_pct_at_base_rate'), '.1f')})"


def _target(case: dict[str, Any], arm: str, name: str, prefix: str) -> str:
    limit = case["targets"].get(name)
    if arm != "sessiontape" or limit is None:
        return ""
    return f"{prefix} {limit:g}"


def iter_table(result: dict[str, Any]) -> Iterator[str]:
    """One block per workload: a row per arm, then the storage ratio against rrweb."""
    m = result["machine"]
    yield (
        f"machine: {m['cpu']}, {m['cores']} cores, {m['os']}, {m['chromium']}; "
        f"load average {m['load_avg_start'][0]} -> {m['load_avg_end'][0]}"
    )
    yield (
        f"runs: {result['runs']} interleaved (medians), window {result['seconds']:g} s "
        f"after {result['warmup_s']:g} s warm-up, each arm in a fresh browser"
    )
    yield (
        f"{'workload':<14} {'arm':<12} {'ms/update':>9} {'ratio':>6} {'target':>7} "
        f"{'MB/hour':>8} {'B/update':>9} {'agent CPU %':>11} {'changes %':>9}"
    )
    for key in result.get("order") or list(result["workloads"]):
        case = result["workloads"][key]
        label = case["workload"] + (f" ({case['cells']})" if case["cells"] else "")
        arms = [a for a in result["arms"] if a in case["arms"]]
        for i, arm in enumerate(arms):
            a = case["arms"][arm]
            mb = a.get("bytes_per_hour")
            yield (
                f"{label if i == 0 else '':<14} {arm:<12} {a['ms_per_update']:>9.3f} "
                f"{_cell(a.get('busy_ratio'), '.2f'):>6} "
                f"{_target(case, arm, 'busy_ratio', '<='):>7} "
                f"{_cell(None if mb is None else mb / 1e6, '.2f'):>8} "
                f"{_cell(a.get('bytes_per_update'), '.0f'):>9} "
                f"{_cpu(a):>11} "
                f"{_cell(a.get('changes_captured_pct'), '.2f'):>9}"
            )
        if case["rrweb_raw_over_ours"] is not None:
            want = case["targets"].get("rrweb_raw_over_ours")
            yield (
                f"{'':<14} storage per update: rrweb raw JSON / our journal = "
                f"{case['rrweb_raw_over_ours']:g}x" + (f" (target >= {want:g}x)" if want else "")
            )
        cpu_target = case["targets"].get("agent_cpu_pct")
        if cpu_target is not None:
            yield (
                f"{'':<14} agent CPU target <= {cpu_target:g} % of a core "
                "(in brackets: at the rate the page updates unrecorded)"
            )
