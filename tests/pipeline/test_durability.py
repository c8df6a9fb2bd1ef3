"""Durability modes with real Chromium: strict blocks the browser, best_effort records a gap.

The journal is made to fail by a fault-injecting sink placed in front of the real
JournalSink (a test double for a full or failing disk); everything else is real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.capture.session import CaptureSession
from agent.config import load_config
from agent.errors import JournalError
from agent.events import Event
from agent.journal.reader import iter_records
from agent.keys import Keyring
from agent.mask.sink import MaskingSink
from agent.pipeline import Recording
from agent.rrweb import MouseInteraction
from agent.sink import EventSink
from tests.pipeline.site import serve_page
from tests.waiting import wait_until_async

PAGE = b"""<!doctype html><html><body>
<button id="b" style="width:200px;height:80px">press</button><span id="n">0</span>
<script>let n = 0; document.getElementById('b').addEventListener('click',
 () => { n++; document.getElementById('n').textContent = String(n); });</script>
</body></html>"""

# Resolves after the page rendered two more frames: input dispatched before it was handled.
_TWO_FRAMES = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(0))))"


class FailingSink:
    """Raises a retryable JournalError while ``failing`` is set (a full disk, say)."""

    def __init__(self, inner: EventSink) -> None:
        self.inner = inner
        self.failing = False
        self.refused = 0
        self.clicks_written = 0

    async def append_many(self, events: Sequence[Event]) -> None:
        if self.failing:
            self.refused += 1
            raise JournalError("disk full (injected)")
        await self.inner.append_many(events)
        self.clicks_written += sum(1 for ev in events if _is_click(ev.kind, ev.payload))


def _is_click(kind: str, payload: dict[str, Any]) -> bool:
    return (
        kind == "rrweb.mouse_interaction"
        and payload.get("data", {}).get("type") == MouseInteraction.CLICK
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_page(tmp_path_factory.mktemp("site"), PAGE) as url:
        yield url


def test_strict_mode_blocks_input_until_the_journal_is_back_and_drops_nothing(
    home: Path, site: str
) -> None:
    """While writes fail the page ignores clicks and shows the interstitial; then it resumes."""
    cfg = load_config(env={"SESSIONTAPE_JOURNAL_DURABILITY": "strict"})
    rec = Recording(home, cfg)
    assert rec.strict is not None
    fault = FailingSink(rec.strict.inner)
    rec.strict.inner = fault

    async def scenario() -> tuple[str, str]:
        cap = CaptureSession(cfg.capture, rec.sink, rec.clock, home, headless=True, relaunch=False)
        rec.attach_capture(cap)
        await cap.start(site)
        page = cap.page
        await page.click("#b")
        engine = await wait_until_async(lambda: cap.engine, what="the capture engine")
        await wait_until_async(lambda: engine.targets, what="an attached target")
        fault.failing = True
        await wait_until_async(lambda: engine.blocked_reason, what="input to be blocked")
        # The engine's reason is set first, then each page is blocked (input ignored, then the
        # interstitial shown): the interstitial in the page says both have reached it (the
        # wait fails the test when it never shows).
        await page.wait_for_selector("#__sessiontape_block")
        await page.mouse.click(100, 40)  # would hit the button; the browser ignores it
        await page.evaluate(_TWO_FRAMES)  # any click handler has run by now
        during = await page.inner_text("#n")
        fault.failing = False
        await wait_until_async(lambda: engine.blocked_reason is None, what="input to resume")
        await page.wait_for_function("!document.getElementById('__sessiontape_block')")
        await page.click("#b")
        after = await page.inner_text("#n")
        await cap.stop()
        return during, after

    during, after = asyncio.run(scenario())
    result = rec.close()
    assert during == "1" and after == "2"
    assert fault.refused >= 1 and rec.strict.blocks == 1
    assert result.report.ok, result.report.first_failure
    recs = [r for p in result.segments for r in iter_records(p, Keyring.load(home))]
    reasons = [r.payload.get("reason") for r in recs if r.kind == "capture.degraded"]
    assert "durability_block" in reasons and "durability_unblock" in reasons
    assert not [r for r in recs if r.kind == "capture.gap"]  # strict: nothing was lost
    clicks = [
        r
        for r in recs
        if r.kind == "rrweb.mouse_interaction" and r.payload.get("data", {}).get("type") == 2
    ]
    assert len(clicks) == 2


def test_best_effort_mode_records_the_lost_span_as_a_gap(home: Path, site: str) -> None:
    """Events that could not be written become a capture.gap with start, end and count."""
    cfg = load_config(env={})
    rec = Recording(home, cfg)
    assert rec.strict is None
    fault = FailingSink(rec.journal_sink)
    assert isinstance(rec.sink, MaskingSink)
    rec.sink.inner = fault

    async def scenario() -> None:
        cap = CaptureSession(cfg.capture, rec.sink, rec.clock, home, headless=True, relaunch=False)
        await cap.start(site)
        await cap.page.click("#b")
        await wait_until_async(lambda: fault.clicks_written >= 1, what="the first click written")
        fault.failing = True
        await cap.page.click("#b")
        await wait_until_async(lambda: fault.refused >= 1, what="a refused write")
        fault.failing = False
        await cap.page.click("#b")
        await wait_until_async(
            lambda: fault.clicks_written >= 2, what="a click after the outage written"
        )
        await cap.stop()

    asyncio.run(scenario())
    result = rec.close()
    assert result.report.ok, result.report.first_failure
    recs = [r for p in result.segments for r in iter_records(p, Keyring.load(home))]
    gaps = [r.payload for r in recs if r.kind == "capture.gap"]
    assert gaps and gaps[0]["cause"] == "sink_failed" and gaps[0]["lost_events"] >= 1
    assert gaps[0]["start"] <= gaps[0]["end"]
