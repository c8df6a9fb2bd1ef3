"""The kiosk service in a headful Chromium on a private Xvfb display: the operator's Start is
a real X click and the end is the real Ctrl+Alt+End typed on the X keyboard."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.kiosk.lobby import START_BUTTON
from agent.kiosk.policy import KioskPolicy
from agent.kiosk.service import KioskOptions, KioskResult, KioskService
from tests.kiosk.kioskrun import SCREEN_XY
from tests.kiosk.sites import kiosk_config, kiosk_sites
from tests.waiting import wait_until_async
from tests.workstation.desktop import Desktop

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which("Xvfb") or not shutil.which("xdotool"), reason="no X"),
]


def _x(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, env={**os.environ})


def test_operator_starts_with_a_click_and_ends_with_the_key_combination(
    tmp_path: Path, display: str
) -> None:
    async def main() -> KioskResult:
        async with kiosk_sites() as s:
            policy = KioskPolicy.build(s.a + "/ok.html", [s.a])
            opts = KioskOptions(headless=False, operator="op-1", customers=1)
            service = KioskService(tmp_path, kiosk_config(), policy, opts)
            task = asyncio.create_task(service.run())
            try:
                await wait_until_async(
                    lambda: service.state == "lobby" and service.capture is not None,
                    what="the start screen",
                )
                assert service.capture is not None
                page = service.capture.page
                await page.wait_for_selector(f"#{START_BUTTON}")
                x, y = await page.evaluate(SCREEN_XY, START_BUTTON)
                _x("mousemove", str(x), str(y), "click", "1")
                await wait_until_async(lambda: service.state == "session", what="the session")
                await page.wait_for_selector("#ok")
                # Focused first: with no window manager, keys go to the focused window only.
                await asyncio.to_thread(Desktop(display).key, "ctrl+alt+End")
                return await asyncio.wait_for(asyncio.shield(task), 60)
            finally:
                service.request_stop()
                await asyncio.wait_for(asyncio.shield(task), 60)

    out = asyncio.run(main())
    assert [c.reason for c in out.customers] == ["operator"] and out.verified
