"""The browser side of a replay seek: the real viewer server, the real viewer page in headless
Chromium (Playwright), and the time from a seek command until the replayed page is on screen.

The viewer marks the moment its frame is built and painted (``body[data-frame=<seq>]``, set in
the animation frame after rrweb's Replayer rebuilt the page at that seq); the page itself
times each seek with ``performance.now()`` from the call of ``window.__st.seek(seq)`` to that
mark, so no sleep and no polling interval enters the figure.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent.replay.server import ViewerState, new_token, serve
from agent.replay.session import ReplaySession

CHROMIUM = "/usr/lib/chromium/chromium"
TIMED_SEEK = """async (seq) => {
  delete document.body.dataset.frame;
  const t0 = performance.now();
  window.__st.seek(seq);
  await new Promise((done) => {
    const mark = () => document.body.dataset.frame === String(seq);
    if (mark()) { done(); return; }
    new MutationObserver((_, obs) => { if (mark()) { obs.disconnect(); done(); } })
      .observe(document.body, { attributes: true, attributeFilter: ['data-frame'] });
  });
  return performance.now() - t0;
}"""


@contextmanager
def running_viewer(home: Path, session_id: str) -> Iterator[str]:
    """The real viewer server for ``session_id`` on a free loopback port; yields its URL."""
    rs = ReplaySession.open(home, session_id)
    state = ViewerState(rs, new_token(), home / "assets", None, 5000)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()
    urls: list[str] = []

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    def run() -> None:
        loop.run_until_complete(serve(state, 0, on_ready, stop))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        if not ready.wait(60):
            raise RuntimeError("the viewer server did not start within 60 s")
        yield urls[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        t.join(30)
        loop.close()
        rs.close()


def _summary(lat_ms: list[float]) -> dict[str, Any]:
    lat = sorted(lat_ms)
    p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
    return {
        "seeks": len(lat),
        "p50_s": round(statistics.median(lat) / 1000, 3),
        "p95_s": round(p95 / 1000, 3),
        "max_s": round(lat[-1] / 1000, 3),
    }


def measure_browser(home: Path, session_id: str, seeks: int, seed: int = 5) -> dict[str, Any]:
    """Open the viewer in headless Chromium and time ``seeks`` seeks to random seqs of the
    session (the first open is timed apart: it also loads the timeline)."""
    from playwright.sync_api import sync_playwright

    rnd = random.Random(seed)
    with running_viewer(home, session_id) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url, wait_until="load", timeout=120_000)
            page.wait_for_selector("body[data-frame]", state="attached", timeout=120_000)
            first, last = page.evaluate(
                "[window.__st.state.session.seq_first, window.__st.state.session.seq_last]"
            )
            lat = [float(page.evaluate(TIMED_SEEK, rnd.randint(first, last))) for _ in range(seeks)]
        finally:
            browser.close()
    return _summary(lat)
