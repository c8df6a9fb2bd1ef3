"""Page main-thread busy time per update, and ``sessiontape bench busy`` built on it.

busy per update = delta(CDP ``Performance.getMetrics`` TaskDuration) / delta(updates the page
counted itself), over a window after a warm-up. Recording vs not recording on the same page
gives the overhead ratio. :func:`measure_busy` is used here and by ``sessiontape bench capture``.

``sessiontape bench busy`` (:func:`run_busy_bench`) drives the static blotter with three arms -
no recorder (``none``), ours alone in the page (``sessiontape``, no agent behind it) and the
named peer (``rrweb``, rrweb 2.2.2 injected like ours: isolated world, private binding, one
JSON batch per 100 ms). Per cells-per-update it reports, per arm, the median busy ms per
update, its ratio to ``none`` and the data rate (bytes received through the binding during the
measured window). Arms are interleaved, each run in a fresh browser, and the arm order rotates
between runs.

Completeness is measured once per size and arm, on a bounded page (``?updates=K``):
``changes_captured_pct`` is the share of the page's cell changes whose value the stream shows,
next to ``changes_surviving_update_pct``, the share not overwritten within the same update (all
a recorder that serializes the DOM as it stands after each update, like rrweb, can show). K
keeps the page inside its RNG's first cycle: the blotter's generator repeats after 15824 draws,
and over a long run the repeats re-create earlier (row, col, value) triples so the set-based
measure creeps towards 100 % for any recorder.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from playwright.async_api import Browser

from agent.bench.blotter import FIXTURE_LOG_JS, Cell, captured_cells, share_pct
from agent.bench.harness import Recorded, browser, serve_pages, start_recording
from agent.bench.peer import PEER_NAME, events_of_ours, peer_events, peer_source, surviving_pct
from agent.capture.bundle import WORLD_NAME
from agent.errors import CaptureError

ARMS = ("none", "sessiontape", "rrweb")
# The static blotter's LCG (float arithmetic in JS) first repeats a seed at draw 15824; each
# cell change takes 3 draws.
RNG_UNIQUE_DRAWS = 15824


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


# -- sessiontape bench busy: the blotter with no recorder, ours, and the peer -----------------
@dataclass
class Run:
    """One arm's measured window."""

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
    await r.cdp.send(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": peer_source(binding), "worldName": WORLD_NAME, "runImmediately": True},
    )


async def _arm_page(b: Browser, arm: str) -> Recorded:
    """A fresh page with the arm's recorder (or none) injected."""
    ctx = await b.new_context(viewport={"width": 1280, "height": 900})
    r = await start_recording(ctx, record=arm == "sessiontape")
    if arm == "rrweb":
        await _start_peer(r)
    return r


async def one_run(base: str, cells: int, arm: str, seconds: float) -> Run:
    """One arm on the running blotter, in a fresh browser."""
    async with browser() as b:
        r = await _arm_page(b, arm)
        await r.page.goto(f"{base}/blotter.html?cells={cells}", wait_until="load")
        marks: list[int] = []  # bytes received at the window's start and end

        async def probe() -> float:
            marks.append(sum(map(len, r.rec.messages)))
            if arm != "sessiontape":
                return 0.0
            return float(await r.recorder_eval("__st_stats().work_us")) / 1000.0

        sample = await measure_busy(r.cdp, seconds=seconds, probe=probe if arm != "none" else None)
        if arm == "none":
            return Run(sample, 0, 0.0)
        if marks[1] == marks[0]:
            raise CaptureError(f"{arm} sent nothing during the measured window")
        return Run(sample, marks[1] - marks[0], sample.probe_delta or 0.0)


async def completeness(base: str, cells: int, arm: str) -> dict[str, Any]:
    """Every change of a bounded blotter run vs the cell values the arm's stream shows."""
    k = max(1, RNG_UNIQUE_DRAWS // 3 // cells)
    async with browser() as b:
        r = await _arm_page(b, arm)
        await r.page.goto(f"{base}/blotter.html?cells={cells}&updates={k}", wait_until="load")
        await r.wait_for("window.__done", timeout_s=30)
        await r.recorder_eval("(globalThis.__st_flush || globalThis.__peer_flush)()")
        await asyncio.sleep(0.6)  # the binding calls in flight arrive
        rows = await r.page.evaluate(FIXTURE_LOG_JS, k)
    expected: list[Cell] = [(int(row), int(col), str(v)) for row, col, v in rows]
    read = events_of_ours if arm == "sessiontape" else peer_events
    got = captured_cells(read(r.rec.messages), "grid")
    return {
        "changes_captured_pct": share_pct(expected, got),
        "changes_surviving_update_pct": surviving_pct(expected, cells),
        "completeness_updates": k,
    }


def _arm_summary(runs: list[Run], base_ms: float | None) -> dict[str, Any]:
    ms = statistics.median(x.sample.busy_ms_per_update for x in runs)
    return {
        "ms_per_update": round(ms, 4),
        "ratio": round(ms / base_ms, 3) if base_ms else None,
        "kb_per_s": round(
            statistics.median(x.window_bytes / (x.sample.wall_ms / 1000.0) / 1024.0 for x in runs),
            1,
        ),
        "updates": [x.sample.updates for x in runs],
        "ms_per_update_runs": [round(x.sample.busy_ms_per_update, 3) for x in runs],
    }


async def _one_size(
    base: str, cells: int, arms: list[str], runs: int, seconds: float
) -> dict[str, Any]:
    per_arm: dict[str, list[Run]] = {a: [] for a in arms}
    for i in range(runs):  # interleaved, rotating order: drift hits all arms
        for arm in arms[i % len(arms) :] + arms[: i % len(arms)]:
            per_arm[arm].append(await one_run(base, cells, arm, seconds))
    base_ms = statistics.median(x.sample.busy_ms_per_update for x in per_arm["none"])
    summary: dict[str, Any] = {a: _arm_summary(per_arm[a], base_ms) for a in arms}
    del summary["none"]["kb_per_s"]
    for arm in arms[1:]:
        summary[arm].update(await completeness(base, cells, arm))
    # Our recorder's own main-thread time (performance.now around its callbacks).
    # Wall-clock (preemption inflates it): an upper bound on the recorder's cost.
    ours = per_arm["sessiontape"]
    self_ms = statistics.median(x.self_ms / max(1, x.sample.updates) for x in ours)
    summary["sessiontape"]["self_ms_per_update"] = round(self_ms, 4)
    summary["sessiontape"]["self_time_ratio"] = (
        round((base_ms + self_ms) / base_ms, 3) if base_ms else None
    )
    summary["runs"] = runs
    return summary


async def bench_busy(
    *, runs: int = 6, seconds: float = 4.0, cells: Sequence[int] = (200, 1000), peer: bool = True
) -> dict[str, Any]:
    """The three-arm blotter benchmark; one ``cells_<N>`` object per size.

    Raises :class:`CaptureError` before any run when ``peer`` and rrweb is not installed.
    """
    arms = [a for a in ARMS if a != "rrweb" or peer]
    if peer:
        peer_source("x")
    out: dict[str, Any] = {"peer": PEER_NAME if peer else None}
    with serve_pages() as base:
        for n in cells:
            out[f"cells_{n}"] = await _one_size(base, n, arms, runs, seconds)
    return out


def run_busy_bench(**kwargs: Any) -> dict[str, Any]:
    """Synchronous wrapper for the CLI."""
    return asyncio.run(bench_busy(**kwargs))
