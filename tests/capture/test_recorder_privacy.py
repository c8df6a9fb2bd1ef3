"""The binding and the recorder are invisible to page JavaScript, which cannot forge events."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import BrowserContext

from tests.capture.harness import replay_state, run_in_browser, start_recording

pytestmark = pytest.mark.browser


def test_page_cannot_find_call_or_forge_the_binding() -> None:
    """typeof, property enumeration and forged calls find nothing; no forged event arrives."""

    async def go(ctx: BrowserContext, base: str) -> tuple[Any, list[str], list[str]]:
        r = await start_recording(ctx)
        await r.page.goto(f"{base}/recorder_binding.html?name={r.rec.binding}", wait_until="load")
        await r.wait_for("window.__done === true")
        await r.flush()
        report = await r.page_eval("window.__report")
        return report, r.rec.messages, [e["k"] for e in r.rec.events()]

    report, messages, kinds = run_in_browser(go)
    assert report["typeofBinding"] == "undefined"
    assert report["keys"] == []
    assert set(report["globals"].values()) == {"undefined"}
    assert report["calls"] == ["TypeError"] * 4
    assert messages, "the recorder itself still reports"
    assert "rrweb.full_snapshot" in kinds
    assert not any("FORGED-MARKER" in m for m in messages)


def test_page_overwriting_builtins_does_not_silence_or_break_recording() -> None:
    """MutationObserver, addEventListener, JSON.stringify, appendChild, setAttribute, Date.now
    and textContent overwritten in the page (before and after load), every timer id cleared:
    the recorder keeps its loops (heartbeats go on) and the replay still matches."""

    async def go(ctx: BrowserContext, base: str) -> tuple[Any, Any, list[str], int]:
        r = await start_recording(ctx, {"heartbeatMs": 150})
        await r.page.goto(f"{base}/recorder_tamper.html", wait_until="load")
        await r.wait_for("window.__done === true")
        beats = len(r.rec.kinds("capture.heartbeat"))
        await r.page.wait_for_timeout(800)
        beats_after_attack = len(r.rec.kinds("capture.heartbeat")) - beats
        await r.flush()
        live = await r.live_state()
        return (
            live,
            await replay_state(ctx, base, r.rec.rrweb()),
            r.rec.messages,
            beats_after_attack,
        )

    live, replayed, messages, beats_after_attack = run_in_browser(go)
    assert beats_after_attack >= 3
    assert live["texts"][:7] == [
        "first",
        "item 0",
        "item 1",
        "item 2",
        "item 3",
        "item 4",
        "after tamper",
    ]
    assert ["input", "inp", "value after tamper", False] in live["values"]
    assert replayed == live
    assert not any('"tampered"' in m for m in messages)
