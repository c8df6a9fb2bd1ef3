"""The kiosk in a headful Chromium on a private Xvfb display, driven by real X keystrokes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.capture.session import CaptureSession
from agent.testing import MemorySink
from tests.kiosk.sites import blocked, kiosk, kiosk_sites
from tests.waiting import wait_until, wait_until_async

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which("Xvfb") or not shutil.which("xdotool"), reason="no X"),
]


@pytest.fixture
def display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh Xvfb server on a free display number, as ``DISPLAY`` for the browser."""
    num = next(n for n in range(90, 190) if not Path(f"/tmp/.X{n}-lock").exists())
    proc = subprocess.Popen(
        ["Xvfb", f":{num}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: Path(f"/tmp/.X11-unix/X{num}").exists(), what="Xvfb socket", timeout_s=20)
    monkeypatch.setenv("DISPLAY", f":{num}")
    try:
        yield f":{num}"
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def _pages(cs: CaptureSession) -> int:
    engine = cs.engine
    assert engine is not None
    return len([t for t in engine.registry.all() if t.is_page])


def _new_tabs(sink: MemorySink) -> int:
    return len([e for e in blocked(sink) if e.payload["how"] == "new-tab"])


@pytest.mark.parametrize("keys", ["ctrl+t", "ctrl+n", "ctrl+shift+n"])
def test_new_tab_and_window_shortcuts_are_closed_and_recorded(
    tmp_path: Path, display: str, keys: str
) -> None:
    """Ctrl+T, Ctrl+N and Ctrl+Shift+N (incognito) still open a window in ``--kiosk``: it
    shows Chromium's new-tab page, which never reaches Fetch; it is closed at once."""

    async def main() -> None:
        async with (
            kiosk_sites() as s,
            kiosk(tmp_path, s, "/ok.html", headless=False) as (cs, sink, _policy),
        ):
            await cs.page.wait_for_function("!!document.getElementById('ok')", timeout=20)
            subprocess.run(["xdotool", "key", keys], check=True, env={**os.environ})
            await wait_until_async(lambda: _new_tabs(sink), what=f"{keys} refused", timeout_s=20)
            await wait_until_async(lambda: _pages(cs) == 1, what="one tab left", timeout_s=20)
            ev = next(e for e in blocked(sink) if e.payload["how"] == "new-tab")
            assert ev.payload["url"].startswith("chrome://new")
            assert ev.payload["caught"] == "attach"
            assert cs.page.url == s.a + "/ok.html"
            # Chromium's own new-tab page may commit in the new tab before it is closed (the
            # blocked event above names it); no other page may load.
            leaked = [
                e.payload["url"]
                for e in sink.events
                if e.kind == "page.navigate"
                and not e.payload["url"].startswith((s.a, "about:blank", "chrome://new"))
            ]
            assert leaked == []

    asyncio.run(main())


@pytest.mark.xfail(
    reason="--kiosk hides the toolbar by going fullscreen, which X11 grants through the window "
    "manager (_NET_WM_STATE_FULLSCREEN); bare Xvfb has none, so the window keeps its toolbar",
    strict=False,
)
def test_kiosk_window_shows_no_browser_ui(tmp_path: Path, display: str) -> None:
    async def main() -> None:
        async with kiosk_sites() as s, kiosk(tmp_path, s, "/ok.html", headless=False) as (cs, *_):
            await cs.page.send("Emulation.clearDeviceMetricsOverride")
            inner, outer = await cs.page.evaluate("[innerHeight, outerHeight]")
            assert outer - inner <= 1

    asyncio.run(main())
