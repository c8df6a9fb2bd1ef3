"""Replays of the fixture pages match the live page, pixel for pixel, in real Chromium.

Each page is recorded through the agent's own capture (:class:`CaptureSession`: the recorder
bundle in its isolated world, closed shadow roots through CDP), served by the demo app. Once
the page says it is done (``window.__fixtureDone``) and still, the live viewport is captured
with ``Page.captureScreenshot``; a canvas must first have reached the recording (the newest
image of it in the stream shows what the live canvas shows). The events go into a real
sealed journal, the replay viewer (``sessiontape replay``) shows the session's last event,
and the replayed page inside its iframe, at 1:1 and the same viewport size, is compared with
the live screenshot (:func:`agent.redrive.pixels.compare`).

Tolerance: a pixel differs when a colour channel differs by more than 48 from every pixel of
the other picture up to one pixel away (text anti-aliasing; a box laid out half a pixel
apart). Outside canvases no pixel may differ. A canvas travels as a lossy WebP image (quality
0.7, colour sampled per 2x2 pixels: a hard edge between two colours turns into a mix of both
along the edge), so inside a canvas' box at most :data:`CANVAS_SHARE` of the pixels may
differ: the edges of what it drew, while a canvas drawn one frame early or late differs over
its changed shapes or all of it.

Left out: password inputs (the recorder always sends a fixed marker for their value, so the
replay shows a different number of dots, on purpose: no length leaks) and masking in
general (the sink is not a masking sink), and the agent's recording notice bar (shown in the
title only here: the bar is the agent's, drawn over the page, and never recorded).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser

from agent.capture.session import CaptureSession
from agent.clock import SystemClock
from agent.config import load_config
from agent.demo_app import running_demo_app
from agent.events import Event
from agent.keys import Keyring
from agent.redrive.pixels import Box, compare, open_png, png
from agent.rrweb import EventType, IncrementalSource
from agent.testing import MemorySink
from tests.capture.servers import capture_config
from tests.journals import open_journal
from tests.mask.selector_table import by_dom_id
from tests.replay.helpers import Viewer, start_viewer
from tests.waiting import wait_until_async

pytestmark = pytest.mark.browser

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
WIDTH, HEIGHT = 960, 640
"""The recorded viewport (CSS pixels, device scale 1)."""
CANVAS_SHARE = 0.02
"""Share of a canvas' pixels that may differ (the lossy image's colour edges)."""
RECORDED_WAIT_S = 20
"""How long a page's last texts may take to reach the recording (the recorder's shadow scan
runs every second; the agent's closed-root lookup follows the batch that asks for it)."""


@dataclass(frozen=True)
class Case:
    """A fixture page (with its query) and the ids of its canvases (their images must reach
    the stream before it ends)."""

    path: str
    canvases: tuple[str, ...] = ()
    # Texts the recording must hold before it ends: shadow roots the recorder finds by its
    # periodic scan (an open root attached late, a custom element defined late) and closed
    # roots the agent hands over reach the stream a scan period after the page is done.
    recorded: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.path.split("?")[0].removesuffix(".html")


CASES: list[Any] = [
    Case("fx_canvas_webgl.html", ("gl",)),
    Case("fx_canvas_2d.html", ("cv",)),
    Case("fx_svg_canvas.html?frames=7", ("cv",)),
    Case("fx_form_state.html"),
    Case(
        "fx_closed_shadow.html",
        recorded=("vault closed changed", "late defined changed", "added later changed"),
    ),
    Case("fx_shadow.html", recorded=("late shadow changed", "closed shadow changed")),
    Case("fx_cssom.html"),
    Case("fx_values.html"),
    Case("fx_iframes.html"),
    Case("fx_popup.html"),
    Case("fx_selectors.html"),
    Case("fx_tamper.html?changes=12"),
    Case("fx_secrets.html"),
]


@dataclass
class Live:
    """What was recorded: the live viewport's screenshot and the recorded tab's events."""

    shot: Image.Image
    events: list[Event]
    passwords: list[Box]  # boxes of the password inputs (their values are always redacted)
    canvases: list[Box]


def _latest_image(events: list[Event], dom_id: str) -> Image.Image | None:
    """The newest picture of canvas ``#dom_id`` in the stream (its last snapshot's image or a
    later canvas event's, whichever has the highest frame number)."""
    snaps = [e for e in events if e.kind == "rrweb.full_snapshot"]
    if not snaps:
        return None
    at = events.index(snaps[-1])
    node = by_dom_id(snaps[-1].payload["data"]["node"]).get(dom_id)
    if node is None:
        return None
    attrs = node["attributes"]
    best = (int(attrs.get("rr_canvasFrame", 0)), attrs.get("rr_dataURL"))
    for e in events[at:]:
        d = e.payload.get("data", {})
        if (
            e.payload.get("type") == EventType.INCREMENTAL_SNAPSHOT
            and d.get("source") == IncrementalSource.CANVAS_MUTATION
            and d.get("id") == node["id"]
            and int(d.get("frame", 0)) >= best[0]
        ):
            blob = d["commands"][1]["args"][0]["args"][0]
            best = (int(d["frame"]), "data:," + blob["data"][0]["base64"])
    if not isinstance(best[1], str):
        return None
    return open_png(base64.b64decode(best[1].split(",", 1)[1]))


async def _boxes(page: Any, selector: str) -> list[Box]:
    """The viewport boxes of the elements matching ``selector`` in the page."""
    boxes = await page.evaluate(
        f"Array.from(document.querySelectorAll({selector!r})).map((e) => {{"
        " const b = e.getBoundingClientRect();"
        " return [b.left, b.top, b.right, b.bottom].map(Math.round); })"
    )
    return [(int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in boxes]


async def _record(home: Path, case: Case) -> Live:
    """Record ``case`` to its still end through the agent's capture."""
    sink = MemorySink()
    # The recording notice is shown in the title only: the bar over the page is the agent's,
    # never recorded (it is not the page), and would cover the top of the live screenshot.
    cfg = capture_config(viewport_width=WIDTH, viewport_height=HEIGHT, indicator="title")
    async with running_demo_app(fixtures_dir=PAGES) as app:
        cs = CaptureSession(cfg, sink, SystemClock(), home)
        await cs.start()
        try:
            page = cs.page
            await page.goto(f"{app.url}fixtures/{case.path}", wait_until="load")
            await page.wait_for_function("window.__fixtureDone === true", timeout=30)
            shot = await page.send("Page.captureScreenshot", {"format": "png"})
            live = open_png(base64.b64decode(shot["data"]))
            canvases = [(await _boxes(page, f"#{dom_id}"))[0] for dom_id in case.canvases]
            for dom_id, box in zip(case.canvases, canvases, strict=True):

                def arrived(d: str = dom_id, w: Image.Image = live.crop(box)) -> bool:
                    got = _latest_image(list(sink.events), d)
                    return got is not None and _canvas_matches(got, w)

                await wait_until_async(arrived, what=f"the live picture of #{dom_id} recorded")
            if case.recorded:

                def holds() -> bool:
                    text = str([e.payload for e in sink.events if e.kind.startswith("rrweb.")])
                    return all(t in text for t in case.recorded)

                what = f"{case.recorded} in the recording"
                await wait_until_async(holds, what=what, timeout_s=RECORDED_WAIT_S)
            passwords = await _boxes(page, "input[type=password]")
            tab = page.target_id
        finally:
            await cs.stop()
    events = [e for e in sink.events if e.page in (tab, None)]
    return Live(live, events, passwords, canvases)


def _canvas_matches(a: Image.Image, b: Image.Image) -> bool:
    """Two pictures of a canvas' box differ on at most :data:`CANVAS_SHARE` of its pixels."""
    return compare(a, b, []).changed <= CANVAS_SHARE * a.width * a.height


def _record_in_thread(home: Path, case: Case) -> Live:
    """Run the capture on its own event loop thread (Playwright's sync API owns this one)."""
    out: list[Live] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            out.append(asyncio.run(_record(home, case)))
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(180)
    if errors:
        raise errors[0]
    assert out, f"recording {case.path} did not finish"
    return out[0]


def _journal(home: Path, events: list[Event]) -> str:
    """A sealed session holding the recorded events, as the pipeline writes them."""
    Keyring.load_or_init(home)
    j = open_journal(home, load_config(env={}, home=home))
    j.append_many(events)
    j.close()
    return j.session_id


@contextlib.contextmanager
def _viewer(home: Path, session: str) -> Iterator[Viewer]:
    running = start_viewer(home, session)
    try:
        yield next(running)
    finally:
        next(running, None)  # runs the generator's cleanup: the viewer process is stopped


def _replayed(browser: Browser, viewer: Viewer) -> Image.Image:
    """The replayed page at the session's last event, at 1:1, as the viewer shows it."""
    page = browser.new_page(viewport={"width": WIDTH + 900, "height": HEIGHT + 500})
    try:
        page.goto(viewer.url, wait_until="load")
        page.wait_for_selector("body[data-state=ready]", state="attached", timeout=60_000)
        last = page.evaluate("window.__st.state.session.seq_last")
        page.evaluate("(s) => { window.__st.seek(s); }", last)
        page.wait_for_selector(f"body[data-frame='{last}']", state="attached", timeout=60_000)
        # The replayer's cursor is the viewer's, drawn over the page: hidden for the picture.
        page.evaluate(
            "document.querySelectorAll('.replayer-mouse')"
            ".forEach((m) => m.style.setProperty('display', 'none'))"
        )
        page.click("#zoom-1")
        page.wait_for_selector("body[data-zoom='1']", state="attached")
        box = page.evaluate(
            """() => {
              const f = document.querySelector('#replay iframe');
              const a = f.getBoundingClientRect();
              return {x: a.x + f.clientLeft, y: a.y + f.clientTop,
                      width: f.clientWidth, height: f.clientHeight};
            }"""
        )
        return open_png(page.screenshot(clip=box))
    finally:
        page.close()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_replay_matches_the_live_page(browser: Browser, tmp_path: Path, case: Case) -> None:
    """The viewer's replay of the recorded page, at its end, shows what the live page showed:
    no pixel differs beyond anti-aliasing outside canvases, and a canvas only on the edges a
    lossy image blurs."""
    home = tmp_path / "home"
    live = _record_in_thread(home, case)
    with _viewer(home, _journal(home, live.events)) as viewer:
        replayed = _replayed(browser, viewer)
    assert replayed.size == live.shot.size == (WIDTH, HEIGHT)
    page = compare(live.shot, replayed, live.passwords + live.canvases)
    canvases = [_canvas_matches(replayed.crop(b), live.shot.crop(b)) for b in live.canvases]
    if page.changed or not all(canvases):  # the pictures, for whoever reads the failure
        (tmp_path / "live.png").write_bytes(png(live.shot))
        (tmp_path / "replay.png").write_bytes(png(replayed))
        (tmp_path / "diff.png").write_bytes(png(compare(live.shot, replayed, []).image))
    assert page.changed == 0, f"{page.changed} pixels differ outside canvases, see {tmp_path}"
    assert all(canvases), f"canvases matching: {canvases}, see {tmp_path}"
