"""Durability modes with real Chromium: strict blocks the browser, best_effort records a gap.

The journal is made to fail by a fault-injecting sink placed in front of the real
JournalSink (a test double for a full or failing disk); everything else is real.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from agent.capture.session import CaptureSession
from agent.config import load_config
from agent.errors import JournalError
from agent.events import Event
from agent.journal.reader import iter_records
from agent.keys import Keyring
from agent.pipeline import Recording
from agent.sink import EventSink
from tests.pipeline.site import serve_page

PAGE = b"""<!doctype html><html><body>
<button id="b" style="width:200px;height:80px">press</button><span id="n">0</span>
<script>let n = 0; document.getElementById('b').addEventListener('click',
 () => { n++; document.getElementById('n').textContent = String(n); });</script>
</body></html>"""


class FailingSink:
    """Raises a retryable JournalError while ``failing`` is set (a full disk, say)."""

    def __init__(self, inner: EventSink) -> None:
        self.inner = inner
        self.failing = False
        self.refused = 0

    async def append_many(self, events: Sequence[Event]) -> None:
        if self.failing:
            self.refused += 1
            raise JournalError("disk full (injected)")
        await self.inner.append_many(events)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_page(tmp_path_factory.mktemp("site"), PAGE) as url:
        yield url


async def _wait(pred, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


def test_strict_mode_blocks_input_until_the_journal_is_back_and_drops_nothing(
    home: Path, site: str
) -> None:
    """While writes fail the page ignores clicks and shows the interstitial; then it resumes."""
    cfg = load_config(env={"SESSIONTAPE_JOURNAL_DURABILITY": "strict"})
    rec = Recording(home, cfg)
    assert rec.strict is not None
    fault = FailingSink(rec.strict.inner)
    rec.strict.inner = fault

    async def scenario() -> tuple[str, str, bool]:
        cap = CaptureSession(cfg.capture, rec.sink, rec.clock, home, headless=True, relaunch=False)
        rec.attach_capture(cap)
        await cap.start(site)
        page = cap.page
        await page.click("#b")
        await _wait(lambda: cap.engine is not None and cap.engine.targets)
        fault.failing = True
        await _wait(lambda: cap.engine.blocked_reason is not None)  # type: ignore[union-attr]
        overlay = await page.evaluate("!!document.getElementById('__sessiontape_block')")
        await page.mouse.click(100, 40)  # would hit the button; the browser ignores it
        await asyncio.sleep(0.3)
        during = await page.inner_text("#n")
        fault.failing = False
        await _wait(lambda: cap.engine.blocked_reason is None)  # type: ignore[union-attr]
        await page.click("#b")
        after = await page.inner_text("#n")
        await cap.stop()
        return during, after, overlay

    during, after, overlay = asyncio.run(scenario())
    result = rec.close()
    assert overlay is True
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
    rec.sink.inner = fault  # type: ignore[attr-defined]

    async def scenario() -> None:
        cap = CaptureSession(cfg.capture, rec.sink, rec.clock, home, headless=True, relaunch=False)
        await cap.start(site)
        await cap.page.click("#b")
        await asyncio.sleep(0.5)
        fault.failing = True
        await cap.page.click("#b")
        await _wait(lambda: fault.refused >= 1)
        fault.failing = False
        await cap.page.click("#b")
        await asyncio.sleep(0.5)
        await cap.stop()

    asyncio.run(scenario())
    result = rec.close()
    assert result.report.ok, result.report.first_failure
    recs = [r for p in result.segments for r in iter_records(p, Keyring.load(home))]
    gaps = [r.payload for r in recs if r.kind == "capture.gap"]
    assert gaps and gaps[0]["cause"] == "sink_failed" and gaps[0]["lost_events"] >= 1
    assert gaps[0]["start"] <= gaps[0]["end"]
