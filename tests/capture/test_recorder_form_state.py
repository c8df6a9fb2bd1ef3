"""Form state in snapshots: the replay's first frame shows the controls as the page did.

``fx_form_state.html`` sets selects, a multi-select, checkboxes, radios and values by script
before the first snapshot, against its own HTML attributes, in the page, an open shadow root
and a same-origin iframe. The recorded snapshot must carry the live state, and rrweb's
Replayer must draw it: the replayed frame is compared with a screenshot of the live page.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image, ImageChops
from playwright.async_api import BrowserContext

from tests.capture.harness import run_in_browser, start_recording
from tests.mask.selector_table import by_dom_id

pytestmark = pytest.mark.browser

PAGE = "fx_form_state.html"
# Pixels whose colour differs by more than DIFF_LEVEL in some channel; a wrong checkbox or
# option changes hundreds (40 px boxes, 16 px text), anti-aliasing a handful.
DIFF_LEVEL = 48
MAX_DIFF_PIXELS = 60

REPLAY_FRAME_JS = r"""
async (events) => {
  const root = document.getElementById('root');
  const replayer = new rrweb.Replayer(events, {root, UNSAFE_replayCanvas: false,
                                               showWarning: false, mouseTail: false});
  // Events strictly before the offset are applied: +1 takes in the last one.
  replayer.pause(replayer.getMetaData().totalTime + 1);
  await new Promise((r) => setTimeout(r, 500));
  return true;
}
"""
REPLAY_STYLE = (
    "body{margin:0} .replayer-mouse,.replayer-mouse-tail{display:none!important}"
    " .replayer-wrapper{position:absolute;left:0;top:0}"
)


async def _replay_shot(ctx: BrowserContext, base: str, events: list[dict[str, Any]]) -> bytes:
    """A screenshot of the replayed page (rrweb's Replayer, paused at the events' end)."""
    page = await ctx.new_page()
    try:
        await page.set_viewport_size({"width": 1400, "height": 900})
        await page.goto(f"{base}/recorder_replay.html", wait_until="domcontentloaded")
        await page.add_style_tag(content=REPLAY_STYLE)
        await page.evaluate(REPLAY_FRAME_JS, events)
        box = await page.evaluate(
            "(() => { const f = document.querySelector('#root iframe');"
            " const r = f.getBoundingClientRect();"
            " return {x: r.left + f.clientLeft, y: r.top + f.clientTop,"
            " width: f.clientWidth, height: f.clientHeight}; })()"
        )
        return await page.screenshot(clip=box)  # the replayed page, without the frame border
    finally:
        await page.close()


def _diff_pixels(a: bytes, b: bytes) -> int:
    """How many pixels of two same-size screenshots differ visibly."""
    ia = Image.open(io.BytesIO(a)).convert("RGB")
    ib = Image.open(io.BytesIO(b)).convert("RGB")
    assert ia.size == ib.size, (ia.size, ib.size)
    r, g, b_ = ImageChops.difference(ia, ib).split()
    worst = ImageChops.lighter(ImageChops.lighter(r, g), b_)  # largest channel difference
    return sum(worst.histogram()[DIFF_LEVEL + 1 :])


def _from_page_meta(events: list[dict[str, Any]], last: bool) -> list[dict[str, Any]]:
    """The rrweb events from the fixture page's first (or last) Meta on."""
    metas = [
        i
        for i, e in enumerate(events)
        if e["k"] == "rrweb.meta" and str(e["p"]["data"]["href"]).endswith(PAGE)
    ]
    start = metas[-1] if last else metas[0]
    return [e["p"] for e in events[start:] if e["k"].startswith("rrweb.")]


def _record() -> dict[str, Any]:
    async def go(ctx: BrowserContext, base: str) -> dict[str, Any]:
        r = await start_recording(ctx)
        await r.page.goto(f"{base}/{PAGE}", wait_until="load")
        await r.wait_for("window.__fixtureDone === true")
        await r.flush()
        t0 = await r.page_eval("Date.now()")
        live0 = await r.page.screenshot()
        events0 = [e for e in _from_page_meta(r.rec.events(), False) if e["timestamp"] <= t0]
        shot0 = await _replay_shot(ctx, base, events0)
        await r.page.click("#typed")
        await r.page.keyboard.type("typed by hand")
        await r.page_eval("document.activeElement.blur()")
        await r.recorder_eval("__st_snapshot()")
        await r.flush()
        live1 = await r.page.screenshot()
        shot1 = await _replay_shot(ctx, base, _from_page_meta(r.rec.events(), True))
        return {"events": r.rec.events(), "live0": live0, "shot0": shot0, "live1": live1,
                "shot1": shot1}  # fmt: skip

    out: dict[str, Any] = run_in_browser(go, timeout_s=120)
    return out


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    return _record()


def _first_snapshot_nodes(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Elements by id in the page's first snapshot and the iframe content attached with it."""
    evs = _from_page_meta(events, False)
    snap = next(e for e in evs if e["type"] == 2)["data"]["node"]
    frames = [
        a["node"]
        for e in evs
        if e["type"] == 3 and e["data"].get("source") == 0 and e["data"].get("isAttachIframe")
        for a in e["data"]["adds"]
    ]
    return by_dom_id(snap, *frames)


def _selected(select: dict[str, Any]) -> list[str]:
    return [
        o["attributes"]["value"]
        for o in select["childNodes"]
        if o.get("tagName") == "option" and "selected" in o["attributes"]
    ]


def test_first_snapshot_holds_live_selection_checked_state_and_values(
    recorded: dict[str, Any],
) -> None:
    """Options carry `selected` and boxes `checked` exactly as the page has them (not as the
    HTML said), values are the live ones, in the page, a shadow root and an iframe."""
    n = _first_snapshot_nodes(recorded["events"])
    assert _selected(n["sel"]) == ["opt3"]
    assert _selected(n["multi"]) == ["b", "c"]
    assert "checked" not in n["cb1"]["attributes"] and n["cb2"]["attributes"]["checked"] is True
    assert "checked" not in n["radio-a"]["attributes"]
    assert n["radio-b"]["attributes"]["checked"] is True
    assert n["text"]["attributes"]["value"] == "scripted"
    assert n["emptied"]["attributes"]["value"] == ""
    assert n["area"]["attributes"]["value"] == "scripted text"
    assert "checked" not in n["scb"]["attributes"] and _selected(n["ssel"]) == ["q"]
    assert "checked" not in n["fcb"]["attributes"] and _selected(n["fsel"]) == ["y"]


def test_replayed_first_frame_matches_the_live_page(recorded: dict[str, Any]) -> None:
    """rrweb's Replayer draws the first snapshot as the live page looked (pixels)."""
    assert _diff_pixels(recorded["live0"], recorded["shot0"]) <= MAX_DIFF_PIXELS


def test_replayed_keyframe_after_typing_matches_the_live_page(recorded: dict[str, Any]) -> None:
    """A keyframe taken after typing replays the typed value and every scripted state."""
    assert _diff_pixels(recorded["live1"], recorded["shot1"]) <= MAX_DIFF_PIXELS
