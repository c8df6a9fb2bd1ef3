"""Canvas images from the recorder in real headless Chromium: every image carries its canvas'
growing frame number, a WebGL canvas (buffer not preserved) is imaged at its frame rather than
blank, and a blocked or masked canvas is never imaged."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import BrowserContext

from tests.capture.harness import Recorded, run_in_browser, start_recording
from tests.waiting import wait_until_async

pytestmark = pytest.mark.browser

MASK = {"rules": [{"id": "acct", "selector": "[data-sensitive]", "mode": "redact"}]}


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = [node]
    for k in node.get("childNodes", []):
        out.extend(_nodes(k))
    return out


def _canvas_nodes(r: Recorded) -> dict[str, dict[str, Any]]:
    """The canvases of the last full snapshot (the page's; the first is about:blank's) by
    their id attribute (a blocked element keeps only its class: ``rr-block``)."""
    snap = r.rec.kinds("rrweb.full_snapshot")[-1]["data"]["node"]
    return {
        n["attributes"].get("id", n["attributes"].get("class")): n
        for n in _nodes(snap)
        if n.get("tagName") == "canvas"
    }


def _image(data: dict[str, Any]) -> Image.Image:
    blob = data["commands"][1]["args"][0]["args"][0]
    return Image.open(io.BytesIO(base64.b64decode(blob["data"][0]["base64"]))).convert("RGBA")


def _pixel(img: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    px = img.getpixel(xy)
    assert isinstance(px, tuple)
    return px


def _near(a: tuple[int, ...], b: list[int], tol: int = 24) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a[:3], b[:3], strict=True))


async def _record(
    ctx: BrowserContext, base: str, path: str, done: str, cfg: dict[str, Any] | None = None
) -> Recorded:
    r = await start_recording(ctx, {"canvasMs": 250, **(cfg or {})})
    await r.page.goto(f"{base}/{path}", wait_until="load")
    await r.wait_for(done)
    return r


def test_masked_and_blocked_canvases_are_never_imaged() -> None:
    """Three canvases draw the same account text: only the one outside any mask rule or
    rr-block is imaged, in the snapshot and in the stream."""

    async def go(ctx: BrowserContext, base: str) -> Recorded:
        r = await _record(
            ctx, base, "recorder_canvas_mask.html", "window.__done === true", {"mask": MASK}
        )
        await r.flush()
        return r

    r = run_in_browser(go)
    nodes = _canvas_nodes(r)
    ids = {name: n["id"] for name, n in nodes.items()}
    imaged = {e["data"]["id"] for e in r.rec.kinds("rrweb.canvas")}
    assert ids["plain"] in imaged
    assert ids["rr-block"] not in imaged and ids["masked"] not in imaged
    assert "rr_dataURL" in nodes["plain"]["attributes"]
    assert "rr_dataURL" not in nodes["rr-block"]["attributes"]
    assert "rr_dataURL" not in nodes["masked"]["attributes"]


def test_each_canvas_image_carries_a_growing_frame_number() -> None:
    """Snapshot image and stream images of one canvas: rr_canvasFrame, then frame 2, 3, ..."""

    async def go(ctx: BrowserContext, base: str) -> Recorded:
        r = await _record(ctx, base, "recorder_canvas.html", "window.__done === true")
        await r.flush()
        return r

    r = run_in_browser(go)
    node = _canvas_nodes(r)["cv"]
    first = node["attributes"]["rr_canvasFrame"]
    frames = [
        e["data"]["frame"] for e in r.rec.kinds("rrweb.canvas") if e["data"]["id"] == node["id"]
    ]
    assert len(frames) >= 2
    assert frames == list(range(first + 1, first + 1 + len(frames)))


def test_webgl_canvas_is_imaged_with_its_last_frame_not_blank() -> None:
    """A WebGL canvas whose buffer is cleared after each frame: the last image streamed shows
    the page's last step (its clear colour and triangle), not a blank canvas."""

    async def go(ctx: BrowserContext, base: str) -> tuple[Recorded, dict[str, Any]]:
        r = await _record(ctx, base, "fx_canvas_webgl.html", "window.__fixtureDone === true")
        assert await r.page.evaluate("window.__fixtureGl") is True
        expect = await r.page.evaluate("window.__fixtureExpect")

        def last_is_final() -> bool:
            evs = r.rec.kinds("rrweb.canvas")
            return bool(evs) and _near(_pixel(_image(evs[-1]["data"]), (3, 3)), expect["corner"])

        await wait_until_async(
            last_is_final, what="the last WebGL step in the stream", timeout_s=15
        )
        return r, expect

    r, expect = run_in_browser(go)
    last = _image(r.rec.kinds("rrweb.canvas")[-1]["data"])
    assert _near(_pixel(last, (100, 60)), expect["center"])
    assert _pixel(last, (100, 60))[3] == 255
