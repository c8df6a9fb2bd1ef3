"""Mutation floods: bounded work, a recorded degradation, and a correct snapshot afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import BrowserContext

from tests.capture.harness import run_in_browser, start_recording

pytestmark = pytest.mark.browser


def _walk(sn: dict[str, Any]) -> list[dict[str, Any]]:
    out, stack = [], [sn]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(n.get("childNodes", []))
    return out


def test_200k_node_flood_degrades_visibly_and_resnapshots_the_final_dom() -> None:
    """200k elements inserted in one task: capture.degraded appears, then a (chunked) full
    snapshot of the final DOM."""

    async def go(ctx: BrowserContext, base: str) -> tuple[list[dict[str, Any]], int]:
        r = await start_recording(ctx)
        await r.page.goto(f"{base}/recorder_flood.html", wait_until="load")
        await r.wait_for("window.__done === true", timeout_s=90)
        await r.flush()
        await r.page.wait_for_timeout(300)
        await r.flush()
        live_children = await r.probe("document.getElementById('flood').childElementCount")
        return r.rec.events(), live_children

    events, live_children = run_in_browser(go, timeout_s=240)
    kinds = [e["k"] for e in events]
    degraded = [i for i, k in enumerate(kinds) if k == "capture.degraded"]
    assert degraded, "a flood must be recorded as a degradation"
    first = events[degraded[0]]["p"]
    assert first["reason"] == "mutation_flood" and first["dropped_records"] >= 100_000
    recovered = [events[i]["p"] for i in degraded if events[i]["p"]["reason"].endswith("recovered")]
    assert recovered and recovered[0]["dropped_records"] >= 200_000
    snaps = [i for i, k in enumerate(kinds) if k == "rrweb.full_snapshot" and i > degraded[0]]
    assert snaps, "a fresh keyframe follows the flood"
    # The keyframe (a snapshot of its first nodes + chunked adds of the rest) holds every
    # flooded node and the final text; no single message grows with the page.
    assert (
        max(
            len(e["p"]["data"]["node"].__repr__())
            for e in events
            if e["k"] == "rrweb.full_snapshot"
        )
        < 5_000_000
    )
    keyframe = events[snaps[0]]["p"]["data"]["node"]
    nodes = _walk(keyframe)
    later_texts: set[str] = set()
    for e in events[snaps[0] + 1 :]:
        if e["k"] == "rrweb.mutation":
            nodes.extend(a["node"] for a in e["p"]["data"]["adds"])
            later_texts.update(t["value"] for t in e["p"]["data"]["texts"])
    box = next(n for n in nodes if n.get("attributes", {}).get("id") == "flood")
    box_children = [n for n in nodes if n.get("type") == 2 and n.get("tagName") == "b"]
    assert live_children == 200_000
    assert len(box_children) == 200_000
    texts = {n.get("textContent") for n in nodes if n.get("type") == 3} | later_texts
    assert {"n0", "n199000", "flood done"} <= texts
    assert box["id"] > 0


def test_a_backlog_burst_within_the_burst_allowance_is_not_a_flood() -> None:
    """12,000 text writes in one task (a page catching up on queued ticks: above one flush
    window's share of floodMutationsPerSec, below its one-second burst allowance) are all
    streamed, in order, with no degradation."""

    async def go(ctx: BrowserContext, base: str) -> tuple[list[dict[str, Any]], list[str]]:
        r = await start_recording(ctx)
        await r.page.goto(f"{base}/blotter.html?manual=1", wait_until="load")
        await r.flush()
        await r.page_eval("""(() => {
          const tds = [...document.querySelectorAll('#grid td')];
          for (let k = 0; k < 12; k++) tds.forEach((td, i) => { td.textContent = k + ':' + i; });
        })()""")
        await r.flush()
        return r.rec.events(), await r.probe(
            "[...document.querySelectorAll('#grid td')].map((td) => td.textContent)"
        )

    events, final = run_in_browser(go)
    assert final[:2] == ["11:0", "11:1"] and len(final) == 1000
    assert [e for e in events if e["k"] == "capture.degraded"] == []
    values = [
        t["value"] for e in events if e["k"] == "rrweb.mutation" for t in e["p"]["data"]["texts"]
    ]
    assert values == [f"{k}:{i}" for k in range(12) for i in range(1000)]
