"""Blotter busy-time ratio, recording vs not (a measurement, not a test).

    python recorder_js/bench_busy.py --runs 6 --seconds 4 [--cells 200 1000]

Prints JSON: per cells-per-update, median page main-thread busy ms per update without and with
the recorder (see agent/capture/busy.py for the method) and their ratio, plus the recorder's
data rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.capture.busy import BusySample, measure_busy, summarize  # noqa: E402
from tests.capture.harness import browser, serve_pages, start_recording  # noqa: E402


async def one(base: str, cells: int, record: bool,
              seconds: float) -> tuple[BusySample, int, float]:
    async with browser() as b:
        ctx = await b.new_context(viewport={"width": 1280, "height": 900})
        r = await start_recording(ctx, record=record)
        await r.page.goto(f"{base}/blotter.html?cells={cells}", wait_until="load")
        before = sum(map(len, r.rec.messages))

        async def work_ms() -> float:
            return float(await r.recorder_eval("__st_stats().work_us")) / 1000.0

        sample = await measure_busy(r.cdp, seconds=seconds, probe=work_ms if record else None)
        self_ms = sample.probe_delta or 0.0
        return sample, sum(map(len, r.rec.messages)) - before, self_ms


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--cells", type=int, nargs="+", default=[200, 1000])
    args = ap.parse_args()
    out = {}
    with serve_pages() as base:
        for cells in args.cells:
            base_s, rec_s, rates, selfs = [], [], [], []
            for _ in range(args.runs):  # interleaved: drift hits both series alike
                s, _bytes, _self = await one(base, cells, False, args.seconds)
                base_s.append(s)
                s, nbytes, self_ms = await one(base, cells, True, args.seconds)
                rec_s.append(s)
                rates.append(nbytes / (s.wall_ms / 1000.0) / 1024.0)
                selfs.append(self_ms / max(1, s.updates))
            summary = summarize(base_s, rec_s)
            summary["recorded_kb_per_s"] = round(statistics.median(rates), 1)
            # The recorder's own main-thread time (performance.now around its callbacks).
            # Wall-clock (preemption inflates it): an upper bound on the recorder's cost.
            self_ms = statistics.median(selfs)
            summary["recorder_self_ms_per_update"] = round(self_ms, 4)
            b = summary["baseline_ms_per_update"]
            summary["self_time_ratio"] = round((b + self_ms) / b, 3) if b else None
            out[f"cells_{cells}"] = summary
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
