"""``sessiontape bench capture``: what full capture costs the page, the agent and the disk, on
three workloads, against two named peers, in one interleaved run.

Workloads (:mod:`agent.bench.workloads`): the plain blotter, an AG Grid Community blotter and
an order-entry form (``demo`` and ``--url`` on request). Arms (:mod:`agent.bench.capture_arms`,
:mod:`agent.bench.tracing_peer`): ``none``, ``sessiontape`` (the full agent), ``rrweb``
(rrweb 2.2.2 alone) and ``tracing`` (Playwright tracing). Every run measures every workload
under every arm, each in a fresh browser (ours also in a fresh process:
:mod:`agent.bench.capture_child` says why); the order of workloads and of arms rotates from run
to run, so drift in the machine's load hits them all. Reported per workload, medians over the
runs: busy ms per update and its ratio to ``none`` for each arm; stored bytes per recorded
hour for each recording arm; our journal bytes against rrweb's raw JSON over the window
(``rrweb_raw_over_ours``); the agent's CPU (% of one core); the blotter's changes captured.
The blotter is also measured at ``large`` cells per update (``none`` and ``sessiontape``):
the agent CPU figure at 1,000 cells.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.bench.capture_arms import ArmRun, run_none, run_rrweb
from agent.bench.capture_child import run_isolated
from agent.bench.capture_report import machine, summarize_case
from agent.bench.peer import peer_source
from agent.bench.tracing_peer import run_tracing
from agent.bench.workloads import WORKLOADS, aggrid_js, check_names, open_workload, serve_workloads
from agent.config import Config
from agent.errors import UsageError

ARMS = ("none", "sessiontape", "rrweb", "tracing")
PEERS = ("rrweb", "tracing")


@dataclass(frozen=True, slots=True)
class Case:
    """One workload at one size, and the arms measured on it."""

    key: str
    workload: str
    cells: int
    arms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Settings:
    """How each arm runs."""

    config: Config
    home: Path
    seconds: float
    warmup: float
    url: str | None
    counter: str


def bench_config(config: Config) -> Config:
    """``config`` for the benchmark's recordings: headless, shipping to the file vault in the
    benchmark's own temporary home and asking no TSA (a configured vault or TSA must not
    receive benchmark sessions; the checkpoint stream still runs, as in the agent)."""
    return config.model_copy(
        update={
            "capture": config.capture.model_copy(update={"headless": "true"}),
            "ship": config.ship.model_copy(update={"vault_url": "", "backup_vault_url": ""}),
            "seal": config.seal.model_copy(update={"tsa_url": ""}),
        }
    )


def check_peers(peers: Sequence[str]) -> tuple[str, ...]:
    """The peer names, each once; an unknown name is a usage error."""
    for p in peers:
        if p not in PEERS:
            raise UsageError(f"unknown peer {p!r}: choose from {', '.join(PEERS)}")
    return tuple(p for p in PEERS if p in peers)


def plan(
    workloads: Sequence[str], peers: Sequence[str], cells: int, large: int | None
) -> list[Case]:
    """The cases of one run: every workload with every arm, and the large blotter (agent CPU
    at ``large`` cells: ``none`` and ``sessiontape`` only)."""
    arms = ("none", "sessiontape", *peers)
    cases = [Case(w, w, cells, arms) for w in workloads]
    if large and large != cells and any(w in ("blotter", "demo") for w in workloads):
        name = "blotter" if "blotter" in workloads else "demo"
        cases.append(Case(f"{name}_{large}", name, large, ("none", "sessiontape")))
    return cases


def _rotated(items: Sequence[Any], i: int) -> list[Any]:
    k = i % len(items)
    return [*items[k:], *items[:k]]


async def _run_arm(arm: str, s: Settings, blotter: Any, case: Case, base: str) -> ArmRun:
    cap = s.config.capture
    if arm == "none":
        return await run_none(cap, blotter, s.seconds, s.warmup)
    if arm == "sessiontape":  # in a process of its own: its CPU time is the agent's alone
        spec = {
            "config": s.config.model_dump(mode="json"),
            "workload": case.workload,
            "base": base,
            "cells": case.cells,
            "url": s.url,
            "counter": s.counter,
            "seconds": s.seconds,
            "warmup": s.warmup,
            "home": str(s.home),
        }
        return await run_isolated(spec)
    if arm == "rrweb":
        return await run_rrweb(cap, blotter, s.seconds, s.warmup)
    return await run_tracing(cap, blotter, s.seconds, s.warmup)


async def interleaved(
    cases: list[Case], runs: int, s: Settings, aggrid: Path | None
) -> dict[str, dict[str, list[ArmRun]]]:
    """Every case under every one of its arms, ``runs`` times, rotating both orders."""
    out: dict[str, dict[str, list[ArmRun]]] = {c.key: {a: [] for a in c.arms} for c in cases}
    with serve_workloads(aggrid) as base:
        for i in range(runs):
            for case in _rotated(cases, i):
                async with open_workload(case.workload, base, case.cells, s.url, s.counter) as b:
                    for arm in _rotated(case.arms, i):
                        out[case.key][arm].append(await _run_arm(arm, s, b, case, base))
    return out


async def bench_capture(
    config: Config,
    home: Path,
    *,
    workloads: Sequence[str] = WORKLOADS,
    peers: Sequence[str] = PEERS,
    runs: int = 3,
    cells: int = 200,
    seconds: float = 4.0,
    warmup: float = 1.0,
    large: int | None = 1000,
    url: str | None = None,
    counter: str = "window.__updates",
    aggrid: Path | None = None,
) -> dict[str, Any]:
    """Run the benchmark; one object per case under ``workloads``.

    Raises :class:`UsageError` before any run when a workload or peer is unknown, and
    :class:`CaptureError` when a peer's or AG Grid's script is not installed.
    """
    names = ["url"] if url is not None else check_names(workloads)
    chosen = check_peers(peers)
    if "rrweb" in chosen:
        peer_source("check")
    aggrid_path = aggrid_js(aggrid) if "aggrid" in names else None
    cfg = bench_config(config)
    settings = Settings(cfg, home, seconds, warmup, url, counter)
    cases = plan(names, chosen, cells, None if url else large)
    before = machine(cfg.capture.executable)
    results = await interleaved(cases, runs, settings, aggrid_path)
    after = machine(cfg.capture.executable)
    return {
        "runs": runs,
        "seconds": seconds,
        "warmup_s": warmup,
        "arms": ["none", "sessiontape", *chosen],
        "order": [c.key for c in cases],
        "machine": {**before, "load_avg_end": after["load_avg_start"]},
        "workloads": {
            c.key: summarize_case(c.key, c.workload, c.cells, results[c.key]) for c in cases
        },
    }


def run_bench(config: Config, home: Path, **kwargs: Any) -> dict[str, Any]:
    """Synchronous wrapper for the CLI."""
    return asyncio.run(bench_capture(config, home, **kwargs))


def iter_lines(result: dict[str, Any]) -> Iterator[str]:
    """The human-readable table: one block per workload, one row per arm."""
    from agent.bench.capture_report import iter_table

    yield from iter_table(result)
