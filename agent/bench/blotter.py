"""The blotter pages the capture benchmarks drive, and how a recorded stream is checked
against the changes they made.

A blotter is a 50 x 20 price grid whose cells change every 50 ms. Two ship with the agent: the
demo app's trading screen (``/app?cells=N`` after logging in; the server's ticks are the
change log) and a static page, ``pages/blotter.html`` beside this module, whose seeded RNG is
the change log. An arbitrary ``--url`` has no change log (busy time and bytes only).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson
from aiohttp import web

from agent.events import Event
from agent.rrweb import NodeType

Cell = tuple[int, int, str]
PAGES = Path(__file__).resolve().parent / "pages"
BLOTTER_PAGE = PAGES / "blotter.html"

# The static page's change log, replayed from its seeded RNG: ``n`` updates of ``cells`` cells.
FIXTURE_LOG_JS = """(n) => {
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


class Page(Protocol):
    """What a blotter needs from a page: a Playwright page (a browser nobody records) or the
    capture driver's page (the recorded browser)."""

    async def goto(self, url: str, /, *, wait_until: Any = ...) -> Any:
        """Navigate and wait."""

    async def fill(self, selector: str, text: str, /) -> Any:
        """Replace a field's value."""

    async def click(self, selector: str, /) -> Any:
        """Click an element."""

    async def wait_for_url(self, url: str, /) -> Any:
        """Wait until the page's URL matches the glob."""

    async def evaluate(self, expression: str, arg: Any = ..., /) -> Any:
        """Evaluate in the page."""


@dataclass
class Blotter:
    """How to open a blotter page, count its updates and list the changes it made."""

    name: str
    url: str
    counter: str  # JS expression: updates so far
    table_id: str | None  # id of the <table> whose body cells change
    prepare: Callable[[Page], Awaitable[None]]
    changes: Callable[[Page, int], Awaitable[list[Cell]]] | None


async def _noop(page: Page) -> None:
    return None


@contextlib.asynccontextmanager
async def fixture_blotter(cells: int) -> AsyncIterator[Blotter]:
    """The static blotter page, served on 127.0.0.1; its RNG is the change log."""
    html = BLOTTER_PAGE.read_text(encoding="utf-8")

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
        rows = await pg.evaluate(FIXTURE_LOG_JS, n)
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
    """The demo app's trading screen (after logging in); the server's ticks are the log.

    The app runs in a child process: the CPU its ticks cost is not the agent's."""
    from agent.bench.demo_process import demo_app_process
    from agent.demo_app import data

    async with demo_app_process() as app:
        user, password = next(iter(data.DEMO_USERS.items()))
        base = app.url.rstrip("/")

        async def login(pg: Page) -> None:
            await pg.goto(base + "/", wait_until="domcontentloaded")
            await pg.fill("#username", user)
            await pg.fill("#password", password)
            await pg.click("#login-submit")
            await pg.wait_for_url("**/app")
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


# -- reading a recorded stream ----------------------------------------------------------------
def _find_table(node: dict[str, Any], table_id: str) -> dict[str, Any] | None:
    if node.get("type") == NodeType.ELEMENT and node.get("attributes", {}).get("id") == table_id:
        return node
    for ch in node.get("childNodes", []):
        got = _find_table(ch, table_id)
        if got is not None:
            return got
    return None


class _CellTracker:
    """Which text node sits in which body cell, and every (row, col, text) seen so far."""

    def __init__(self) -> None:
        self.td_pos: dict[int, tuple[int, int]] = {}
        self.text_td: dict[int, int] = {}
        self.seen: set[Cell] = set()

    def index(self, table: dict[str, Any]) -> None:
        """Start over from a full snapshot of the table."""
        self.td_pos.clear()
        self.text_td.clear()
        bodies = [n for n in table.get("childNodes", []) if n.get("tagName") == "tbody"]
        rows = [n for b in bodies for n in b.get("childNodes", []) if n.get("tagName") == "tr"]
        for r, tr in enumerate(rows):
            tds = [n for n in tr.get("childNodes", []) if n.get("tagName") == "td"]
            for c, td in enumerate(tds):
                self.td_pos[td["id"]] = (r, c)
                for t in td.get("childNodes", []):
                    if t.get("type") == NodeType.TEXT:
                        self.text_td[t["id"]] = td["id"]
                        self.seen.add((r, c, t.get("textContent", "")))

    def mutation(self, data: dict[str, Any]) -> None:
        """Text nodes added to a cell and text changes of known cell texts."""
        for add in data.get("adds", []):
            node = add.get("node", {})
            if add.get("parentId") in self.td_pos and node.get("type") == NodeType.TEXT:
                self.text_td[node["id"]] = add["parentId"]
                r, c = self.td_pos[add["parentId"]]
                self.seen.add((r, c, node.get("textContent", "")))
        for t in data.get("texts", []):
            td = self.text_td.get(t.get("id"))
            if td is not None and isinstance(t.get("value"), str):
                r, c = self.td_pos[td]
                self.seen.add((r, c, t["value"]))


def captured_cells(events: Sequence[Event], table_id: str) -> set[Cell]:
    """Every (row, col, text) the captured rrweb stream shows for the table's body cells."""
    tracker = _CellTracker()
    for ev in events:
        if ev.kind == "rrweb.full_snapshot":
            table = _find_table(ev.payload["data"]["node"], table_id)
            if table is not None:
                tracker.index(table)
        elif ev.kind == "rrweb.mutation":
            tracker.mutation(ev.payload["data"])
    return tracker.seen


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


def share_pct(expected: Sequence[Cell], got: set[Cell]) -> float:
    """Percentage of ``expected`` changes present in ``got`` (rounded to 3 places)."""
    return round(100.0 * sum(1 for cell in expected if cell in got) / len(expected), 3)
