"""A small harness for testing the in-page recorder alone (not the production capture).

The recorder is installed the way the agent does it, by the benchmark's harness
(:func:`agent.bench.harness.start_recording`), which also serves the pages. This module adds
the test side: fixture pages served from 127.0.0.1, probes of the live page's state in an
isolated world, one shared Chromium per test process, and replay of the recorded events in
rrweb's Replayer (the replay page loads the built ``rrweb-replay.js`` from
``agent/replay/static``).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson
from playwright.async_api import Browser, BrowserContext, async_playwright

from agent.bench import harness as bench_harness
from agent.bench.blotter import BLOTTER_PAGE
from agent.bench.harness import CHROMIUM, Recording
from agent.capture.bundle import REPLAY_DIR
from agent.mutation_columns import json_default

__all__ = [
    "Recorded",
    "Recording",
    "replay_eval",
    "replay_state",
    "run_in_browser",
    "serve_pages",
    "start_recording",
]

T = TypeVar("T")
PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"

# Page state read from an isolated probe world (page JS cannot disturb it): visible text,
# form-control values and selected attributes, walking open shadow roots and same-origin iframes.
STATE_JS = r"""
(() => {
  const ATTRS = ['id', 'class', 'cx', 'cy', 'r', 'fill', 'd', 'x', 'y', 'width', 'height',
                 'transform', 'points', 'data-k'];
  const out = {texts: [], values: [], attrs: []};
  const skip = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'HEAD']);
  function walk(node) {
    for (let c = node.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === 3) {
        const t = c.data.trim();
        if (t) out.texts.push(t);
      } else if (c.nodeType === 1) {
        const tag = c.tagName.toUpperCase();
        if (skip.has(tag)) continue;
        if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') {
          out.values.push([tag.toLowerCase(), c.name || c.id || '', c.value, !!c.checked]);
        }
        if (c.namespaceURI === 'http://www.w3.org/2000/svg' || c.hasAttribute('data-k')) {
          const a = {};
          for (const n of ATTRS) if (c.hasAttribute(n)) a[n] = c.getAttribute(n);
          out.attrs.push([c.tagName.toLowerCase(), a]);
        }
        if (c.shadowRoot) { out.texts.push('#shadow'); walk(c.shadowRoot); }
        if (tag === 'IFRAME') {
          let d = null;
          try { d = c.contentDocument; } catch (e) { d = null; }
          if (d && d.body) { out.texts.push('#iframe'); walk(d.body); }
        } else if (tag !== 'TEXTAREA') {
          walk(c);
        }
      }
    }
  }
  return (doc) => { walk(doc.body); return out; };
})()
"""


def serve_pages() -> contextlib.AbstractContextManager[str]:
    """A fixture-page HTTP server on 127.0.0.1; yields its base URL.

    Serves tests/fixtures/pages at /, agent/replay/static at /_replay/ and the benchmark's
    blotter page (one copy, in the package) at /blotter.html.
    """
    return bench_harness.serve_pages(
        {"/": PAGES, "/_replay/": REPLAY_DIR, "/blotter.html": BLOTTER_PAGE}
    )


class Recorded(bench_harness.Recorded):
    """A page being recorded through the harness, with probes for comparing page states."""

    async def flush(self) -> None:
        """Make the recorder flush now and wait until its messages have arrived."""
        await self.recorder_eval("globalThis.__st_flush && globalThis.__st_flush()")
        await self.settle()

    async def settle(self, quiet_s: float = 0.15) -> None:
        """Wait until no binding message arrived for ``quiet_s``."""
        count = -1
        while count != len(self.rec.messages):
            count = len(self.rec.messages)
            await asyncio.sleep(quiet_s)

    async def probe(self, expression: str) -> Any:
        """Evaluate in a fresh isolated probe world (page tampering cannot affect it)."""
        frame_id = await self.main_frame_id()
        world = await self.cdp.send(
            "Page.createIsolatedWorld", {"frameId": frame_id, "worldName": "__probe"}
        )
        return await self._evaluate({"contextId": world["executionContextId"]}, expression)

    async def live_state(self) -> dict[str, Any]:
        """Text, control values and selected attributes of the live page."""
        state: dict[str, Any] = await self.probe(f"({STATE_JS})(document)")
        return state


class _Shared:
    """One event loop thread, one Chromium and one page server per test process.

    Launching Chromium and Playwright's driver costs seconds on a loaded 2-core CI machine;
    tests share them and each test opens its own isolated ``BrowserContext``.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._browser: Browser | None = None
        self._pw: Any = None
        self._server: contextlib.ExitStack | None = None
        self.base_url = ""
        atexit.register(self.close)

    async def browser(self) -> Browser:
        if self._browser is None:
            self._pw = await async_playwright().start()
            self._browser = await self._pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--disable-quic"]
            )
        return self._browser

    def serve(self) -> str:
        if self._server is None:
            self._server = contextlib.ExitStack()
            self.base_url = self._server.enter_context(serve_pages())
        return self.base_url

    def close(self) -> None:
        async def _close() -> None:
            if self._browser is not None:
                await self._browser.close()
            if self._pw is not None:
                await self._pw.stop()

        if self._browser is not None:
            asyncio.run_coroutine_threadsafe(_close(), self.loop).result(30)
            self._browser = None
        if self._server is not None:
            self._server.close()
            self._server = None
        self.loop.call_soon_threadsafe(self.loop.stop)


_SHARED: _Shared | None = None


def run_in_browser(fn: Callable[[BrowserContext, str], Awaitable[T]], timeout_s: float = 90) -> T:
    """Run ``fn(context, base_url)`` with a fresh context of the shared Chromium."""
    global _SHARED
    if _SHARED is None:
        _SHARED = _Shared()
    shared = _SHARED
    base = shared.serve()

    async def _go() -> T:
        ctx = await (await shared.browser()).new_context()
        try:
            return await fn(ctx, base)
        finally:
            await ctx.close()

    return asyncio.run_coroutine_threadsafe(_go(), shared.loop).result(timeout_s)


async def start_recording(
    context: BrowserContext, cfg_overrides: dict[str, Any] | None = None, *, record: bool = True
) -> Recorded:
    """A new page whose documents all get the recorder (before any page script runs)."""
    r = await bench_harness.start_recording(context, cfg_overrides, record=record)
    return Recorded(r.page, r.cdp, r.rec)


REPLAY_JS = r"""
async ([events, stateJs]) => {
  const root = document.getElementById('root');
  root.innerHTML = '';
  const replayer = new rrweb.Replayer(events, {root, UNSAFE_replayCanvas: false,
                                               showWarning: false, mouseTail: false});
  window.replayer = replayer;
  const total = replayer.getMetaData().totalTime;
  replayer.pause(total + 1);
  await new Promise((r) => setTimeout(r, 200));
  const doc = replayer.iframe.contentDocument;
  const stateOf = eval(stateJs);
  return stateOf(doc);
}
"""


def plain(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Payloads as JSON values for the browser: a mutation's columns as the rrweb lists."""
    out: list[dict[str, Any]] = orjson.loads(orjson.dumps(events, default=json_default))
    return out


async def replay_state(
    context: BrowserContext, base_url: str, events: list[dict[str, Any]]
) -> dict[str, Any]:
    """Load ``events`` into rrweb's Replayer in a second page; the replayed page's state."""
    page = await context.new_page()
    try:
        await page.goto(f"{base_url}/recorder_replay.html", wait_until="domcontentloaded")
        state: dict[str, Any] = await page.evaluate(REPLAY_JS, [plain(events), STATE_JS])
        return state
    finally:
        await page.close()


async def replay_eval(
    context: BrowserContext, base_url: str, events: list[dict[str, Any]], expression: str
) -> Any:
    """Replay ``events`` to their end, then evaluate ``expression`` (a function of the
    replayed document) in the replay page."""
    page = await context.new_page()
    try:
        await page.goto(f"{base_url}/recorder_replay.html", wait_until="domcontentloaded")
        await page.evaluate(REPLAY_JS, [plain(events), STATE_JS])
        return await page.evaluate(
            f"(() => {{ const f = ({expression}); "
            f"return f(window.replayer.iframe.contentDocument); }})()"
        )
    finally:
        await page.close()
