"""Blotter busy-time ratio: no recorder vs ours vs the named peer (rrweb 2.2.2), one run.

    python recorder_js/bench_busy.py --runs 6 --seconds 4 [--cells 200 1000] [--no-peer]

The peer arm needs rrweb from ``recorder_js/node_modules`` (run ``npm ci`` in recorder_js
first). It is injected like ours (isolated world ``__sessiontape``, private binding, one JSON
batch per 100 ms: see agent/capture/peer.py).

Prints JSON per cells-per-update: for each arm (``none``, ``sessiontape``, ``rrweb``) the median
page main-thread busy ms per update (agent/capture/busy.py), its ratio to ``none``, the data
rate (bytes received through the binding during the measured window). Arms are interleaved,
each run in a fresh browser, and the arm order rotates between runs.

Completeness is measured once per size and arm, on a bounded page (``?updates=K``):
``changes_captured_pct`` is the share of the page's cell changes whose value the stream shows,
next to ``changes_surviving_update_pct``, the share not overwritten within the same update (all
a recorder that serializes the DOM as it stands after each update, like rrweb, can show). K
keeps the page inside its RNG's first cycle: the blotter's generator repeats after 15824 draws,
and over a long run the repeats re-create earlier (row, col, value) triples so the set-based
measure creeps towards 100 % for any recorder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.capture.bench import _FIXTURE_LOG_JS, Cell, captured_cells  # noqa: E402
from agent.capture.bundle import WORLD_NAME  # noqa: E402
from agent.capture.busy import BusySample, measure_busy  # noqa: E402
from agent.capture.peer import (  # noqa: E402
    PEER_NAME,
    events_of_ours,
        peer_events,
    peer_source,
    surviving_pct,
)
from agent.errors import CaptureError  # noqa: E402
from tests.capture.harness import Recorded, browser, serve_pages, start_recording  # noqa: E402

ARMS = ("none", "sessiontape", "rrweb")


# The fixture's LCG (tests/fixtures/pages/blotter.html, float arithmetic in JS) first repeats a
# seed at draw 15824; each cell change takes 3 draws.
RNG_UNIQUE_DRAWS = 15824


@dataclass
class Run:
    sample: BusySample
    window_bytes: int
    self_ms: float


async def _start_peer(r: Recorded) -> None:
    """rrweb in the recorder's world with its own private binding (what ours gets)."""
    binding = "__st_" + secrets.token_hex(8)
    r.rec.binding = binding

    def on_binding(params: dict[str, Any]) -> None:
        if params.get("name") == binding:
            r.rec.messages.append(str(params["payload"]))

    r.cdp.on("Runtime.bindingCalled", on_binding)
    await r.cdp.send("Runtime.addBinding", {"name": binding, "executionContextName": WORLD_NAME})
    await r.cdp.send("Page.addScriptToEvaluateOnNewDocument", {
        "source": peer_source(binding), "worldName": WORLD_NAME, "runImmediately": True})


async def one(base: str, cells: int, arm: str, seconds: float) -> Run:
    async with browser() as b:
        ctx = await b.new_context(viewport={"width": 1280, "height": 900})
        r = await start_recording(ctx, record=arm == "sessiontape")
        if arm == "rrweb":
            await _start_peer(r)
        await r.page.goto(f"{base}/blotter.html?cells={cells}", wait_until="load")
        marks: list[int] = []  # bytes received at the window's start and end

        async def probe() -> float:
            marks.append(sum(map(len, r.rec.messages)))
            if arm != "sessiontape":
                return 0.0
            return float(await r.recorder_eval("__st_stats().work_us")) / 1000.0

        sample = await measure_busy(r.cdp, seconds=seconds,
                                    probe=probe if arm != "none" else None)
        if arm == "none":
            return Run(sample, 0, 0.0)
        if marks[1] == marks[0]:
            raise CaptureError(f"{arm} sent nothing during the measured window")
        return Run(sample, marks[1] - marks[0], sample.probe_delta or 0.0)


async def completeness(base: str, cells: int, arm: str) -> dict[str, Any]:
    """Every change of a bounded blotter run vs the cell values the arm's stream shows."""
    k = max(1, RNG_UNIQUE_DRAWS // 3 // cells)
    async with browser() as b:
        ctx = await b.new_context(viewport={"width": 1280, "height": 900})
        r = await start_recording(ctx, record=arm == "sessiontape")
        if arm == "rrweb":
            await _start_peer(r)
        await r.page.goto(f"{base}/blotter.html?cells={cells}&updates={k}", wait_until="load")
        await r.wait_for("window.__done", timeout_s=30)
        await r.recorder_eval("(globalThis.__st_flush || globalThis.__peer_flush)()")
        await asyncio.sleep(0.6)  # the binding calls in flight arrive
        rows = await r.page.evaluate(_FIXTURE_LOG_JS, k)
    expected: list[Cell] = [(int(row), int(col), str(v)) for row, col, v in rows]
    events = (events_of_ours(r.rec.messages) if arm == "sessiontape"
              else peer_events(r.rec.messages))
    got = captured_cells(events, "grid")
    return {"changes_captured_pct": round(100.0 * sum(1 for c in expected if c in got)
                                          / len(expected), 3),
            "changes_surviving_update_pct": surviving_pct(expected, cells),
            "completeness_updates": k}


def _arm_summary(runs: list[Run], base_ms: float | None) -> dict[str, Any]:
    ms = statistics.median(x.sample.busy_ms_per_update for x in runs)
    return {
        "ms_per_update": round(ms, 4),
        "ratio": round(ms / base_ms, 3) if base_ms else None,
        "kb_per_s": round(statistics.median(
            x.window_bytes / (x.sample.wall_ms / 1000.0) / 1024.0 for x in runs), 1),
        "updates": [x.sample.updates for x in runs],
        "ms_per_update_runs": [round(x.sample.busy_ms_per_update, 3) for x in runs],
    }


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--cells", type=int, nargs="+", default=[200, 1000])
    ap.add_argument("--no-peer", action="store_true", help="skip the rrweb 2.2.2 arm")
    args = ap.parse_args()
    arms = [a for a in ARMS if a != "rrweb" or not args.no_peer]
    if not args.no_peer:
        try:
            peer_source("x")
        except CaptureError as exc:
            sys.exit(f"bench_busy: {exc}")
    out: dict[str, Any] = {"peer": None if args.no_peer else PEER_NAME}
    with serve_pages() as base:
        for cells in args.cells:
            runs: dict[str, list[Run]] = {a: [] for a in arms}
            for i in range(args.runs):  # interleaved, rotating order: drift hits all arms
                for arm in arms[i % len(arms):] + arms[:i % len(arms)]:
                    runs[arm].append(await one(base, cells, arm, args.seconds))
            base_ms = statistics.median(x.sample.busy_ms_per_update for x in runs["none"])
            summary: dict[str, Any] = {a: _arm_summary(runs[a], base_ms) for a in arms}
            del summary["none"]["kb_per_s"]
            for arm in arms[1:]:
                summary[arm].update(await completeness(base, cells, arm))
            # Our recorder's own main-thread time (performance.now around its callbacks).
            # Wall-clock (preemption inflates it): an upper bound on the recorder's cost.
            ours = runs["sessiontape"]
            self_ms = statistics.median(x.self_ms / max(1, x.sample.updates) for x in ours)
            summary["sessiontape"]["self_ms_per_update"] = round(self_ms, 4)
            summary["sessiontape"]["self_time_ratio"] = \
                round((base_ms + self_ms) / base_ms, 3) if base_ms else None
            summary["runs"] = args.runs
            out[f"cells_{cells}"] = summary
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
