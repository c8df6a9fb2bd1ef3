"""Replay fidelity: what the recorder streams, played by rrweb's own Replayer, equals the page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import BrowserContext

from tests.capture.harness import (
    Recorded,
    replay_eval,
    replay_state,
    run_in_browser,
    start_recording,
)
from tests.waiting import wait_until_async

pytestmark = pytest.mark.browser


async def _record(
    ctx: BrowserContext,
    base: str,
    path: str,
    cfg: dict[str, Any] | None = None,
    check: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any], Recorded]:
    """Record ``path`` until the page sets ``window.__done``; return (live, replayed) state."""
    r = await start_recording(ctx, cfg)
    await r.page.goto(f"{base}/{path}", wait_until="load")
    await r.wait_for("window.__done === true")
    await r.flush()
    live = await r.live_state()
    replayed = await replay_state(ctx, base, r.rec.rrweb())
    if check:
        live["check"] = await r.probe(f"({check})(document)")
        replayed["check"] = await replay_eval(ctx, base, r.rec.rrweb(), check)
    return live, replayed, r


def _run(
    path: str, cfg: dict[str, Any] | None = None, check: str | None = None
) -> tuple[dict[str, Any], dict[str, Any], Recorded]:
    return run_in_browser(lambda ctx, base: _record(ctx, base, path, cfg, check))


def _cell_texts(snapshot: dict[str, Any]) -> list[tuple[int, str]]:
    """(id, text) of the text node of every <td>, in document order."""
    out: list[tuple[int, str]] = []

    def walk(n: dict[str, Any]) -> None:
        if n.get("tagName") == "td":
            out.append((n["childNodes"][0]["id"], n["childNodes"][0]["textContent"]))
            return
        for c in n.get("childNodes", []):
            walk(c)

    walk(snapshot)
    return out


async def _wait_snapshot(r: Recorded, timeout_s: float = 10.0) -> None:
    """Wait until the recorder's first full snapshot (with content) has arrived."""
    await wait_until_async(
        lambda: any(_cell_texts(s["data"]["node"]) for s in r.rec.kinds("rrweb.full_snapshot")),
        what="a full snapshot with content",
        timeout_s=timeout_s,
    )


def _streamed_cell_values(events: list[dict[str, Any]], cells: int) -> list[list[str]]:
    """Each cell's values as the stream shows them, in replay order: the first snapshot's
    value, then every text change. A later keyframe must show the last streamed value."""
    streamed: list[list[str]] = [[] for _ in range(cells)]
    ids: dict[int, int] = {}
    rr = [e["p"] for e in events if e["k"].startswith("rrweb.")]
    rr.sort(key=lambda p: p["timestamp"])  # what rrweb's Replayer does (a stable sort)
    for p in rr:
        if p["type"] == 2:
            snap = _cell_texts(p["data"]["node"])
            if len(snap) != cells:  # about:blank before the blotter
                continue
            ids = {tid: k for k, (tid, _text) in enumerate(snap)}
            for k, (_tid, text) in enumerate(snap):
                if streamed[k]:
                    assert streamed[k][-1] == text, f"cell {k}: keyframe shows an unstreamed value"
                else:
                    streamed[k].append(text)
        elif p["type"] == 3 and p["data"]["source"] == 0:
            for t in p["data"]["texts"]:
                if t["id"] in ids:
                    streamed[ids[t["id"]]].append(t["value"])
    return streamed


@pytest.mark.parametrize(
    ("query", "keyframe_ms", "keyframes", "total_changes"),
    [
        ("updates=30&log=1", 500, 2, 200 * 30),  # 200 cells per update, keyframes during the run
        (
            "cells=1000&updates=8&log=1",
            60_000,
            1,
            1000 * 8,
        ),  # cells change several times per update
    ],
)
def test_blotter_streams_every_value_of_every_cell_in_order_and_replays_the_final_table(
    query: str, keyframe_ms: int, keyframes: int, total_changes: int
) -> None:
    """No coalescing: each cell's streamed values, in replay order and across
    periodic keyframes, are exactly the values the page set, in order (including several
    values set in one update); the replayed table equals the live one."""

    async def go(ctx: BrowserContext, base: str) -> tuple[Any, Any, Recorded, Any]:
        r = await start_recording(ctx, {"keyframeMs": keyframe_ms})
        await r.page.goto(f"{base}/blotter.html?{query}&manual=1", wait_until="load")
        await _wait_snapshot(r)
        await r.page_eval("window.__start()")
        await r.wait_for("window.__done === true")
        await r.flush()
        live = await r.live_state()
        replayed = await replay_state(ctx, base, r.rec.rrweb())
        return live, replayed, r, await r.page_eval("window.__log")

    live, replayed, r, log = run_in_browser(go)
    assert len(live["texts"]) > 1000
    assert replayed == live
    metas = [m["data"]["href"] for m in r.rec.kinds("rrweb.meta")]
    assert sum("blotter.html?" + query in h for h in metas) >= keyframes
    streamed = _streamed_cell_values(r.rec.events(), len(log))
    changed = [k for k, values in enumerate(log) if len(values) > 1]
    assert len(changed) > 500
    assert sum(len(values) - 1 for values in log) == total_changes
    for k, values in enumerate(log):
        assert streamed[k] == values, f"cell {k}: streamed {streamed[k]} != set {values}"


def _text_ids(node: dict[str, Any], out: dict[str, int]) -> dict[str, int]:
    """Element id attribute -> id of its first child text node, over a snapshot tree."""
    kids = node.get("childNodes", [])
    eid = node.get("attributes", {}).get("id")
    if eid and kids and kids[0].get("type") == 3:
        out[eid] = kids[0]["id"]
    for c in kids:
        _text_ids(c, out)
    return out


def test_character_data_and_replaced_text_stream_every_value_masked_in_order() -> None:
    """Within one flush window: characterData writes (two in one task), textContent
    replacements, characterData on a node added in the window, an emptied element, and a
    masked element: every value streams in order (masked ones as the marker only)."""

    async def go(ctx: BrowserContext, base: str) -> tuple[Any, Any, Recorded]:
        r = await start_recording(
            ctx,
            {
                "flushMs": 2000,
                "mask": {"rules": [{"id": "r1", "selector": ".secret", "mode": "redact"}]},
            },
        )
        await r.page.goto(f"{base}/recorder_text_history.html", wait_until="load")
        await wait_until_async(
            lambda: any(
                _text_ids(s["data"]["node"], {}).get("a")
                for s in r.rec.kinds("rrweb.full_snapshot")
            ),
            what="a full snapshot holding the text node 'a'",
            timeout_s=10,
        )
        await r.page_eval("window.__run()")
        await r.wait_for("window.__done === true")
        await r.flush()
        return await r.live_state(), await replay_state(ctx, base, r.rec.rrweb()), r

    live, replayed, r = run_in_browser(go)
    assert live["texts"] == ["a4", "b4", "s2"]
    assert replayed == {**live, "texts": ["a4", "b4", "[redacted]"]}
    snaps = [s for s in r.rec.kinds("rrweb.full_snapshot") if _text_ids(s["data"]["node"], {})]
    assert len(snaps) == 1
    ids = _text_ids(snaps[0]["data"]["node"], {})
    streamed: dict[int, list[str]] = {ids[k]: [] for k in "abs"}
    mutations = sorted(r.rec.kinds("rrweb.mutation"), key=lambda p: p["timestamp"])
    assert len(mutations) >= 5  # one per observer callback (task) that changed text
    for p in mutations:
        for t in p["data"]["texts"]:
            streamed.setdefault(t["id"], []).append(t["value"])
    assert streamed[ids["a"]] == ["a1", "a2", "a3", "a4"]
    assert streamed[ids["b"]] == ["b1", "b2", "b3", "", "b4"]
    assert streamed[ids["s"]] == ["[redacted]", "[redacted]"]
    raw = "".join(r.rec.messages)
    assert '"s1"' not in raw and '"s2"' not in raw and '"s0"' not in raw


def test_open_shadow_roots_early_and_late_attached_replay() -> None:
    """An open shadow root and one attached after the snapshot both replay with their content."""
    live, replayed, _ = _run("recorder_shadow.html", {"shadowScanMs": 300})
    assert "late shadow changed" in live["texts"]
    assert "added after discovery" in live["texts"]
    assert "item 2" in live["texts"]
    assert replayed == live


CSS_CHECK = """(doc) => {
  const cs = (el) => doc.defaultView.getComputedStyle(el);
  const q = (s) => doc.querySelector(s);
  const sp = q('#host').shadowRoot.querySelector('#sp');
  return {a: cs(q('#a')).color, b: cs(q('#b')).marginLeft, c: cs(q('#c')).backgroundColor,
          d_pad: cs(q('#d')).paddingTop, d_border: cs(q('#d')).borderTopColor,
          d_font: cs(q('#d')).fontSize, sp: cs(sp).color};
}"""


def test_cssom_insert_delete_setproperty_and_adopted_sheets_replay() -> None:
    """insertRule, deleteRule, rule.style.setProperty and adoptedStyleSheets all replay."""
    live, replayed, r = _run("recorder_cssom.html", {"styleScanMs": 200}, CSS_CHECK)
    assert live["check"] == {
        "a": "rgb(200, 10, 10)",
        "b": "17px",
        "c": "rgba(0, 0, 0, 0)",
        "d_pad": "9px",
        "d_border": "rgb(0, 128, 0)",
        "d_font": "21px",
        "sp": "rgb(0, 0, 255)",
    }
    assert replayed["check"] == live["check"]
    assert r.rec.kinds("rrweb.style_sheet_rule")
    assert r.rec.kinds("rrweb.adopted_style_sheet")


def test_programmatic_value_checked_and_select_writes_replay() -> None:
    """input.value=, .checked= and select.value= (no DOM event) reach the replay by polling."""
    live, replayed, r = _run("recorder_values.html")
    values = {v[1] + ("" if v[0] != "input" or v[1] != "r" else v[2]): v for v in live["values"]}
    assert values["t1"][2] == "set by script"
    assert values["cb"][3] is True
    assert values["sel"][2] == "c"
    assert values["rtwo"][3] is True and values["rone"][3] is False
    assert replayed["values"] == live["values"]
    assert r.rec.kinds("rrweb.input")


def test_svg_attribute_and_child_changes_replay() -> None:
    """SVG attributes, text and added/removed SVG children replay."""
    live, replayed, _ = _run("recorder_svg.html")
    circle = {"id": "c1", "cx": "40", "cy": "10", "r": "5", "fill": "red"}
    assert ["circle", circle] in live["attrs"]
    assert replayed == live


def test_canvas_images_are_streamed_periodically() -> None:
    """A drawn canvas yields image data: in the snapshot and as rrweb canvas mutations."""
    _, _, r = _run("recorder_canvas.html", {"canvasMs": 250})
    canvas_events = r.rec.kinds("rrweb.canvas")
    assert len(canvas_events) >= 2
    cmd = canvas_events[-1]["data"]["commands"][1]
    blob = cmd["args"][0]["args"][0]
    assert blob["type"].startswith("image/") and len(blob["data"][0]["base64"]) > 50
    assert canvas_events[0]["data"]["source"] == 9


def test_same_origin_iframe_content_replays_inside_its_iframe() -> None:
    """A same-origin iframe's document is recorded by the parent and replays in place."""
    live, replayed, _ = _run("recorder_iframe.html")
    assert "inner changed by parent" in live["texts"] and "added in iframe" in live["texts"]
    assert ["input", "field", "typed into iframe", False] in live["values"]
    assert replayed == live


@pytest.mark.parametrize("seed", [7, 1234, 99991])
def test_random_dom_surgery_replays_to_the_same_tree(seed: int) -> None:
    """Seeded inserts, moves, removes, re-adds, replaceChild, wrapping and innerHTML (many
    inside one flush): parentId/nextId semantics rebuild exactly the live tree."""
    live, replayed, r = _run(f"recorder_mutations.html?seed={seed}")
    assert len(live["attrs"]) >= 8
    assert replayed == live
    assert r.rec.kinds("rrweb.mutation")
