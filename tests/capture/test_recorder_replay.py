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

pytestmark = pytest.mark.browser


async def _record(ctx: BrowserContext, base: str, path: str, cfg: dict[str, Any] | None = None,
                  check: str | None = None) -> tuple[dict[str, Any], dict[str, Any], Recorded]:
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


def _run(path: str, cfg: dict[str, Any] | None = None,
         check: str | None = None) -> tuple[dict[str, Any], dict[str, Any], Recorded]:
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


@pytest.mark.parametrize(("query", "keyframe_ms", "keyframes"), [
    ("updates=30&log=1", 500, 2),  # 200 cells per update, keyframes during the run
    ("cells=1000&updates=8&log=1", 60_000, 1),  # cells change several times per flush
])
def test_blotter_cell_changes_replay_to_the_exact_final_table(
        query: str, keyframe_ms: int, keyframes: int) -> None:
    """Every cell change reaches the stream (across periodic keyframes): each cell's streamed
    values are, in order, values the cell really took, ending with its final value; the
    replayed table equals the live one."""

    async def go(ctx: BrowserContext, base: str) -> tuple[Any, Any, Recorded, Any]:
        live, replayed, r = await _record(ctx, base, f"blotter.html?{query}",
                                          {"keyframeMs": keyframe_ms})
        return live, replayed, r, await r.page_eval("window.__log")

    live, replayed, r, log = run_in_browser(go)
    assert len(live["texts"]) > 1000
    assert replayed == live
    metas = [m["data"]["href"] for m in r.rec.kinds("rrweb.meta")]
    assert sum(h.endswith(query) for h in metas) >= keyframes
    streamed: list[list[str]] = [[] for _ in log]
    ids: dict[int, int] = {}
    started = False
    for e in r.rec.events():
        if e["k"] == "rrweb.full_snapshot" and e["p"]["data"]["node"]["childNodes"]:
            cells = _cell_texts(e["p"]["data"]["node"])
            if len(cells) == len(log):
                started = True
                ids = {tid: k for k, (tid, _text) in enumerate(cells)}
                for k, (_tid, text) in enumerate(cells):
                    if not streamed[k] or streamed[k][-1] != text:  # a keyframe repeats values
                        streamed[k].append(text)
        elif e["k"] == "rrweb.mutation" and started:
            for t in e["p"]["data"]["texts"]:
                if t["id"] in ids:
                    streamed[ids[t["id"]]].append(t["value"])
    changed = [k for k, values in enumerate(log) if len(values) > 1]
    assert len(changed) > 500
    for k in changed:
        assert len(streamed[k]) > 1, f"cell {k} changed but no change was streamed"
        assert streamed[k][-1] == log[k][-1]
        it = iter(log[k])
        assert all(v in it for v in streamed[k]), f"cell {k}: {streamed[k]} vs {log[k]}"


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
    assert live["check"] == {"a": "rgb(200, 10, 10)", "b": "17px", "c": "rgba(0, 0, 0, 0)",
                             "d_pad": "9px", "d_border": "rgb(0, 128, 0)", "d_font": "21px",
                             "sp": "rgb(0, 0, 255)"}
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
