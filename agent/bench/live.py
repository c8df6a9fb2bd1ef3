"""``sessiontape bench live``: from a DOM change in the recorded browser to its render in the
supervisor's live viewer, with real browsers on both ends.

A real Chromium is recorded (the real capture, masking and journal) on a local page that sets
a marker every ~300 ms: ``<p id="m" data-t="<Date.now()>">``. A second real Chromium opens the
real live viewer of that session; a script in the viewer page watches the replay iframe each
animation frame and, when the marker's ``data-t`` changes, takes ``Date.now() - data-t`` (both
browsers read the same system clock). Reported per mode: p50 / p95 / max over ``changes``
markers. Modes: ``default`` (the configuration's defaults) and ``low-latency`` (capture
``flush_ms`` 20 and ``emit_ms`` 5, the live feed polling every 50 ms).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent.config import Config, load_config

CHROMIUM = "/usr/lib/chromium/chromium"
PAGE = b"""<!doctype html><html><body><h1>live latency</h1><p id="m" data-t="0">m0</p>
<script>let n = 0; const m = document.getElementById('m');
setInterval(() => { n++; m.setAttribute('data-t', String(Date.now())); m.textContent = 'm' + n; },
  300);</script></body></html>"""
MEASURE = """(n) => new Promise((done) => {
  const lat = []; let last = null;
  function tick() {
    const f = document.querySelector('#replay iframe');
    const m = f && f.contentDocument && f.contentDocument.getElementById('m');
    const t = m && m.getAttribute('data-t');
    if (t && t !== '0' && t !== last) {
      if (last !== null) lat.push(Date.now() - Number(t));
      last = t;
    }
    if (lat.length >= n) { done(lat); return; }
    requestAnimationFrame(tick);
  }
  tick();
})"""
MODES: dict[str, dict[str, str]] = {
    "default": {},
    "low-latency": {
        "SESSIONTAPE_CAPTURE_FLUSH_MS": "20",
        "SESSIONTAPE_CAPTURE_EMIT_MS": "5",
        "SESSIONTAPE_REPLAY_LIVE_POLL_MS": "50",
    },
}
TARGET_P95_MS = {"default": 2000, "low-latency": 500}


@contextmanager
def _serve_page() -> Iterator[str]:
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *a: Any) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/"
    finally:
        srv.shutdown()


@contextmanager
def running_live(home: Path, cfg: Config, session_id: str) -> Iterator[str]:
    """The real live viewer for ``session_id`` on its own loop in a thread; yields its URL."""
    from agent.replay.live_launch import make_hub
    from agent.replay.live_server import LiveState, listen_plan, serve_live

    state = LiveState(make_hub(home, cfg, session_id), listen_plan(cfg.replay), home / "assets")
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()
    urls: list[str] = []

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    t = threading.Thread(
        target=lambda: loop.run_until_complete(serve_live(state, on_ready, stop)), daemon=True
    )
    t.start()
    if not ready.wait(60):
        raise RuntimeError("the live viewer did not start")
    try:
        yield urls[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        t.join(30)
        loop.close()


async def _measure(cfg: Config, home: Path, url: str, changes: int) -> list[float]:
    from playwright.async_api import async_playwright

    from agent.capture.session import CaptureSession
    from agent.pipeline import Recording

    rec = Recording(home, cfg)
    cap = CaptureSession(cfg.capture, rec.sink, rec.clock, home, headless=True, relaunch=False)
    rec.attach_capture(cap)
    await cap.start(url)
    try:
        with running_live(home, cfg, rec.session_id) as live_url:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True)
                try:
                    page = await browser.new_page()
                    await page.goto(live_url)
                    lat = await asyncio.wait_for(
                        page.evaluate(MEASURE, changes), timeout=120 + changes * 0.3 * 4
                    )
                finally:
                    await browser.close()
    finally:
        await cap.stop()
        await rec.aclose()
    return [float(x) for x in lat]


def summary(mode: str, lat: list[float]) -> dict[str, Any]:
    """p50 / p95 / max of one mode's latencies (ms) against its target."""
    ordered = sorted(lat)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {
        "mode": mode,
        "changes": len(lat),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
        "target_p95_ms": TARGET_P95_MS[mode],
        "met": p95 <= TARGET_P95_MS[mode],
    }


def run(changes: int, modes: list[str]) -> list[dict[str, Any]]:
    """Measure each mode in a fresh temporary home; one summary per mode."""
    out = []
    with _serve_page() as url:
        for mode in modes:
            with tempfile.TemporaryDirectory(prefix="st-bench-live-") as tmp:
                home = Path(tmp) / "home"
                cfg = load_config(env=MODES[mode], home=home)
                lat = asyncio.run(_measure(cfg, home, url, changes))
                out.append(summary(mode, lat))
    return out
