"""The live feed and viewer over a real recording: a real Chromium records a page that
changes its DOM every 300 ms while the journal writes real segment files; the feed follows
it (checkpoints, a segment rotation, the end) and a second real Chromium shows a DOM change
made in the recorded page after the viewer opened."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from agent.capture.session import CaptureSession
from agent.config import load_config
from agent.events import Record
from agent.pipeline import Recording
from agent.replay.live import LiveFeed
from tests.pipeline.site import serve_page
from tests.replay.helpers import CHROMIUM
from tests.replay.live_helpers import live_server
from tests.waiting import wait_until_async

PAGE = b"""<!doctype html><html><body><h1>live</h1><p id="m">m0</p>
<script>let n = 0; const m = document.getElementById('m');
setInterval(() => { n++; m.textContent = 'm' + n; }, 300);</script>
</body></html>"""

SHOWN = """k => { const f = document.querySelector('#replay iframe');
  const m = f && f.contentDocument && f.contentDocument.getElementById('m');
  return !!m && Number(m.textContent.slice(1)) >= k; }"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_page(tmp_path_factory.mktemp("site"), PAGE) as url:
        yield url


async def _follow(feed: LiveFeed, seen: list[Record], cond: Callable[[], bool], what: str) -> None:
    async def step() -> bool:
        seen.extend(await asyncio.to_thread(feed.poll))
        assert feed.status.state != "failed", feed.status.error
        return cond()

    done: list[bool] = []

    async def loop() -> None:
        while not await step():
            await asyncio.sleep(0.1)
        done.append(True)

    task = asyncio.ensure_future(loop())
    try:
        await wait_until_async(lambda: done or task.done(), what=what, timeout_s=90)
    finally:
        task.cancel()
    if task.done() and not task.cancelled() and task.exception():
        raise task.exception()  # type: ignore[misc]


async def _record_and_watch(home: Path, site: str) -> tuple[list[Record], LiveFeed, list[str]]:
    cfg = load_config(env={"SESSIONTAPE_JOURNAL_ROTATE_SECONDS": "4"}, home=home)
    rec = Recording(home, cfg)
    cap = CaptureSession(cfg.capture, rec.sink, rec.clock, home, headless=True, relaunch=False)
    rec.attach_capture(cap)
    await cap.start(site)
    feed = LiveFeed(home, rec.session_id)
    seen: list[Record] = []
    marks: list[str] = []
    try:
        await _follow(feed, seen, lambda: feed.status.checkpoint is not None, "a checkpoint")
        marks.append(f"cp{feed.status.checkpoint_segment}.{feed.status.checkpoint}")
        await _follow(
            feed,
            seen,
            lambda: (feed.status.checkpoint_segment or 0) >= 1,
            "a checkpoint in the segment after a rotation",
        )
        marks.append(f"cp{feed.status.checkpoint_segment}.{feed.status.checkpoint}")
        assert feed.status.state == "live"
        with live_server(home, cfg, rec.session_id) as srv:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True)
                page = await browser.new_page()
                await page.goto(srv.url)
                await page.wait_for_function(SHOWN, arg=0, timeout=60_000)
                later = int(await cap.page.evaluate("n")) + 2  # a change not yet made
                await page.wait_for_function(SHOWN, arg=later, timeout=60_000)
                marks.append(await page.inner_text("#badge"))
                await browser.close()
    finally:
        await cap.stop()
        await rec.aclose()
    await _follow(feed, seen, lambda: feed.status.state == "ended", "the end of the session")
    return seen, feed, marks


def test_feed_and_viewer_follow_a_real_recording(tmp_path: Path, site: str) -> None:
    home = tmp_path / "home"
    seen, feed, marks = asyncio.run(_record_and_watch(home, site))
    assert marks[0].startswith("cp0.")
    assert marks[1].startswith("cp1.") or marks[1] > marks[0]
    assert marks[2].startswith("live, verified to checkpoint")
    assert [r.seq for r in seen] == list(range(len(seen)))  # every event once, in order
    assert {"rrweb.full_snapshot", "rrweb.mutation"} <= {r.kind for r in seen}
    assert seen[-1].kind == "session.end"
    assert feed.status.end_reason == "closed"
    assert feed.status.verified_seq == seen[-1].seq
    segments = sorted((home / "journals" / feed.status.session_id).glob("*.stj"))
    assert len(segments) >= 2
