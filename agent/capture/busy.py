"""Page main-thread busy time per update: the capture overhead measure (CHROMIUM.md method).

busy per update = delta(CDP ``Performance.getMetrics`` TaskDuration) / delta(updates the page
counted itself), over a window after a warm-up. Recording vs not recording on the same page
gives the overhead ratio. Used by ``recorder_js/bench_busy.py`` and ``sessiontape bench capture``.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from agent.errors import CaptureError


class CDPLike(Protocol):
    """The one method used from a Playwright ``CDPSession`` (or a raw CDP client)."""

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a CDP command and return its result."""
        ...


@dataclass(frozen=True, slots=True)
class BusySample:
    """One measured window."""

    task_ms: float
    updates: int
    wall_ms: float
    probe_delta: float | None = None

    @property
    def busy_ms_per_update(self) -> float:
        """Main-thread busy milliseconds per page update (inf when no update ran)."""
        return self.task_ms / self.updates if self.updates else float("inf")

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view (rounded)."""
        d = asdict(self)
        d["busy_ms_per_update"] = round(self.busy_ms_per_update, 4)
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in d.items()}


async def task_duration_ms(cdp: CDPLike) -> float:
    """The renderer main thread's cumulative TaskDuration in milliseconds."""
    res = await cdp.send("Performance.getMetrics")
    for m in res.get("metrics", []):
        if m.get("name") == "TaskDuration":
            return float(m["value"]) * 1000.0
    raise CaptureError("Performance.getMetrics returned no TaskDuration")


async def page_counter(cdp: CDPLike, expression: str) -> int:
    """An integer the page maintains (e.g. ``window.__updates``), read in its main world."""
    res = await cdp.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
    value = res.get("result", {}).get("value")
    if not isinstance(value, int | float):
        raise CaptureError(f"page counter {expression!r} is not a number: {value!r}")
    return int(value)


async def measure_busy(
    cdp: CDPLike,
    *,
    seconds: float = 4.0,
    warmup_s: float = 1.0,
    counter: str = "window.__updates",
    time_domain: str = "threadTicks",
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] | None = None,
    probe: Callable[[], Awaitable[float]] | None = None,
) -> BusySample:
    """Measure busy time per update over ``seconds`` after ``warmup_s``.

    ``time_domain="threadTicks"`` counts the main thread's CPU time, so other processes
    competing for the cores do not inflate it; ``"timeTicks"`` counts wall time in tasks.
    ``probe`` (e.g. the recorder's own cumulative work time) is read at both ends of the
    window too; its difference is ``probe_delta``.
    """
    clock = monotonic or asyncio.get_running_loop().time
    await cdp.send("Performance.enable", {"timeDomain": time_domain})
    await sleep(warmup_s)
    p0 = await probe() if probe else 0.0
    t0, u0, w0 = await task_duration_ms(cdp), await page_counter(cdp, counter), clock()
    await sleep(seconds)
    t1, u1, w1 = await task_duration_ms(cdp), await page_counter(cdp, counter), clock()
    p1 = await probe() if probe else 0.0
    return BusySample(
        task_ms=t1 - t0,
        updates=u1 - u0,
        wall_ms=(w1 - w0) * 1000.0,
        probe_delta=(p1 - p0) if probe else None,
    )


def summarize(baseline: Sequence[BusySample], recorded: Sequence[BusySample]) -> dict[str, Any]:
    """Medians of both series and their ratio (recorded / baseline)."""
    if not baseline or not recorded:
        raise CaptureError("need at least one baseline and one recorded sample")
    b = statistics.median(s.busy_ms_per_update for s in baseline)
    r = statistics.median(s.busy_ms_per_update for s in recorded)
    return {
        "baseline_ms_per_update": round(b, 4),
        "recorded_ms_per_update": round(r, 4),
        "ratio": round(r / b, 3) if b else None,
        "baseline_updates": [s.updates for s in baseline],
        "recorded_updates": [s.updates for s in recorded],
        "runs": len(recorded),
    }
