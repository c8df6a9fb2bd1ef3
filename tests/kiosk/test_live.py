"""The kiosk's live supervision viewer with real browsers on both ends: the kiosk in a
headful Chromium on a private Xvfb display, the supervisor's viewer in a second Chromium. The
view follows customer after customer, and its Pause button pauses the kiosk through its real
supervisor controls: the join and the pause are audited, with the supervisor's name, in the
customer's sealed session."""

from __future__ import annotations

import asyncio
import getpass
import shutil
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

from agent.kiosk.live import run_supervised
from agent.kiosk.policy import KioskPolicy
from agent.kiosk.service import KioskOptions, KioskService
from tests.kiosk.kioskrun import of_kind, session_records, start_customer
from tests.kiosk.sites import kiosk_config, kiosk_sites
from tests.replay.helpers import CHROMIUM
from tests.waiting import wait_until_async

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which("Xvfb"), reason="no Xvfb"),
]

RENDERED = """() => { const f = document.querySelector('#replay iframe');
  return !!(f && f.contentDocument && f.contentDocument.getElementById('h')); }"""


async def _watching(viewer: Page, session_id: str) -> None:
    """The viewer shows ``session_id`` live and the customer's page rendered in its iframe."""
    await viewer.wait_for_function(
        "sid => document.getElementById('session').textContent === 'session ' + sid "
        "&& document.body.dataset.feed === 'live'",
        arg=session_id,
        timeout=60_000,
    )
    await viewer.wait_for_function(RENDERED, timeout=60_000)


def test_the_live_view_follows_each_customer_and_its_pause_is_audited_in_the_session(
    tmp_path: Path, display: str
) -> None:
    seen: list[str] = []

    async def main() -> list[str]:
        async with kiosk_sites() as s, async_playwright() as p:
            policy = KioskPolicy.build(s.a + "/start.html", [s.a])
            opts = KioskOptions(headless=False, operator="op-7", customers=2)
            service = KioskService(tmp_path, kiosk_config(), policy, opts)
            urls: list[str] = []
            task = asyncio.create_task(run_supervised(service, echo=urls.append))
            await wait_until_async(lambda: urls, what="the live viewer URL")
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True)
            viewer = await browser.new_page()
            await viewer.goto(urls[0].rpartition(" ")[2])
            for number in (1, 2):
                await start_customer(service, number)
                assert service.recording is not None
                await _watching(viewer, service.recording.session_id)
                seen.append(service.recording.session_id)
                if number == 1:
                    await viewer.click("#pause")
                    await viewer.wait_for_function(
                        "() => document.body.dataset.lastAction === 'pause:200'"
                    )
                    assert service.supervision.state()["state"] == "paused"
                service.end_session()
            await browser.close()
            out = await asyncio.wait_for(task, 120)
            return [c.session_id for c in out.customers]

    sealed = asyncio.run(main())
    assert seen == sealed  # the view followed each customer's session, in order
    me = getpass.getuser()  # the local supervisor the per-launch token stands for
    first, second = (session_records(tmp_path, sid) for sid in sealed)
    joins = [r.payload["supervisor"] for r in of_kind(first, "kiosk.supervisor_join")]
    assert joins == [me]
    paused = of_kind(first, "kiosk.paused")
    assert [(r.payload["supervisor"], r.payload["reason"]) for r in paused] == [(me, "supervisor")]
    assert [r.payload["supervisor"] for r in of_kind(second, "kiosk.supervisor_join")] == [me]
    assert of_kind(second, "kiosk.paused") == []
