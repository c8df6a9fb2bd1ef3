"""The export's renderer (the agent's own headless Chromium): a hostile recorded page is drawn
without any request leaving the machine, and a report prints to PDF."""

from __future__ import annotations

import asyncio
import base64
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image

from agent.capture.config import CaptureConfig
from agent.replay.render import LOCAL_ORIGIN, Renderer


class _Counting(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        _Counting.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture()
def live_site() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 that counts every request it gets."""
    _Counting.hits = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _el(tag: str, nid: int, attrs: dict[str, str], kids: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": 2, "tagName": tag, "attributes": attrs, "childNodes": kids, "id": nid}


def _hostile_events(site: str) -> list[dict[str, Any]]:
    """A Meta and a FullSnapshot of a page that asks the live site for a stylesheet, an image,
    a background and (by script) a fetch."""
    body = _el(
        "body",
        6,
        {"style": f"background:url({site}/bg.png)"},
        [
            _el("img", 7, {"src": f"{site}/leak.png", "width": "50", "height": "50"}, []),
            _el("script", 8, {}, [{"type": 3, "textContent": f"fetch('{site}/js')", "id": 9}]),
            _el("h1", 10, {}, [{"type": 3, "textContent": "Order ticket", "id": 11}]),
        ],
    )
    head = _el("head", 4, {}, [_el("link", 5, {"rel": "stylesheet", "href": f"{site}/x.css"}, [])])
    doc = {
        "type": 0,
        "id": 1,
        "childNodes": [
            {"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2},
            _el("html", 3, {}, [head, body]),
        ],
    }
    return [
        {"type": 4, "data": {"href": f"{site}/app", "width": 800, "height": 500}, "timestamp": 1},
        {"type": 2, "data": {"node": doc, "initialOffset": {"top": 0, "left": 0}}, "timestamp": 2},
    ]


def test_thumbnail_of_a_hostile_page_makes_no_request_outside_the_local_page(
    live_site: str,
) -> None:
    """The recorded page's stylesheet, image, background and script fetch are all blocked:
    the live site gets no request, the renderer's log shows them blocked, and a JPEG of the
    requested width comes back."""

    async def draw() -> tuple[bytes, list[tuple[str, str]]]:
        r = await Renderer.start(CaptureConfig())
        try:
            await r.open_replayer()
            img = await r.thumbnail(_hostile_events(live_site), 320)
            return img, list(r.requests)
        finally:
            await r.close()

    img, log = asyncio.run(draw())
    assert img.startswith(b"\xff\xd8\xff")  # JPEG
    assert int.from_bytes(img[img.index(b"\xff\xc0") + 7 : img.index(b"\xff\xc0") + 9]) == 320
    assert _Counting.hits == []
    outside = [(u, what) for u, what in log if not u.startswith(LOCAL_ORIGIN)]
    assert outside and all(what == "blocked" for _, what in outside), log
    assert (f"{live_site}/leak.png", "blocked") in log


def test_pdf_prints_a_page_with_its_served_images() -> None:
    """printToPDF over the agent's own CDP pipe returns a PDF of the given HTML."""

    async def run() -> bytes:
        r = await Renderer.start(CaptureConfig())
        try:
            return await r.pdf(b"<!doctype html><p>custody table</p>", {})
        finally:
            await r.close()

    pdf = asyncio.run(run())
    assert pdf.startswith(b"%PDF-") and b"/Type /Page" in pdf


def _canvas_events() -> list[dict[str, Any]]:
    """A page that is one 800x500 canvas, then a green image drawn on it (a canvas event)."""
    buf = io.BytesIO()
    Image.new("RGB", (800, 500), (0, 190, 0)).save(buf, "PNG")
    blob = {
        "rr_type": "Blob",
        "data": [{"rr_type": "ArrayBuffer", "base64": base64.b64encode(buf.getvalue()).decode()}],
        "type": "image/png",
    }
    canvas = _el("canvas", 5, {"width": "800", "height": "500", "style": "display:block"}, [])
    doc = {
        "type": 0,
        "id": 1,
        "childNodes": [_el("html", 3, {}, [_el("body", 4, {"style": "margin:0"}, [canvas])])],
    }
    draw = {"property": "drawImage", "args": [{"rr_type": "ImageBitmap", "args": [blob]}, 0, 0]}
    return [
        {
            "type": 4,
            "data": {"href": "https://a.example/", "width": 800, "height": 500},
            "timestamp": 1,
        },
        {"type": 2, "data": {"node": doc, "initialOffset": {"top": 0, "left": 0}}, "timestamp": 2},
        {
            "type": 3,
            "data": {"source": 9, "id": 5, "type": 0, "frame": 1, "commands": [draw]},
            "timestamp": 3,
        },
    ]


def test_thumbnail_shows_a_recorded_canvas_image() -> None:
    """The canvas image of the moment is drawn before the picture is taken."""

    async def draw() -> bytes:
        r = await Renderer.start(CaptureConfig())
        try:
            await r.open_replayer()
            return await r.thumbnail(_canvas_events(), 320)
        finally:
            await r.close()

    img = Image.open(io.BytesIO(asyncio.run(draw()))).convert("RGB")
    r, g, b = img.getpixel((img.width // 2, img.height // 2))  # type: ignore[misc]
    assert g > 150 and r < 60 and b < 60, (r, g, b)
