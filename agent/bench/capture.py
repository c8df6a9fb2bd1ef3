"""``sessiontape bench capture``: what full capture costs the page, the agent and the disk.

For each run the same blotter is driven twice in a fresh browser - once without capture
(baseline) and once under a full :class:`CaptureSession` - and the page's main-thread busy
time per update is measured by :func:`agent.bench.busy.measure_busy`. Reported medians:

* ``busy_ratio``: recorded / baseline busy milliseconds per update;
* ``changes_captured_pct``: share of the page's cell changes (from its deterministic change
  log) whose value appears in the captured DOM stream for that cell (the recorder streams
  every value a text node took, in order, so a missing value is a real loss);
* ``changes_in_journal_pct`` (demo app): the same, counting also the raw tick data in the
  captured WebSocket frames - what a replay can be validated against;
* ``agent_cpu_pct``: this process's CPU time / wall time during the recorded window
  (% of one core);
* ``bytes_per_hour``: captured event bytes (canonical JSON of each event) per hour;
* ``peer`` (with ``peer=True``): the named peer, rrweb 2.2.2 alone, injected like our recorder
  (isolated world, private binding, one JSON batch per 100 ms; :mod:`agent.bench.peer`) and
  measured in the same interleaved runs: its busy ms per update, ``busy_ratio`` vs the same
  baseline, ``changes_captured_pct`` and ``binding_bytes_per_hour`` (the JSON it sent).

The blotter is the demo app's ``/app?cells=N`` (logged in), or the static page
``agent/bench/pages/blotter.html`` when the demo app is not available, or ``--url``
(busy time and bytes only: an arbitrary page has no change log).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
from playwright.async_api import BrowserContext, CDPSession, Page, async_playwright

from agent.bench.blotter import (
    Blotter,
    captured_cells,
    open_blotter,
    share_pct,
    ws_tick_cells,
)
from agent.bench.blotter import Page as BlotterPage
from agent.bench.busy import BusySample, measure_busy
from agent.bench.peer import PEER_NAME, peer_events, peer_source
from agent.capture.bundle import WORLD_NAME
from agent.capture.config import CaptureConfig, find_executable
from agent.capture.session import CaptureSession
from agent.clock import SystemClock
from agent.errors import CaptureError
from agent.events import Event


class _KeepSink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def append_many(self, events: Sequence[Event]) -> None:
        self.events.extend(events)


def event_bytes(events: Sequence[Event]) -> int:
    """Bytes of the events as JSON records (what the journal compresses and seals)."""
    return sum(
        len(
            orjson.dumps(
                {
                    "k": e.kind,
                    "p": e.payload,
                    "t": e.t_utc_ns,
                    "m": e.t_mono_ns,
                    "pg": e.page,
                    "f": e.frame,
                }
            )
        )
        for e in events
    )


# -- one run ------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def _unrecorded(cfg: CaptureConfig) -> AsyncIterator[BrowserContext]:
    """The same Chromium binary, not recorded (Playwright drives it): the baseline and the
    rrweb peer run here."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=find_executable(cfg.executable),
            headless=True,
            args=["--disable-quic", *cfg.extra_args],
        )
        try:
            yield await browser.new_context(
                viewport={"width": cfg.viewport_width, "height": cfg.viewport_height}
            )
        finally:
            await browser.close()


async def _baseline(cfg: CaptureConfig, blotter: Blotter, seconds: float) -> BusySample:
    async with _unrecorded(cfg) as ctx:
        page = await ctx.new_page()
        await _open(blotter, page)
        cdp = await ctx.new_cdp_session(page)
        return await measure_busy(cdp, seconds=seconds, counter=blotter.counter)


async def _inject_peer(cdp: CDPSession, messages: list[str]) -> None:
    """rrweb 2.2.2 in the recorder's isolated world, shipping through a private binding."""
    binding = "__st_" + secrets.token_hex(8)

    def on_binding(params: dict[str, Any]) -> None:
        if params.get("name") == binding:
            messages.append(str(params["payload"]))

    cdp.on("Runtime.bindingCalled", on_binding)
    await cdp.send("Page.enable")
    await cdp.send("Runtime.enable")
    await cdp.send("Runtime.addBinding", {"name": binding, "executionContextName": WORLD_NAME})
    await cdp.send(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": peer_source(binding), "worldName": WORLD_NAME, "runImmediately": True},
    )


async def _open(blotter: Blotter, page: BlotterPage) -> None:
    await blotter.prepare(page)
    if blotter.name != "demo":
        await page.goto(blotter.url, wait_until="domcontentloaded")


async def _peer(cfg: CaptureConfig, blotter: Blotter, seconds: float) -> dict[str, Any]:
    """The same page recorded by rrweb 2.2.2 alone, through a CDP session of its own."""
    messages: list[str] = []
    marks: list[int] = []  # bytes received at the window's start and end
    async with _unrecorded(cfg) as ctx:
        page: Page = await ctx.new_page()
        cdp = await ctx.new_cdp_session(page)
        await _inject_peer(cdp, messages)
        await _open(blotter, page)

        async def probe() -> float:
            marks.append(sum(map(len, messages)))
            return 0.0

        sample = await measure_busy(cdp, seconds=seconds, counter=blotter.counter, probe=probe)
        updates = int(await page.evaluate(blotter.counter))
        expected = await blotter.changes(page, updates) if blotter.changes else None
        await asyncio.sleep(0.5)  # the last batches (one per 100 ms) arrive
    if marks[1] == marks[0]:
        raise CaptureError(f"{PEER_NAME} sent nothing during the measured window")
    out: dict[str, Any] = {
        "sample": sample,
        "changes_captured_pct": None,
        "binding_bytes_per_hour": int((marks[1] - marks[0]) * 3600 / (sample.wall_ms / 1000)),
    }
    if expected and blotter.table_id is not None:
        out["changes_captured_pct"] = share_pct(
            expected, captured_cells(peer_events(messages), blotter.table_id)
        )
    return out


def _completeness(
    blotter: Blotter, events: list[Event], expected: list[Any] | None
) -> dict[str, Any]:
    """Changes captured (and, on the demo app, also present as raw tick data)."""
    if expected is None or blotter.table_id is None:
        return {}
    got = captured_cells(events, blotter.table_id)
    out: dict[str, Any] = {
        "changes_captured_pct": share_pct(expected, got) if expected else None,
        "changes_expected": len(expected),
    }
    if blotter.name == "demo" and expected:
        out["changes_in_journal_pct"] = share_pct(expected, ws_tick_cells(events) | got)
    return out


async def _recorded(
    cfg: CaptureConfig, blotter: Blotter, seconds: float, home: Path
) -> dict[str, Any]:
    sink = _KeepSink()
    session = CaptureSession(cfg, sink, SystemClock(), home, headless=True, relaunch=False)
    await session.start(None)
    try:
        page = session.page
        await _open(blotter, page)
        cdp = page  # the page's own CDP session on the agent's pipe
        cpu0, wall0, mono0 = time.process_time(), time.monotonic(), time.monotonic_ns()
        sample = await measure_busy(cdp, seconds=seconds, counter=blotter.counter)
        cpu1, wall1, mono1 = time.process_time(), time.monotonic(), time.monotonic_ns()
        updates = int(await page.evaluate(blotter.counter))
        expected = await blotter.changes(page, updates) if blotter.changes else None
    finally:
        await session.stop()
    window = [e for e in sink.events if mono0 <= e.t_mono_ns <= mono1]
    return {
        "sample": sample,
        "agent_cpu_pct": 100.0 * (cpu1 - cpu0) / (wall1 - wall0),
        "bytes_per_hour": int(event_bytes(window) * 3600 / ((mono1 - mono0) / 1e9)),
        "changes_captured_pct": None,
        "events": len(sink.events),
        **_completeness(blotter, sink.events, expected),
    }


async def _one_size(
    cfg: CaptureConfig,
    cells: int,
    runs: int,
    seconds: float,
    home: Path,
    url: str | None,
    counter: str,
    fixture: bool,
    peer: bool = False,
) -> dict[str, Any]:
    base: list[BusySample] = []
    rec: list[dict[str, Any]] = []
    peers: list[dict[str, Any]] = []
    for _ in range(runs):
        async with open_blotter(cells, url, counter, fixture) as blotter:
            base.append(await _baseline(cfg, blotter, seconds))
            rec.append(await _recorded(cfg, blotter, seconds, home))
            if peer:
                peers.append(await _peer(cfg, blotter, seconds))
            name = blotter.name
    return _size_summary(name, cells, runs, seconds, base, rec, peers)


def _size_summary(
    name: str,
    cells: int,
    runs: int,
    seconds: float,
    base: list[BusySample],
    rec: list[dict[str, Any]],
    peers: list[dict[str, Any]],
) -> dict[str, Any]:
    """Medians over the runs of one size (busy ratio against the same runs' baseline)."""
    b = statistics.median(s.busy_ms_per_update for s in base)
    r = statistics.median(x["sample"].busy_ms_per_update for x in rec)
    pcts = [x["changes_captured_pct"] for x in rec if x["changes_captured_pct"] is not None]
    return {
        "page": name,
        "cells": cells,
        "runs": runs,
        "seconds": seconds,
        "busy_ratio": round(r / b, 3) if b else None,
        "baseline_ms_per_update": round(b, 4),
        "recorded_ms_per_update": round(r, 4),
        "baseline_updates": [s.updates for s in base],
        "recorded_updates": [x["sample"].updates for x in rec],
        "changes_captured_pct": round(statistics.median(pcts), 3) if pcts else None,
        "changes_captured_pct_runs": pcts,
        "changes_in_journal_pct": _median_or_none(
            [x["changes_in_journal_pct"] for x in rec if "changes_in_journal_pct" in x]
        ),
        "agent_cpu_pct": round(statistics.median(x["agent_cpu_pct"] for x in rec), 2),
        "bytes_per_hour": int(statistics.median(x["bytes_per_hour"] for x in rec)),
        "peer": _peer_summary(peers, b) if peers else None,
    }


def _peer_summary(peers: list[dict[str, Any]], base_ms: float) -> dict[str, Any]:
    p = statistics.median(x["sample"].busy_ms_per_update for x in peers)
    return {
        "name": PEER_NAME,
        "busy_ratio": round(p / base_ms, 3) if base_ms else None,
        "ms_per_update": round(p, 4),
        "updates": [x["sample"].updates for x in peers],
        "changes_captured_pct": _median_or_none(
            [x["changes_captured_pct"] for x in peers if x["changes_captured_pct"] is not None]
        ),
        "binding_bytes_per_hour": int(
            statistics.median(x["binding_bytes_per_hour"] for x in peers)
        ),
    }


def _median_or_none(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


async def bench_capture(
    cfg: CaptureConfig,
    home: Path,
    *,
    url: str | None = None,
    runs: int = 3,
    cells: int = 200,
    seconds: float = 4.0,
    counter: str = "window.__updates",
    also_cells: int | None = 1000,
    fixture: bool = False,
    peer: bool = False,
) -> dict[str, Any]:
    """Run the benchmark; the top-level keys describe ``cells``, ``at_<N>`` the larger size."""
    cfg = cfg.model_copy(update={"headless": "true"})
    if peer:
        peer_source("check")  # fail before any run if rrweb is not installed
    result = await _one_size(cfg, cells, runs, seconds, home, url, counter, fixture, peer)
    if also_cells and url is None and also_cells != cells:
        result[f"at_{also_cells}"] = await _one_size(
            cfg, also_cells, runs, seconds, home, url, counter, fixture, peer
        )
    return result


def run_bench(cfg: CaptureConfig, home: Path, **kwargs: Any) -> dict[str, Any]:
    """Synchronous wrapper for the CLI."""
    return asyncio.run(bench_capture(cfg, home, **kwargs))


def iter_lines(result: dict[str, Any], runs: int, seconds: float) -> Iterator[str]:
    """The human-readable table: one row per size, the peer's row under ours."""
    rows = [result] + [v for k, v in result.items() if k.startswith("at_")]
    yield f"page: {result['page']}  runs: {runs}  window: {seconds:g} s"
    yield (
        f"{'cells':>6} {'busy ratio':>10} {'base ms':>8} {'rec ms':>8} "
        f"{'changes %':>9} {'agent CPU %':>11} {'MB/hour':>9}"
    )
    for r in rows:
        pct = "-" if r["changes_captured_pct"] is None else f"{r['changes_captured_pct']:.2f}"
        yield (
            f"{r['cells']:>6} {r['busy_ratio']:>10} {r['baseline_ms_per_update']:>8} "
            f"{r['recorded_ms_per_update']:>8} {pct:>9} {r['agent_cpu_pct']:>11} "
            f"{r['bytes_per_hour'] / 1e6:>9.1f}"
        )
        p = r.get("peer")
        if p:
            ppct = "-" if p["changes_captured_pct"] is None else f"{p['changes_captured_pct']:.2f}"
            yield (
                f"{'':>6} {p['busy_ratio']:>10} {r['baseline_ms_per_update']:>8} "
                f"{p['ms_per_update']:>8} {ppct:>9} {'-':>11} "
                f"{p['binding_bytes_per_hour'] / 1e6:>9.1f}  <- {p['name']}"
            )
