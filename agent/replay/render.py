"""Pictures and print of an export, drawn by a headless Chromium the agent launches itself
(``agent.capture.browser``: posix_spawn, CDP over a pipe, no debugging port).

The page is served from a made-up origin (:data:`LOCAL_ORIGIN`) through CDP ``Fetch``: every
request the page makes is paused; one for a file this renderer was given is answered from
memory, every other one (the recorded page asking for the live site, a font, a tracker) is
failed as blocked, so rendering never reaches the network. Each request and what was done
with it is kept in :attr:`Renderer.requests`.

Thumbnails are drawn by the vendored rrweb Replayer: it rebuilds the recorded DOM in an
iframe sandboxed without ``allow-scripts`` (recorded scripts never run), seeks to the moment
(canvas images drawn by the bundle's canvas plugin from the page's own window, in frame order)
and the page is captured with ``Page.captureScreenshot``. The PDF is ``Page.printToPDF`` of
``report.html`` served the same way.
"""

from __future__ import annotations

import asyncio
import base64
import json
import mimetypes
from dataclasses import dataclass, field
from typing import Any

from agent.capture.browser import LaunchedBrowser, launch_browser
from agent.capture.config import CaptureConfig
from agent.errors import CaptureError
from agent.replay.server import STATIC

LOCAL_ORIGIN = "http://sessiontape.invalid/"
"""The origin of the rendering page; ``.invalid`` never resolves, and nothing leaves anyway."""

_PAGE = b"""<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="rrweb-replay.css">
<style>html,body{margin:0;padding:0;background:#fff;overflow:hidden}
.replayer-mouse,.replayer-mouse-tail{display:none!important}
.replayer-wrapper{position:absolute;left:0;top:0}</style>
<script src="rrweb-replay.js"></script></head><body><div id="root"></div></body></html>
"""
_RENDER_JS = """(function (events) {
  var root = document.getElementById('root');
  if (window.__stR) { try { window.__stR.destroy(); } catch (e) { /* gone */ } }
  root.textContent = '';
  var canvas = rrweb.canvasPlugin(), evs = [], t1 = events[0].timestamp;
  events.forEach(function (e) {
    evs.push.apply(evs, rrweb.canvasEvents(e));
    t1 = Math.max(t1, e.timestamp);
  });
  var r = new rrweb.Replayer(evs, {root: root, mouseTail: false, showWarning: false,
    showDebug: false, triggerFocus: false, UNSAFE_replayCanvas: false, pauseAnimation: true,
    plugins: [canvas]});
  window.__stR = r;
  r.pause(Math.max(0, t1 - events[0].timestamp) + 1);
  return canvas.settled().then(function () { return new Promise(function (done) {
    requestAnimationFrame(function () { requestAnimationFrame(function () {
      var f = root.querySelector('iframe');
      if (!f) { done(null); return; }
      var b = f.getBoundingClientRect();
      done({w: Math.round(b.width), h: Math.round(b.height)});
    }); });
  }); });
})"""


THUMBNAIL_TIMEOUT_S = 15.0
"""How long the replayer may take to rebuild one moment."""


class RenderError(CaptureError):
    """One picture or the PDF could not be drawn (the export goes on without it)."""


@dataclass
class Renderer:
    """A headless Chromium with one page on :data:`LOCAL_ORIGIN` (use :meth:`start`)."""

    browser: LaunchedBrowser
    session: str
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path -> (body, type)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (url, served|blocked)

    @classmethod
    async def start(cls, cfg: CaptureConfig) -> Renderer:
        """Launch the browser, open a page whose every request goes through :meth:`_paused`."""
        browser = await launch_browser(cfg, headless=True)
        try:
            conn = browser.conn
            target = await conn.send("Target.createTarget", {"url": "about:blank"})
            att = await conn.send(
                "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
            )
            r = cls(browser, str(att["sessionId"]))
            conn.on_event(r._event)
            await conn.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, r.session)
            await conn.send("Page.enable", None, r.session)
            await conn.send("Runtime.enable", None, r.session)
            return r
        except BaseException:
            await browser.close()
            raise

    def serve(self, path: str, body: bytes, mime: str | None = None) -> None:
        """Answer ``LOCAL_ORIGIN + path`` with ``body``."""
        guessed = mime or mimetypes.guess_type(path)[0] or "application/octet-stream"
        self.files[path] = (body, guessed)

    def _event(self, method: str, p: dict[str, Any], sid: str | None) -> None:
        if method != "Fetch.requestPaused" or sid != self.session:
            return
        url = str(p["request"]["url"])
        path = url[len(LOCAL_ORIGIN) :].split("?", 1)[0] if url.startswith(LOCAL_ORIGIN) else None
        hit = self.files.get(path) if path is not None else None
        conn = self.browser.conn
        if hit is None:
            self.requests.append((url, "blocked"))
            conn.fire(
                "Fetch.failRequest",
                {"requestId": p["requestId"], "errorReason": "BlockedByClient"},
                sid,
            )
            return
        self.requests.append((url, "served"))
        body, mime = hit
        conn.fire(
            "Fetch.fulfillRequest",
            {
                "requestId": p["requestId"],
                "responseCode": 200,
                "responseHeaders": [{"name": "Content-Type", "value": mime}],
                "body": base64.b64encode(body).decode(),
            },
            sid,
        )

    async def _load(self, path: str) -> None:
        """Navigate the page to a served file and wait until its scripts ran."""
        conn = self.browser.conn
        await conn.send("Page.navigate", {"url": LOCAL_ORIGIN + path}, self.session)
        for _ in range(200):
            res = await conn.send(
                "Runtime.evaluate", {"expression": "document.readyState"}, self.session
            )
            if res.get("result", {}).get("value") == "complete":
                return
            await asyncio.sleep(0.02)
        raise RenderError(f"{path}: the rendering page did not load")

    async def open_replayer(self) -> None:
        """Load the replayer page (rrweb from the agent's own static files)."""
        self.serve("thumb.html", _PAGE, "text/html")
        for name in ("rrweb-replay.js", "rrweb-replay.css"):
            self.serve(name, (STATIC / name).read_bytes())
        await self._load("thumb.html")

    async def evaluate(self, expression: str) -> Any:
        """The value of a script run in the rendering page (awaited, returned by value)."""
        res = await self.browser.conn.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            self.session,
            timeout=THUMBNAIL_TIMEOUT_S,
        )
        if "exceptionDetails" in res:
            text = res["exceptionDetails"].get("exception", {}).get("description", "")
            raise RenderError(f"the replayer failed: {str(text).splitlines()[0][:200]}")
        return res.get("result", {}).get("value")

    async def draw(self, events: list[dict[str, Any]]) -> tuple[int, int]:
        """Rebuild the page from ``events`` (a Meta, a FullSnapshot, then incremental events
        up to the moment); its width and height in CSS pixels."""
        size = await self.evaluate(f"{_RENDER_JS}({json.dumps(events)})")
        if not isinstance(size, dict) or not size.get("w") or not size.get("h"):
            raise RenderError("the replayer drew no page")
        return int(size["w"]), int(size["h"])

    async def _capture(
        self, w: int, h: int, scale: float, fmt: dict[str, Any], x: int = 0, y: int = 0
    ) -> bytes:
        shot = await self.browser.conn.send(
            "Page.captureScreenshot",
            {
                **fmt,
                "captureBeyondViewport": True,
                "clip": {"x": x, "y": y, "width": w, "height": h, "scale": scale},
            },
            self.session,
        )
        return base64.b64decode(shot["data"])

    async def png(self, x: int, y: int, w: int, h: int) -> bytes:
        """A PNG of ``w`` x ``h`` CSS pixels of the rendering page from ``(x, y)``, scale 1."""
        return await self._capture(w, h, 1.0, {"format": "png"}, x, y)

    async def thumbnail(self, events: list[dict[str, Any]], width: int) -> bytes:
        """A JPEG about ``width`` pixels wide of the page rebuilt from ``events`` (a Meta, a
        FullSnapshot, then incremental events up to the moment)."""
        w, h = await self.draw(events)
        return await self._capture(w, h, width / w, {"format": "jpeg", "quality": 70})

    async def pdf(self, html: bytes, files: dict[str, bytes]) -> bytes:
        """``html`` printed to PDF (A4, backgrounds), its images served from ``files``."""
        self.serve("report.html", html, "text/html")
        for path, body in files.items():
            self.serve(path, body)
        await self._load("report.html")
        res = await self.browser.conn.send(
            "Page.printToPDF",
            {"printBackground": True, "preferCSSPageSize": True},
            self.session,
            timeout=120,
        )
        return base64.b64decode(res["data"])

    async def close(self) -> None:
        """Close the browser (its private profile directory goes with it)."""
        await self.browser.close()
