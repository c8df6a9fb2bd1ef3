"""The second peer of ``sessiontape bench capture``: Playwright tracing.

``context.tracing.start(screenshots=False, snapshots=True)`` on a fresh browser context before
the page opens, the workload measured like every arm, then ``tracing.stop(path=...)`` writes
the trace zip. Its bytes are the zip's size over the whole traced run (start to stop): the zip
is written once at the end, so no per-window share of it can be measured.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from agent.bench.blotter import Blotter
from agent.bench.busy import measure_busy
from agent.bench.capture_arms import ArmRun, Marks, open_page, unrecorded
from agent.capture.config import CaptureConfig
from agent.errors import CaptureError

TRACING_NAME = "Playwright tracing"


async def run_tracing(
    cfg: CaptureConfig, blotter: Blotter, seconds: float, warmup: float
) -> ArmRun:
    """The workload under Playwright tracing (DOM snapshots, no screenshots), fresh browser."""
    marks = Marks()
    with tempfile.TemporaryDirectory(prefix="sessiontape-trace-") as tmp:
        zip_path = Path(tmp) / "trace.zip"
        async with unrecorded(cfg) as ctx:
            started = time.monotonic()
            await ctx.tracing.start(screenshots=False, snapshots=True)
            page = await ctx.new_page()
            await open_page(blotter, page)
            cdp = await ctx.new_cdp_session(page)
            sample = await measure_busy(
                cdp, seconds=seconds, warmup_s=warmup, counter=blotter.counter, probe=marks.probe
            )
            traced_s = time.monotonic() - started
            updates = int(await page.evaluate(blotter.counter))
            await ctx.tracing.stop(path=zip_path)
        if not zip_path.is_file():
            raise CaptureError(f"{TRACING_NAME} wrote no trace zip")
        size = zip_path.stat().st_size
    extra = {"zip_bytes": size, "traced_s": traced_s, "traced_updates": updates}
    return ArmRun(sample, size, traced_s, updates, extra=extra)
