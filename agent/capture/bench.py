"""``sessiontape bench capture``: what full capture costs the page, the agent and the disk.

For each run the same blotter is driven twice in a fresh browser - once without capture
(baseline) and once under a full :class:`CaptureSession` - and the page's main-thread busy
time per update is measured by :func:`agent.capture.busy.measure_busy`. Reported medians:

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
  (isolated world, private binding, one JSON batch per 100 ms; :mod:`agent.capture.peer`) and
  measured in the same interleaved runs: its busy ms per update, ``busy_ratio`` vs the same
  baseline, ``changes_captured_pct`` and ``binding_bytes_per_hour`` (the JSON it sent).

The blotter is the demo app's ``/app?cells=N`` (logged in), or the fixture
``tests/fixtures/pages/blotter.html`` when the demo app is not available, or ``--url``
(busy time and bytes only: an arbitrary page has no change log).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from playwright.async_api import Page

from agent.capture.browser import launch_browser
from agent.capture.busy import BusySample, measure_busy
from agent.capture.config import CaptureConfig
from agent.capture.peer import PEER_NAME, peer_events, peer_source
from agent.capture.session import CaptureSession
from agent.clock import SystemClock
from agent.errors import CaptureError
from agent.events import Event

Cell = tuple[int, int, str]
FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "pages" / "blotter.html"


@dataclass
class Blotter:
    """How to open a blotter page, count its updates and list the changes it made."""

    name: str
    url: str
    counter: str  # JS expression: updates so far
    table_id: str | None  # id of the <table> whose body cells change
    prepare: Callable[[Page], Awaitable[None]]
    changes: Callable[[Page, int], Awaitable[list[Cell]]] | None


class _KeepSink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def append_many(self, events: Sequence[Event]) -> None:
        self.events.extend(events)


# -- the pages ----------------------------------------------------------------------------
_FIXTURE_LOG_JS = """(n) => {
  const CELLS = +(new URLSearchParams(location.search).get('cells') || 200);
  const COLS = 20, TOTAL = 50 * COLS;
  let seed = 42;
  const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
  const out = [];
  for (let u = 0; u < n; u++) for (let i = 0; i < CELLS; i++) {
    const idx = Math.floor(rnd() * TOTAL); rnd();
    out.push([Math.floor(idx / COLS), idx % COLS, (100 + rnd() * 50).toFixed(2)]);
  }
  return out;
}"""


async def _noop(page: Page) -> None:
    return None


@contextlib.asynccontextmanager
async def fixture_blotter(cells: int) -> AsyncIterator[Blotter]:
    """The recorder engineer's fixture page, served on 127.0.0.1; its RNG is the change log."""
    html = FIXTURE.read_text(encoding="utf-8")

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/blotter.html", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def changes(pg: Page, n: int) -> list[Cell]:
        rows = await pg.evaluate(_FIXTURE_LOG_JS, n)
        return [(int(r), int(c), str(v)) for r, c, v in rows]

    try:
        yield Blotter(
            "fixture",
            f"http://127.0.0.1:{port}/blotter.html?cells={cells}",
            "window.__updates",
            "grid",
            _noop,
            changes,
        )
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def demo_blotter(cells: int) -> AsyncIterator[Blotter]:
    """The demo app's trading screen (after logging in); the server's ticks are the log."""
    from agent.demo_app import data
    from agent.demo_app.server import running_demo_app

    async with running_demo_app() as app:
        user, password = next(iter(data.DEMO_USERS.items()))
        base = app.url.rstrip("/")

        async def login(pg: Page) -> None:
            await pg.goto(base + "/", wait_until="domcontentloaded")
            await pg.fill("#username", user)
            await pg.fill("#password", password)
            async with pg.expect_navigation():
                await pg.click("#login-submit")
            await pg.goto(f"{base}/app?cells={cells}", wait_until="domcontentloaded")

        async def changes(_pg: Page, n: int) -> list[Cell]:
            return [
                cell
                for tick in range(1, n + 1)
                for cell in data.blotter_tick(tick, cells, app.seed)
            ]

        yield Blotter(
            "demo",
            f"{base}/app?cells={cells}",
            "+document.getElementById('tick-count').textContent || 0",
            "blotter",
            login,
            changes,
        )


# -- analysis --------------------------------------------------------------------------------
def captured_cells(events: Sequence[Event], table_id: str) -> set[Cell]:
    """Every (row, col, text) the captured rrweb stream shows for the table's body cells."""
    td_pos: dict[int, tuple[int, int]] = {}
    text_td: dict[int, int] = {}
    seen: set[Cell] = set()

    def find(node: dict[str, Any]) -> dict[str, Any] | None:
        if node.get("type") == 2 and node.get("attributes", {}).get("id") == table_id:
            return node
        for ch in node.get("childNodes", []):
            got = find(ch)
            if got is not None:
                return got
        return None

    def index(table: dict[str, Any]) -> None:
        bodies = [n for n in table.get("childNodes", []) if n.get("tagName") == "tbody"]
        rows = [n for b in bodies for n in b.get("childNodes", []) if n.get("tagName") == "tr"]
        for r, tr in enumerate(rows):
            tds = [n for n in tr.get("childNodes", []) if n.get("tagName") == "td"]
            for c, td in enumerate(tds):
                td_pos[td["id"]] = (r, c)
                for t in td.get("childNodes", []):
                    if t.get("type") == 3:
                        text_td[t["id"]] = td["id"]
                        seen.add((r, c, t.get("textContent", "")))

    for ev in events:
        if ev.kind == "rrweb.full_snapshot":
            table = find(ev.payload["data"]["node"])
            if table is not None:
                td_pos.clear()
                text_td.clear()
                index(table)
        elif ev.kind == "rrweb.mutation":
            data = ev.payload["data"]
            for add in data.get("adds", []):
                node = add.get("node", {})
                if add.get("parentId") in td_pos and node.get("type") == 3:
                    text_td[node["id"]] = add["parentId"]
                    r, c = td_pos[add["parentId"]]
                    seen.add((r, c, node.get("textContent", "")))
            for t in data.get("texts", []):
                td = text_td.get(t.get("id"))
                if td is not None and isinstance(t.get("value"), str):
                    r, c = td_pos[td]
                    seen.add((r, c, t["value"]))
    return seen


def ws_tick_cells(events: Sequence[Event]) -> set[Cell]:
    """Cells carried by captured (untruncated) demo-app tick frames: the raw data."""
    out: set[Cell] = set()
    for ev in events:
        p = ev.payload
        if ev.kind != "net.ws_frame" or p.get("direction") != "received" or p.get("truncated"):
            continue
        try:
            msg = orjson.loads(p.get("data", ""))
        except orjson.JSONDecodeError:
            continue
        if isinstance(msg, dict) and msg.get("type") == "tick":
            out.update((int(r), int(c), str(v)) for r, c, v in msg.get("cells", []))
    return out


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
async def _baseline(cfg: CaptureConfig, blotter: Blotter, seconds: float) -> BusySample:
    browser = await launch_browser(cfg, headless=True)
    try:
        ctx = await browser.new_context(cfg)
        page = await ctx.new_page()
        await blotter.prepare(page)
        if blotter.name != "demo":
            await page.goto(blotter.url, wait_until="domcontentloaded")
        cdp = await ctx.new_cdp_session(page)
        return await measure_busy(cdp, seconds=seconds, counter=blotter.counter)
    finally:
        await browser.close()


async def _peer(cfg: CaptureConfig, blotter: Blotter, seconds: float) -> dict[str, Any]:
    """The same page recorded by rrweb 2.2.2 alone, through our transport."""
    from agent.capture.bundle import WORLD_NAME

    browser = await launch_browser(cfg, headless=True)
    try:
        ctx = await browser.new_context(cfg)
        page = await ctx.new_page()
        cdp = await ctx.new_cdp_session(page)
        binding = "__st_" + secrets.token_hex(8)
        messages: list[str] = []

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
        await blotter.prepare(page)
        if blotter.name != "demo":
            await page.goto(blotter.url, wait_until="domcontentloaded")
        marks: list[int] = []

        async def probe() -> float:
            marks.append(sum(map(len, messages)))
            return 0.0

        sample = await measure_busy(cdp, seconds=seconds, counter=blotter.counter, probe=probe)
        updates = int(await page.evaluate(blotter.counter))
        expected = await blotter.changes(page, updates) if blotter.changes else None
        await asyncio.sleep(0.5)  # the last batches (one per 100 ms) arrive
    finally:
        await browser.close()
    if marks[1] == marks[0]:
        raise CaptureError(f"{PEER_NAME} sent nothing during the measured window")
    out: dict[str, Any] = {
        "sample": sample,
        "changes_captured_pct": None,
        "binding_bytes_per_hour": int((marks[1] - marks[0]) * 3600 / (sample.wall_ms / 1000)),
    }
    if expected and blotter.table_id is not None:
        got = captured_cells(peer_events(messages), blotter.table_id)
        out["changes_captured_pct"] = round(
            100.0 * sum(1 for cell in expected if cell in got) / len(expected), 3
        )
    return out


async def _recorded(
    cfg: CaptureConfig, blotter: Blotter, seconds: float, home: Path
) -> dict[str, Any]:
    sink = _KeepSink()
    session = CaptureSession(cfg, sink, SystemClock(), home, headless=True, relaunch=False)
    await session.start(None)
    try:
        page = session.page
        await blotter.prepare(page)
        if blotter.name != "demo":
            await page.goto(blotter.url, wait_until="domcontentloaded")
        cdp = await session.context.new_cdp_session(page)
        cpu0, wall0, mono0 = time.process_time(), time.monotonic(), time.monotonic_ns()
        sample = await measure_busy(cdp, seconds=seconds, counter=blotter.counter)
        cpu1, wall1, mono1 = time.process_time(), time.monotonic(), time.monotonic_ns()
        updates = int(await page.evaluate(blotter.counter))
        expected = await blotter.changes(page, updates) if blotter.changes else None
    finally:
        await session.stop()
    window = [e for e in sink.events if mono0 <= e.t_mono_ns <= mono1]
    out: dict[str, Any] = {
        "sample": sample,
        "agent_cpu_pct": 100.0 * (cpu1 - cpu0) / (wall1 - wall0),
        "bytes_per_hour": int(event_bytes(window) * 3600 / ((mono1 - mono0) / 1e9)),
        "changes_captured_pct": None,
        "events": len(sink.events),
    }
    if expected is not None and blotter.table_id is not None:
        got = captured_cells(sink.events, blotter.table_id)
        hits = sum(1 for cell in expected if cell in got)
        out["changes_captured_pct"] = round(100.0 * hits / len(expected), 3) if expected else None
        out["changes_expected"] = len(expected)
        if blotter.name == "demo" and expected:
            raw = ws_tick_cells(sink.events) | got
            out["changes_in_journal_pct"] = round(
                100.0 * sum(1 for cell in expected if cell in raw) / len(expected), 3
            )
    return out


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
        async with _blotter(cells, url, counter, fixture) as blotter:
            base.append(await _baseline(cfg, blotter, seconds))
            rec.append(await _recorded(cfg, blotter, seconds, home))
            if peer:
                peers.append(await _peer(cfg, blotter, seconds))
            name = blotter.name
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


@contextlib.asynccontextmanager
async def _blotter(
    cells: int, url: str | None, counter: str, fixture: bool
) -> AsyncIterator[Blotter]:
    if url is not None:
        yield Blotter("url", url, counter, None, _noop, None)
        return
    try:
        import agent.demo_app.server  # noqa: F401
    except ImportError:
        fixture = True
    if fixture:
        async with fixture_blotter(cells) as b:
            yield b
        return
    async with demo_blotter(cells) as b:
        yield b


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
