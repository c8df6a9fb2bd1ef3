"""A small harness for testing the in-page recorder alone (not the production capture).

One CDPSession per page does what the agent does to install the recorder and its binding:
``Page.enable``, ``Runtime.enable``, ``Runtime.addBinding`` in the ``__sessiontape`` world,
``Page.addScriptToEvaluateOnNewDocument`` with the bundle, and collects ``Runtime.bindingCalled``.
Fixture pages are served by a real HTTP server on 127.0.0.1; the replay page loads the built
``rrweb-replay.js`` from ``agent/replay/static``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import json
import secrets
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from playwright.async_api import Browser, BrowserContext, CDPSession, Page, async_playwright

from agent.capture.bundle import REPLAY_DIR, WORLD_NAME, injection_source, load_bundle

CHROMIUM = "/usr/lib/chromium/chromium"
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


class _Handler(SimpleHTTPRequestHandler):
    """Serves tests/fixtures/pages at / and agent/replay/static at /_replay/."""

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        if clean.startswith("/_replay/"):
            return str(REPLAY_DIR / clean[len("/_replay/") :])
        return str(PAGES / clean.lstrip("/"))

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return


@contextlib.contextmanager
def serve_pages() -> Iterator[str]:
    """A fixture-page HTTP server on 127.0.0.1; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class Recording:
    """Raw binding messages received from one page's recorder, in arrival order."""

    binding: str
    messages: list[str] = field(default_factory=list)
    contexts: dict[str, int] = field(default_factory=dict)  # frameId -> recorder context id

    def events(self) -> list[dict[str, Any]]:
        """Every ``{"k","t","p"}`` entry, in order."""
        out: list[dict[str, Any]] = []
        for raw in self.messages:
            out.extend(json.loads(raw)["events"])
        return out

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        """Payloads of one kind."""
        return [e["p"] for e in self.events() if e["k"] == kind]

    def rrweb(self) -> list[dict[str, Any]]:
        """The rrweb events (payloads of ``rrweb.*`` kinds), ready for rrweb's Replayer."""
        return [e["p"] for e in self.events() if e["k"].startswith("rrweb.")]


@dataclass
class Recorded:
    """A page being recorded through the harness."""

    page: Page
    cdp: CDPSession
    rec: Recording

    async def recorder_eval(self, expression: str) -> Any:
        """Evaluate in the recorder's isolated world of the main frame."""
        frame_id = await self.main_frame_id()
        for _ in range(100):
            ctx = self.rec.contexts.get(frame_id)
            if ctx is not None:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("recorder world never appeared")
        res = await self.cdp.send(
            "Runtime.evaluate",
            {
                "expression": expression,
                "contextId": ctx,
                "returnByValue": True,
                "awaitPromise": True,
            },
        )
        if "exceptionDetails" in res:
            raise AssertionError(str(res["exceptionDetails"]))
        return res["result"].get("value")

    async def main_frame_id(self) -> str:
        tree = await self.cdp.send("Page.getFrameTree")
        return str(tree["frameTree"]["frame"]["id"])

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
        res = await self.cdp.send(
            "Runtime.evaluate",
            {
                "expression": expression,
                "contextId": world["executionContextId"],
                "returnByValue": True,
                "awaitPromise": True,
            },
        )
        if "exceptionDetails" in res:
            raise AssertionError(str(res["exceptionDetails"]))
        return res["result"].get("value")

    async def live_state(self) -> dict[str, Any]:
        """Text, control values and selected attributes of the live page."""
        state: dict[str, Any] = await self.probe(f"({STATE_JS})(document)")
        return state

    async def page_eval(self, expression: str) -> Any:
        """Evaluate in the page's main world through CDP (no page-overridable JSON involved)."""
        res = await self.cdp.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in res:
            raise AssertionError(str(res["exceptionDetails"]))
        return res["result"].get("value")

    async def wait_for(self, js_condition: str, timeout_s: float = 10.0) -> None:
        """Poll a main-world condition until it holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            if await self.page_eval(f"!!({js_condition})"):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {js_condition}")


def recorder_config(binding: str, **overrides: Any) -> dict[str, Any]:
    """A recorder config for tests: no masking unless asked, fast keyframes off."""
    cfg: dict[str, Any] = {
        "binding": binding,
        "flushMs": 100,
        "heartbeatMs": 1000,
        "keyframeMs": 60000,
        "pollMs": 250,
        "mask": {"rules": [], "defaultInputMode": "none"},
    }
    cfg.update(overrides)
    return cfg


@contextlib.asynccontextmanager
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium through Playwright."""
    async with async_playwright() as pw:
        b = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--disable-quic"]
        )
        try:
            yield b
        finally:
            await b.close()


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
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    binding = "__st_" + secrets.token_hex(8)
    rec = Recording(binding)

    def on_binding(params: dict[str, Any]) -> None:
        if params.get("name") == binding:
            rec.messages.append(str(params["payload"]))

    def on_context(params: dict[str, Any]) -> None:
        ctx = params["context"]
        if ctx.get("name") == WORLD_NAME:
            rec.contexts[str(ctx.get("auxData", {}).get("frameId"))] = int(ctx["id"])

    cdp.on("Runtime.bindingCalled", on_binding)
    cdp.on("Runtime.executionContextCreated", on_context)
    await cdp.send("Page.enable")
    await cdp.send("Runtime.enable")
    if record:
        source, _meta = load_bundle()
        cfg = recorder_config(binding, **(cfg_overrides or {}))
        await cdp.send("Runtime.addBinding", {"name": binding, "executionContextName": WORLD_NAME})
        await cdp.send(
            "Page.addScriptToEvaluateOnNewDocument",
            {
                "source": injection_source(cfg, source),
                "worldName": WORLD_NAME,
                "runImmediately": True,
            },
        )
    return Recorded(page, cdp, rec)


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


async def replay_state(
    context: BrowserContext, base_url: str, events: list[dict[str, Any]]
) -> dict[str, Any]:
    """Load ``events`` into rrweb's Replayer in a second page; the replayed page's state."""
    page = await context.new_page()
    try:
        await page.goto(f"{base_url}/recorder_replay.html", wait_until="domcontentloaded")
        state: dict[str, Any] = await page.evaluate(REPLAY_JS, [events, STATE_JS])
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
        await page.evaluate(REPLAY_JS, [events, STATE_JS])
        return await page.evaluate(
            f"(() => {{ const f = ({expression}); "
            f"return f(window.replayer.iframe.contentDocument); }})()"
        )
    finally:
        await page.close()
