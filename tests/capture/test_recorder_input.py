"""User actions reach the stream as rrweb events with the right node ids and sources."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import BrowserContext

from agent.capture.recorder_messages import parse_message
from tests.capture.harness import Recording, run_in_browser, start_recording

pytestmark = pytest.mark.browser

MOUSE_MOVE, MOUSE_INTERACTION, SCROLL, VIEWPORT_RESIZE, INPUT, SELECTION = 1, 2, 3, 4, 5, 14
CLICK, DBLCLICK, MOUSEDOWN, MOUSEUP, CONTEXTMENU, FOCUS, BLUR = 2, 4, 1, 0, 3, 5, 6


def _ids(rec: Recording, which: int = -1) -> dict[str, int]:
    """Element id attribute -> rrweb node id, from the page's last (or ``which``) full
    snapshot."""
    out: dict[str, int] = {}
    stack = [rec.kinds("rrweb.full_snapshot")[which]["data"]["node"]]
    while stack:
        n = stack.pop()
        if "attributes" in n and "id" in n["attributes"]:
            out[n["attributes"]["id"]] = n["id"]
        stack.extend(n.get("childNodes", []))
    return out


def _record_input() -> Recording:
    async def go(ctx: BrowserContext, base: str) -> Recording:
        r = await start_recording(ctx)
        page = r.page
        await page.goto(f"{base}/recorder_input.html", wait_until="load")
        await r.flush()
        await page.mouse.move(10, 10)
        await page.mouse.move(60, 40, steps=8)
        await page.click("#btn")
        await page.dblclick("#btn")
        await page.click("#btn", button="right")
        await page.click("#field")
        await page.keyboard.type("ab")
        await page.keyboard.press("Control+A")
        await page.keyboard.press("Control+C")
        await page.keyboard.press("Control+V")
        await page.click("#para", click_count=3)
        await page.eval_on_selector("#box", "el => el.scrollTop = 250")
        await page.mouse.wheel(0, 400)
        await page.set_viewport_size({"width": 900, "height": 600})
        await page.wait_for_timeout(250)
        await r.flush()
        return r.rec

    return run_in_browser(go)


@pytest.fixture(scope="module")
def recording() -> Recording:
    return _record_input()


def _incr(rec: Recording, source: int) -> list[dict[str, Any]]:
    return [e["data"] for e in rec.rrweb() if e["type"] == 3 and e["data"]["source"] == source]


def test_clicks_focus_and_blur_carry_the_target_node_id(recording: Recording) -> None:
    """click, dblclick, mousedown/up, contextmenu, focus, blur: type + target id + coords."""
    ids = _ids(recording)
    inter = _incr(recording, MOUSE_INTERACTION)
    on_btn = {d["type"] for d in inter if d["id"] == ids["btn"]}
    assert {CLICK, DBLCLICK, MOUSEDOWN, MOUSEUP, CONTEXTMENU} <= on_btn
    assert {FOCUS, BLUR} & {d["type"] for d in inter if d["id"] == ids["field"]} == {FOCUS, BLUR}
    clicks = [d for d in inter if d["type"] == CLICK and d["id"] == ids["btn"]]
    assert all(isinstance(d["x"], int) and isinstance(d["y"], int) for d in clicks)


def test_mouse_moves_are_sampled_into_position_batches(recording: Recording) -> None:
    """Moves are sampled (>= 50 ms apart), batched per flush, with integer coordinates."""
    batches = [d["positions"] for d in _incr(recording, MOUSE_MOVE)]
    moves = [p for b in batches for p in b]
    assert 2 <= len(moves) <= 30
    assert all(p["timeOffset"] <= 0 and isinstance(p["x"], int) for p in moves)
    for b in batches:
        gaps = [q["timeOffset"] - p["timeOffset"] for p, q in zip(b, b[1:], strict=False)]
        assert all(g >= 50 for g in gaps), gaps


def test_element_and_document_scrolls_and_viewport_resize_are_recorded(
    recording: Recording,
) -> None:
    """Scroll of an element and of the document (its id) and the new viewport size."""
    ids = _ids(recording)
    scrolls = {d["id"]: d for d in _incr(recording, SCROLL)}
    assert scrolls[ids["box"]]["y"] == 250
    doc_id = recording.kinds("rrweb.full_snapshot")[-1]["data"]["node"]["id"]
    assert scrolls[doc_id]["y"] > 0
    assert {"width": 900, "height": 600, "source": VIEWPORT_RESIZE} in _incr(
        recording, VIEWPORT_RESIZE
    )


def test_selection_keys_and_clipboard_actions_are_recorded(recording: Recording) -> None:
    """Text selection ranges, keydowns with modifiers, copy/paste (target only), input."""
    ids = _ids(recording)
    assert any(r for d in _incr(recording, SELECTION) for r in d["ranges"])
    keys = [k for k in recording.kinds("input.key") if k["target"] == ids["field"]]
    assert [k["key"] for k in keys][:2] == ["a", "b"]
    assert any(k["ctrl"] and k["key"].lower() == "c" for k in keys)
    clip = [c["action"] for c in recording.kinds("input.clipboard")]
    assert "copy" in clip and "paste" in clip
    assert all("content" not in c for c in recording.kinds("input.clipboard")), "target only"
    assert {e["id"] for e in _incr(recording, INPUT)} == {ids["field"]}


def _floats(obj: Any, path: str = "$") -> list[str]:
    if isinstance(obj, float):
        return [path]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _floats(v, f"{path}.{k}")]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in _floats(v, f"{path}[{i}]")]
    return []


def test_every_number_in_the_stream_is_an_integer(recording: Recording) -> None:
    """Journals hash integers only: no float anywhere in any event (coordinates rounded)."""
    assert _floats(recording.events()) == []


def test_events_queued_when_the_page_navigates_away_are_flushed_before_unload() -> None:
    """With a 5 s flush interval, a click just before navigating away still arrives."""

    async def go(ctx: BrowserContext, base: str) -> Recording:
        r = await start_recording(ctx, {"flushMs": 5000})
        await r.page.goto(f"{base}/recorder_input.html", wait_until="load")
        await r.page.wait_for_timeout(200)
        await r.page.click("#btn")
        await r.page.goto(f"{base}/recorder_values.html", wait_until="load")
        await r.settle()
        return r.rec

    rec = run_in_browser(go)
    clicks = [d for d in _incr(rec, MOUSE_INTERACTION) if d["type"] == CLICK]
    assert len(clicks) == 1


def test_lone_surrogates_in_page_text_do_not_break_strict_json_decoders() -> None:
    """Page text with an unpaired surrogate arrives as U+FFFD; every message parses (orjson, as
    the agent parses it)."""

    async def go(ctx: BrowserContext, base: str) -> Recording:
        r = await start_recording(ctx)
        await r.page.goto(f"{base}/recorder_input.html", wait_until="load")
        await r.page_eval("document.getElementById('para').textContent = 'x\\ud800y\\ud83d\\ude00'")
        await r.flush()
        return r.rec

    rec = run_in_browser(go)
    parsed = [parse_message(m) for m in rec.messages]  # orjson: BadMessage on a lone surrogate
    assert all(msg.rejected == [] for msg in parsed)
    texts = [
        t["value"]
        for msg in parsed
        for k, _t, p in msg.entries
        if k == "rrweb.mutation"
        for t in p["data"]["texts"]
    ]
    assert "x\ufffdy\U0001f600" in texts


def test_a_value_a_script_set_before_a_click_is_recorded_before_the_click() -> None:
    """Polling runs every pollMs, and also at a click: a value a script wrote (no DOM event)
    just before the person clicked comes before that click in the stream, whenever the next
    poll would have been (flushMs and pollMs 5 s here)."""

    async def go(ctx: BrowserContext, base: str) -> Recording:
        r = await start_recording(ctx, {"flushMs": 5000, "pollMs": 5000})
        await r.page.goto(f"{base}/recorder_input.html", wait_until="load")
        await r.flush()
        await r.page_eval("document.getElementById('field').value = 'set by script'")
        await r.page.click("#btn")
        await r.flush()
        return r.rec

    rec = run_in_browser(go)
    ids = _ids(rec)
    stream = [
        ("input", d["text"]) if d["source"] == INPUT else ("click", d["id"])
        for d in (e["data"] for e in rec.rrweb() if e["type"] == 3)
        if d["source"] == INPUT or (d["source"] == MOUSE_INTERACTION and d["type"] == CLICK)
    ]
    assert stream.index(("input", "set by script")) < stream.index(("click", ids["btn"]))


def test_typed_inputs_wait_for_the_flush_yet_keep_their_order_times_and_description() -> None:
    """The input listener only notes a value (masked at once) and its time; the flush sends
    it. With flushMs 5 s, every value typed comes in order, each with its own time, before the
    click that follows and before a snapshot asked for after it; the first input of the edit
    carries the field's description, the later ones none."""

    async def go(ctx: BrowserContext, base: str) -> Recording:
        r = await start_recording(ctx, {"flushMs": 5000, "pollMs": 5000})
        await r.page.goto(f"{base}/recorder_input.html", wait_until="load")
        await r.flush()
        await r.page.focus("#field")
        for ch in "abc":
            await r.page.keyboard.type(ch)
            await r.page.wait_for_timeout(30)  # distinct times
        await r.page.click("#btn")
        await r.recorder_eval("__st_snapshot()")
        await r.flush()
        return r.rec

    rec = run_in_browser(go)
    ids = _ids(rec, -2)  # the ids before the requested snapshot renumbers the page
    entries = [e for e in rec.events() if e["k"].startswith("rrweb.")]
    inputs = [e for e in entries if e["p"]["type"] == 3 and e["p"]["data"]["source"] == INPUT]
    assert [e["p"]["data"]["text"] for e in inputs] == ["a", "ab", "abc"]
    times = [e["t"] for e in inputs]
    assert times == sorted(times) and len(set(times)) == 3
    assert inputs[0]["p"]["element"]["element_id"] == "field"
    assert all("element" not in e["p"] for e in inputs[1:])
    click = next(
        i
        for i, e in enumerate(entries)
        if e["p"]["type"] == 3
        and e["p"]["data"]["source"] == MOUSE_INTERACTION
        and e["p"]["data"]["type"] == CLICK
        and e["p"]["data"]["id"] == ids["btn"]
    )
    last_input = entries.index(inputs[-1])
    assert last_input < click
    assert times[-1] <= entries[click]["t"]
    snapshot = max(i for i, e in enumerate(entries) if e["k"] == "rrweb.full_snapshot")
    assert last_input < snapshot
