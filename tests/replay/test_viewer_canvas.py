"""Canvases in the project's viewer, in real headless Chromium: a WebGL canvas and a 2D
animation recorded live replay with the live page's pixels; images decoded out of order end
with the newest frame drawn; an image that is not PNG, JPEG or WebP is never drawn."""

from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat
from playwright.async_api import BrowserContext
from playwright.sync_api import Browser, Page

from agent.config import load_config
from agent.keys import Keyring
from agent.rrweb import EventType, IncrementalSource, NodeType
from agent.testing import FakeClock
from tests.capture.harness import run_in_browser, start_recording
from tests.journals import EventSpec, write_scripted_session
from tests.replay.helpers import Viewer, start_viewer
from tests.waiting import wait_until_async

pytestmark = pytest.mark.browser

T0 = 1_700_000_000_000
CANVAS = 10
"""rrweb node id of the scripted session's canvas."""


def _png(size: tuple[int, int], color: tuple[int, int, int]) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _decode(data_url: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("RGB")


def _rr(kind: str, etype: int, data: dict[str, Any], ts: int) -> EventSpec:
    return (kind, {"type": etype, "data": data, "timestamp": ts}, "P")


def _canvas_event(ts: int, frame: int, mime: str, base64_data: str) -> EventSpec:
    blob = {
        "rr_type": "Blob",
        "data": [{"rr_type": "ArrayBuffer", "base64": base64_data}],
        "type": mime,
    }
    data = {
        "source": IncrementalSource.CANVAS_MUTATION,
        "id": CANVAS,
        "type": 0,
        "frame": frame,
        "commands": [
            {"property": "clearRect", "args": [0, 0, 200, 100]},
            {"property": "drawImage", "args": [{"rr_type": "ImageBitmap", "args": [blob]}, 0, 0]},
        ],
    }
    return _rr("rrweb.canvas", EventType.INCREMENTAL_SNAPSHOT, data, ts)


def _canvas_document() -> dict[str, Any]:
    def el(nid: int, tag: str, attrs: dict[str, Any], kids: list[Any]) -> dict[str, Any]:
        return {
            "type": NodeType.ELEMENT,
            "tagName": tag,
            "attributes": attrs,
            "childNodes": kids,
            "id": nid,
        }

    canvas = el(CANVAS, "canvas", {"id": "cv", "width": "200", "height": "100"}, [])
    body = el(5, "body", {"style": "margin:0"}, [canvas])
    return {
        "type": NodeType.DOCUMENT,
        "id": 1,
        "childNodes": [
            {
                "type": NodeType.DOCUMENT_TYPE,
                "name": "html",
                "publicId": "",
                "systemId": "",
                "id": 2,
            },
            el(3, "html", {}, [el(4, "head", {}, []), body]),
        ],
    }


def _session(home: Path, events: list[EventSpec]) -> str:
    Keyring.load_or_init(home)
    cfg = load_config(env={}, home=home)
    return write_scripted_session(home, cfg, FakeClock(), [events]).session_id


def _start(events: list[EventSpec]) -> list[EventSpec]:
    meta = {"href": "https://app.example/", "width": 400, "height": 300}
    snap = {"node": _canvas_document(), "initialOffset": {"left": 0, "top": 0}}
    return [
        _rr("rrweb.meta", EventType.META, meta, T0),
        _rr("rrweb.full_snapshot", EventType.FULL_SNAPSHOT, snap, T0 + 1),
        *events,
    ]


@contextlib.contextmanager
def _viewer(tmp: Path, events: list[EventSpec]) -> Iterator[Viewer]:
    """The viewer on a new session holding ``events``, stopped on exit."""
    home = tmp / "home"
    running = start_viewer(home, _session(home, events))
    try:
        yield next(running)
    finally:
        next(running, None)  # runs the generator's cleanup: the viewer process is stopped


def _at_end(browser: Browser, viewer: Viewer) -> Page:
    """The viewer seeked to the session's last event, its canvas images drawn."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(viewer.url, wait_until="load")
    page.wait_for_selector("body[data-state=ready]", state="attached", timeout=60_000)
    last = page.evaluate("window.__st.state.session.seq_last")
    page.evaluate("(s) => { window.__st.seek(s); }", last)
    page.wait_for_selector(f"body[data-frame='{last}']", state="attached", timeout=60_000)
    return page


def _on_screen(page: Page, selector: str) -> Image.Image:
    """The replayed canvas as the viewer shows it at 1:1 (a screenshot of its box)."""
    page.click("#zoom-1")
    page.wait_for_selector("body[data-zoom='1']", state="attached")
    box = page.evaluate(
        """(sel) => {
          const f = document.querySelector('#replay iframe');
          const c = f.contentDocument.querySelector(sel);
          const a = f.getBoundingClientRect(), b = c.getBoundingClientRect();
          return {x: Math.round(a.x + f.clientLeft + b.x), y: Math.round(a.y + f.clientTop + b.y),
                  width: Math.round(b.width), height: Math.round(b.height)};
        }""",
        selector,
    )
    return Image.open(io.BytesIO(page.screenshot(clip=box))).convert("RGB")


def _replayed_canvas(page: Page, selector: str) -> Image.Image:
    url = page.evaluate(
        "(sel) => document.querySelector('#replay iframe').contentDocument"
        ".querySelector(sel).toDataURL('image/png')",
        selector,
    )
    return _decode(str(url))


def test_newest_frame_wins_when_an_older_image_decodes_last(
    browser: Browser, tmp_path: Path
) -> None:
    """Frame 1 is a 4000x4000 PNG (slow to decode), frame 2 a small one: frame 2 is decoded
    first, frame 1 arrives after it and is dropped; the canvas shows frame 2."""
    events = _start(
        [
            _canvas_event(T0 + 100, 1, "image/png", _png((4000, 4000), (220, 0, 0))),
            _canvas_event(T0 + 200, 2, "image/png", _png((200, 100), (0, 200, 0))),
        ]
    )
    with _viewer(tmp_path, events) as viewer:
        page = _at_end(browser, viewer)
        stats = page.evaluate("window.__st.state.canvas.stats")
        assert stats == {"drawn": 1, "dropped": 1, "refused": 0}
        assert _replayed_canvas(page, "#cv").getpixel((100, 50)) == (0, 200, 0)
        assert _on_screen(page, "#cv").getpixel((100, 50)) == (0, 200, 0)
        page.close()


def test_only_png_jpeg_webp_images_are_drawn(browser: Browser, tmp_path: Path) -> None:
    """An SVG carrying a script, and bytes that claim to be PNG but are not, are refused; the
    canvas keeps the last real image."""
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>parent.__pwned=1</script>'
        b'<rect width="200" height="100" fill="red"/></svg>'
    )
    events = _start(
        [
            _canvas_event(T0 + 100, 1, "image/png", _png((200, 100), (0, 0, 200))),
            _canvas_event(T0 + 200, 2, "image/svg+xml", base64.b64encode(svg).decode()),
            _canvas_event(T0 + 300, 3, "image/png", base64.b64encode(svg).decode()),
        ]
    )
    with _viewer(tmp_path, events) as viewer:
        page = _at_end(browser, viewer)
        stats = page.evaluate("window.__st.state.canvas.stats")
        assert stats == {"drawn": 1, "dropped": 0, "refused": 2}
        assert _replayed_canvas(page, "#cv").getpixel((100, 50)) == (0, 0, 200)
        assert page.evaluate("window.__pwned") is None
        page.close()


# ---- recorded live in Chromium, replayed in the viewer -------------------------------------


def _record(path: str, selector: str) -> tuple[Image.Image, list[dict[str, Any]]]:
    """Record a fixture page to its end; its canvas as screenshotted live once the recorder
    has streamed that picture, and the recorder's events."""

    async def go(ctx: BrowserContext, base: str) -> tuple[bytes, list[dict[str, Any]]]:
        r = await start_recording(ctx, {"canvasMs": 250})
        await r.page.goto(f"{base}/{path}", wait_until="load")
        await r.wait_for("window.__fixtureDone === true")
        box = await r.page.eval_on_selector(
            selector,
            "(c) => { const b = c.getBoundingClientRect();"
            " return {x: Math.round(b.x), y: Math.round(b.y), width: c.width, height: c.height}; }",
        )
        live = await r.page.screenshot(clip=box)
        shot = Image.open(io.BytesIO(live)).convert("RGB")

        def streamed() -> bool:
            evs = r.rec.kinds("rrweb.canvas")
            if not evs:
                return False
            blob = evs[-1]["data"]["commands"][1]["args"][0]["args"][0]
            img = _decode("data:," + blob["data"][0]["base64"])
            return _difference(img, shot)[0] < 6

        await wait_until_async(
            streamed, what=f"the live picture of {path} in the stream", timeout_s=20
        )
        await r.flush()
        return live, r.rec.events()

    live, events = run_in_browser(go)
    return Image.open(io.BytesIO(live)).convert("RGB"), events


def _difference(a: Image.Image, b: Image.Image) -> tuple[float, float]:
    """(mean channel difference, share of pixels off by more than 48 in some channel)."""
    assert a.size == b.size, (a.size, b.size)
    diff = ImageChops.difference(a, b)
    r, g, b_ = (band.point(lambda v: 255 if v > 48 else 0) for band in diff.split())
    off = ImageChops.lighter(ImageChops.lighter(r, g), b_).histogram()[255]
    return sum(ImageStat.Stat(diff).mean) / 3, off / (a.size[0] * a.size[1])


def _replay_recorded(
    browser: Browser, tmp: Path, events: list[dict[str, Any]], selector: str
) -> tuple[Image.Image, Image.Image]:
    """The canvas ``selector`` as the viewer replays the recorded events at their end: its
    bitmap, and what the viewer shows of it."""
    specs: list[EventSpec] = [(e["k"], e["p"], "P") for e in events if e["k"].startswith("rrweb.")]
    with _viewer(tmp, specs) as viewer:
        page = _at_end(browser, viewer)
        try:
            return _replayed_canvas(page, selector), _on_screen(page, selector)
        finally:
            page.close()


@pytest.mark.parametrize(
    ("path", "selector"), [("fx_canvas_webgl.html", "#gl"), ("fx_canvas_2d.html", "#cv")]
)
def test_recorded_canvas_replays_with_the_live_pixels(
    browser: Browser, tmp_path: Path, path: str, selector: str
) -> None:
    """The canvas replayed in the viewer at the end of the recording, both its bitmap and
    what the viewer shows on screen (a script-less document shows a canvas' fallback, so the
    image is shown as its background), matches the live page's screenshot of it (lossy WebP:
    small differences allowed) and is not blank."""
    live, events = _record(path, selector)
    bitmap, shown = _replay_recorded(browser, tmp_path, events, selector)
    # On screen the box may sit a fraction of a pixel off the screenshot's grid: edges differ.
    for what, replayed, edges in (("bitmap", bitmap, 0.02), ("on screen", shown, 0.05)):
        mean, off = _difference(replayed, live)
        assert mean < 6 and off < edges, (what, mean, off)
        assert replayed.getextrema() != ((0, 0), (0, 0), (0, 0))
