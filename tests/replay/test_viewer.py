"""The viewer page in real Chromium, on a small scripted session: the replayed page fits its
pane, icons draw, actions step the replayer, the moment round-trips through the URL, the
time bar marks what happened, the offline copy finishes loading."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.replay.helpers import Viewer, cli, start_viewer
from tests.replay.viewer_session import HEIGHT, WIDTH, write_viewer_session

pytestmark = pytest.mark.browser

ICONS = ["prev-action", "prev-event", "play", "next-event", "next-action", "zoom-in", "zoom-out"]
INK = """async (sel) => {
  const svg = document.querySelector(sel + ' svg.icon');
  const box = svg.getBoundingClientRect(), st = getComputedStyle(svg);
  const src = 'data:image/svg+xml,' + encodeURIComponent(new XMLSerializer()
    .serializeToString(svg).replace('<svg ', '<svg fill="' + st.fill + '" '));
  const img = new Image();
  await new Promise((ok, bad) => { img.onload = ok; img.onerror = bad; img.src = src; });
  const c = document.createElement('canvas');
  c.width = 32; c.height = 32;
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0, 32, 32);
  const px = g.getImageData(0, 0, 32, 32).data;
  let inked = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 128) inked++;
  return {w: box.width, h: box.height, visible: st.visibility, display: st.display, inked};
}"""


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(state dir, session id) of the scripted viewer session."""
    home = tmp_path_factory.mktemp("viewer") / "home"
    return home, write_viewer_session(home)


@pytest.fixture(scope="module")
def viewer(session: tuple[Path, str]) -> Iterator[Viewer]:
    yield from start_viewer(*session)


@pytest.fixture(scope="module")
def actions(browser: Browser, viewer: Viewer) -> list[dict[str, Any]]:
    """The viewer's action list (derived from the timeline on this branch)."""
    p = _open(browser, viewer.url)
    try:
        return list(p.evaluate("window.__st.actions()"))
    finally:
        p.close()


def _open(browser: Browser, url: str, seq: int | None = None) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url if seq is None else f"{url.split('#')[0]}#seq={seq}", wait_until="load")
    want = "" if seq is None else f"[data-seq='{seq}']"
    page.wait_for_selector(f"body[data-state=ready]{want}", state="attached", timeout=60_000)
    return page


def _ready_at(page: Page, seq: int) -> None:
    page.wait_for_selector(
        f"body[data-state=ready][data-seq='{seq}']", state="attached", timeout=60_000
    )


def _boxes(page: Page) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => { const r = (e) => { const b = e.getBoundingClientRect();
              return {x: b.x, y: b.y, w: b.width, h: b.height}; };
              return {pane: r(document.getElementById('pane')),
                      page: r(document.querySelector('#replay iframe')),
                      side: r(document.getElementById('side'))}; }"""
        )
    )


def _fits(b: dict[str, Any]) -> bool:
    pane, pg = b["pane"], b["page"]
    inside = (
        pg["x"] >= pane["x"] - 1
        and pg["y"] >= pane["y"] - 1
        and pg["x"] + pg["w"] <= pane["x"] + pane["w"] + 1
        and pg["y"] + pg["h"] <= pane["y"] + pane["h"] + 1
    )
    touches = abs(pg["w"] - pane["w"]) <= 1 or abs(pg["h"] - pane["h"]) <= 1
    return bool(inside and touches and abs(pg["w"] / pg["h"] - WIDTH / HEIGHT) < 0.01)


def test_replayed_page_fits_its_pane_and_refits_when_the_side_panel_widens(
    browser: Browser, viewer: Viewer
) -> None:
    """The recorded 1000 x 600 viewport is scaled to fill its pane with its aspect kept;
    dragging the side panel 300 px wider shrinks the pane and the page re-fits it."""
    p = _open(browser, viewer.url)
    try:
        before = _boxes(p)
        assert _fits(before), before
        split = p.locator("#split").bounding_box()
        assert split is not None
        x, y = split["x"] + split["width"] / 2, split["y"] + 50
        p.mouse.move(x, y)
        p.mouse.down()
        p.mouse.move(x - 150, y)
        p.mouse.move(x - 300, y)
        p.mouse.up()
        p.wait_for_function(
            "(w) => document.getElementById('side').getBoundingClientRect().width > w + 250",
            arg=before["side"]["w"],
        )
        p.wait_for_function(
            "(w) => document.querySelector('#replay iframe').getBoundingClientRect().width < w",
            arg=before["page"]["w"],
        )
        after = _boxes(p)
        assert _fits(after), after
        assert after["page"]["w"] < before["page"]["w"] - 200
    finally:
        p.close()


def test_zoom_keys_scale_the_page_and_0_fits_it_again(browser: Browser, viewer: Viewer) -> None:
    """'+' zooms past fit (the pane scrolls), '1:1' shows the recorded size, '0' fits."""
    p = _open(browser, viewer.url)
    try:
        fit = _boxes(p)["page"]["w"]
        p.keyboard.press("+")
        p.wait_for_selector("body:not([data-zoom=fit])", state="attached")
        assert _boxes(p)["page"]["w"] == pytest.approx(fit * 1.25, abs=2)
        p.click("#zoom-1")
        p.wait_for_selector("body[data-zoom='1']", state="attached")
        assert _boxes(p)["page"]["w"] == pytest.approx(WIDTH, abs=1)
        p.keyboard.press("0")
        p.wait_for_selector("body[data-zoom=fit]", state="attached")
        assert _fits(_boxes(p))
    finally:
        p.close()


def test_every_control_icon_draws_ink_without_a_font(browser: Browser, viewer: Viewer) -> None:
    """Each control's icon is an inline SVG with a non-empty box that, drawn on a canvas,
    has opaque pixels; no control still depends on a symbol glyph (⏮ ⏭ ▶ ⏸)."""
    p = _open(browser, viewer.url)
    try:
        for name in ICONS:
            ink = p.evaluate(INK, f"#{name}")
            assert ink["w"] >= 10 and ink["h"] >= 10, (name, ink)
            assert ink["visible"] == "visible" and ink["display"] != "none", (name, ink)
            assert ink["inked"] > 40, (name, ink)
        controls = p.inner_text("#controls")
        assert not any(g in controls for g in "⏮⏭▶⏸◀")
    finally:
        p.close()


def test_next_action_moves_the_replayer_to_the_next_actions_seq(
    browser: Browser, viewer: Viewer, actions: list[dict[str, Any]]
) -> None:
    """From the first click, → and the button land on the following actions' seqs, and the
    replayed heading shows what the earlier clicks did; ← steps back."""
    clicks = [a for a in actions if a["text"].startswith("click")]
    assert len(clicks) == 4
    p = _open(browser, viewer.url, clicks[0]["seq"])
    try:
        p.keyboard.press("ArrowRight")
        _ready_at(p, actions[1]["seq"])
        p.click("#next-action")
        _ready_at(p, actions[2]["seq"])
        heading = "document.querySelector('#replay iframe').contentDocument.getElementById('h')"
        assert p.evaluate(heading + ".textContent") == "clicked 2"
        p.keyboard.press("ArrowLeft")
        _ready_at(p, actions[1]["seq"])
        assert p.evaluate(heading + ".textContent") == "clicked 1"
        assert p.locator("#actions li.cur").get_attribute("data-seq") == str(actions[1]["seq"])
    finally:
        p.close()


def test_action_list_shows_each_action_with_the_requests_it_caused(
    browser: Browser, viewer: Viewer, actions: list[dict[str, Any]]
) -> None:
    """The first click caused the POST that failed with 500: its entry says so, in red."""
    p = _open(browser, viewer.url)
    try:
        assert p.locator("#actions li").count() == len(actions)
        req = p.locator(f"#actions li[data-seq='{actions[0]['seq']}'] .req")
        assert req.inner_text() == "500 POST https://app.example/order"
        assert "err" in (req.get_attribute("class") or "")
        p.click(f"#actions li[data-seq='{actions[3]['seq']}']")
        _ready_at(p, actions[3]["seq"])
    finally:
        p.close()


def test_time_bar_marks_actions_errors_dialogs_gaps_and_masked_moments(
    browser: Browser, viewer: Viewer
) -> None:
    """One bar carries every kind of mark, each labelled on hover; a gap is a hatched range."""
    p = _open(browser, viewer.url)
    try:
        marks = p.evaluate(
            """[...document.querySelectorAll('#timebar [data-type]')].map((m) =>
              ({type: m.dataset.type, title: m.title, w: m.getBoundingClientRect().width,
                bg: getComputedStyle(m).backgroundImage}))"""
        )
        by_type = {m["type"]: m for m in marks}
        assert {"action", "neterr", "dialog", "gap", "masked"} <= set(by_type)
        assert by_type["neterr"]["title"].startswith("500 ")
        assert by_type["dialog"]["title"].startswith("dialog alert")
        assert by_type["gap"]["w"] > 20 and "repeating-linear-gradient" in by_type["gap"]["bg"]
        assert by_type["masked"]["title"] == "masked value: key 5 in #ssn"
    finally:
        p.close()


def test_the_moment_round_trips_through_the_url_without_the_token(
    browser: Browser, viewer: Viewer, actions: list[dict[str, Any]]
) -> None:
    """Stepping writes #seq=<n> (replacing, not pushing, history); opening the viewer with
    that hash lands there; the address bar never holds the token."""
    p = _open(browser, viewer.url, actions[0]["seq"])
    try:
        length = p.evaluate("history.length")
        p.keyboard.press("ArrowRight")
        _ready_at(p, actions[1]["seq"])
        p.keyboard.press("ArrowRight")
        _ready_at(p, actions[2]["seq"])
        assert p.evaluate("location.hash") == f"#seq={actions[2]['seq']}"
        assert viewer.token not in p.url
        assert p.evaluate("history.length") == length
        shared = p.evaluate("location.hash")
    finally:
        p.close()
    q = _open(browser, viewer.url.split("#")[0] + shared, actions[2]["seq"])
    q.close()


def test_shortcut_help_opens_with_question_mark(browser: Browser, viewer: Viewer) -> None:
    """'?' shows the shortcut list and Escape hides it."""
    p = _open(browser, viewer.url)
    try:
        p.keyboard.press("?")
        assert p.locator("#help").is_visible()
        assert "previous / next action" in p.inner_text("#help")
        p.keyboard.press("Escape")
        assert not p.locator("#help").is_visible()
    finally:
        p.close()


def test_offline_viewer_finishes_loading_and_renders_the_first_frame(
    browser: Browser, session: tuple[Path, str], tmp_path: Path
) -> None:
    """Opened from file://, the exported viewer's load event fires, the first frame is built,
    and the replayed page fits its pane there too."""
    home, sid = session
    out = tmp_path / "bundle"
    r = cli(home, "export", sid, "--out", str(out))
    assert r.returncode == 0, r.stderr
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.evaluate("0")  # the page exists before navigation, so load can be awaited
        page.goto((out / "viewer" / sid / "viewer.html").as_uri(), wait_until="load")
        page.wait_for_selector("body[data-frame]", state="attached", timeout=60_000)
        assert page.evaluate("document.readyState") == "complete"
        doc = "document.querySelector('#replay iframe').contentDocument"
        assert page.evaluate(doc + ".readyState") == "complete"
        assert page.evaluate(doc + ".getElementById('b').textContent") == "Send"
        assert _fits(_boxes(page))
        page.wait_for_selector("body[data-state=ready]", state="attached", timeout=60_000)
        seq = page.evaluate("document.body.dataset.seq")
        assert page.evaluate("location.hash") == f"#seq={seq}"
    finally:
        page.close()


def test_zooming_the_time_bar_shows_the_whole_session_on_a_minimap(
    browser: Browser, viewer: Viewer
) -> None:
    """Ctrl+wheel on the bar narrows its window (fewer marks fit); the minimap appears with
    every mark and a view box narrower than itself; double click resets."""
    p = _open(browser, viewer.url)
    try:
        assert p.locator("#minimap").is_hidden()
        full = p.locator("#timebar [data-type]").count()
        box = p.locator("#timebar").bounding_box()
        assert box is not None
        p.mouse.move(box["x"] + 5, box["y"] + box["height"] / 2)
        p.keyboard.down("Control")
        for _ in range(4):
            p.mouse.wheel(0, -100)
        p.keyboard.up("Control")
        p.wait_for_selector("#minimap:not([hidden])", state="attached")
        assert p.locator("#minimap [data-type]").count() == full
        assert p.locator("#timebar [data-type]").count() < full
        view = p.locator("#minimap-view").bounding_box()
        mini = p.locator("#minimap").bounding_box()
        assert view is not None and mini is not None and view["width"] < mini["width"] / 2
        p.dblclick("#timebar", position={"x": 2, "y": 2})
        p.wait_for_selector("#minimap[hidden]", state="attached")
    finally:
        p.close()


def test_actions_in_the_session_data_drive_the_list_and_the_stepping(
    browser: Browser, viewer: Viewer, actions: list[dict[str, Any]]
) -> None:
    """When the session data carries ``actions`` (``Action.as_dict()``), the viewer lists
    those, in words, with their caused requests, and steps through exactly them."""
    from agent.actions.model import Action, CausedRequest, Target

    clicks = [a for a in actions if a["text"].startswith("click")]
    given = [
        Action(
            seq=clicks[0]["seq"],
            seq_first=clicks[0]["seq"],
            t_utc_ns=clicks[0]["t_utc_ns"],
            verb="click",
            text="clicked button 'Send'",
            target=Target(role="button", name="Send"),
            requests=(
                CausedRequest(seq=5, method="POST", url="https://app.example/o", status=500),
            ),
        ).as_dict(),
        Action(
            seq=clicks[2]["seq"],
            seq_first=clicks[2]["seq"],
            t_utc_ns=clicks[2]["t_utc_ns"],
            verb="type",
            text="typed '[redacted]' into 'SSN'",
            value="[redacted]",
            masked="redact",
        ).as_dict(),
    ]
    page = browser.new_page(viewport={"width": 1400, "height": 900})

    def with_actions(route: Any) -> None:
        resp = route.fetch()
        route.fulfill(response=resp, json={**resp.json(), "actions": given})

    page.route("**/api/session*", with_actions)
    try:
        page.goto(f"{viewer.url.split('#')[0]}#seq={given[0]['seq']}", wait_until="load")
        _ready_at(page, given[0]["seq"])
        items = page.locator("#actions li")
        assert items.count() == 2
        assert "(from the timeline entries)" not in page.inner_text("#actions-note")
        assert page.inner_text("#actions li:first-child .txt") == "clicked button 'Send'"
        assert page.inner_text("#actions li:first-child .req") == "500 POST https://app.example/o"
        page.keyboard.press("ArrowRight")
        _ready_at(page, given[1]["seq"])
        assert "masked" in (items.nth(1).get_attribute("class") or "")
        marks = page.evaluate(
            "[...document.querySelectorAll('#timebar [data-type=masked]')].map((m) => m.title)"
        )
        assert "masked value (redact): typed '[redacted]' into 'SSN'" in marks
    finally:
        page.close()
