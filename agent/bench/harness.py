"""The in-page recorder alone in a bare Chromium page, for the busy-time benchmark.

One CDP session per page does what the agent does: ``Page.enable``, ``Runtime.enable``,
``Runtime.addBinding`` in the recorder's isolated world, ``Page.addScriptToEvaluateOnNewDocument``
with the bundle, and collects ``Runtime.bindingCalled``. No journal, no masking rules: the
page's cost of the recorder is all that is measured. The pages in ``pages/`` beside this module
are served by an HTTP server on 127.0.0.1. The recorder's own tests build on these pieces.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import secrets
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, CDPSession, Page, async_playwright

from agent.bench.blotter import PAGES
from agent.capture.bundle import WORLD_NAME, injection_source, load_bundle
from agent.capture.recorder_messages import as_rrweb

CHROMIUM = "/usr/lib/chromium/chromium"


class _Handler(SimpleHTTPRequestHandler):
    """Serves the files under ``mounts`` (URL path prefix -> folder or file), never cached."""

    def __init__(self, *args: Any, mounts: Mapping[str, Path], **kwargs: Any) -> None:
        self.mounts = mounts
        super().__init__(*args, **kwargs)

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        prefix = max((p for p in self.mounts if clean.startswith(p)), key=len)
        return str(self.mounts[prefix] / clean[len(prefix) :])

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return


@contextlib.contextmanager
def serve_pages(mounts: Mapping[str, Path] | None = None) -> Iterator[str]:
    """An HTTP server for static pages on 127.0.0.1; yields its base URL.

    ``mounts`` maps URL path prefixes to folders (``"/_replay/"``) or to one file
    (``"/blotter.html"``); the longest matching prefix wins. ``/`` is the benchmark pages
    unless ``mounts`` says otherwise.
    """
    handler = functools.partial(_Handler, mounts={"/": PAGES, **(mounts or {})})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


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
            for e in json.loads(raw)["events"]:
                if e.get("k") == "rrweb.mutation":  # texts and attributes as rrweb lists
                    e["p"] = as_rrweb(e["p"])
                out.append(e)
        return out

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        """Payloads of one kind."""
        return [e["p"] for e in self.events() if e["k"] == kind]

    def rrweb(self) -> list[dict[str, Any]]:
        """The rrweb events (payloads of ``rrweb.*`` kinds), ready for rrweb's Replayer."""
        return [e["p"] for e in self.events() if e["k"].startswith("rrweb.")]


@dataclass
class Recorded:
    """A page being recorded (or, with ``record=False``, only watched) through the harness."""

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
            raise RuntimeError("recorder world never appeared")
        return await self._evaluate({"contextId": ctx}, expression)

    async def main_frame_id(self) -> str:
        """The CDP frame id of the page's main frame."""
        tree = await self.cdp.send("Page.getFrameTree")
        return str(tree["frameTree"]["frame"]["id"])

    async def page_eval(self, expression: str) -> Any:
        """Evaluate in the page's main world through CDP (no page-overridable JSON involved)."""
        return await self._evaluate({}, expression)

    async def wait_for(self, js_condition: str, timeout_s: float = 10.0) -> None:
        """Poll a main-world condition until it holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            if await self.page_eval(f"!!({js_condition})"):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"timed out waiting for {js_condition}")

    async def _evaluate(self, where: dict[str, Any], expression: str) -> Any:
        params = {"expression": expression, "returnByValue": True, "awaitPromise": True}
        res = await self.cdp.send("Runtime.evaluate", {**params, **where})
        if "exceptionDetails" in res:
            raise RuntimeError(str(res["exceptionDetails"]))
        return res["result"].get("value")


def recorder_config(binding: str, **overrides: Any) -> dict[str, Any]:
    """The recorder's config for the benchmark: no masking, keyframes once a minute."""
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
