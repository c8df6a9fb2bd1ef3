"""The kiosk's live supervision viewer, with real Chromium: it follows customer after
customer, and its buttons reach the kiosk's supervisor controls when the kiosk has them (a
recording test double here, set as ``service.supervision``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from agent.kiosk.live import run_supervised
from agent.kiosk.policy import KioskPolicy
from agent.kiosk.service import KioskOptions, KioskService
from tests.kiosk.sites import kiosk_config, kiosk_sites
from tests.kiosk.test_kiosk_sessions import _start_customer
from tests.replay.live_helpers import RecordingControls, http
from tests.waiting import wait_until_async

pytestmark = pytest.mark.browser


async def _poll(base: str, token: str, client: str) -> dict[str, Any]:
    url = f"{base}/api/live/poll?client={client}&wait_ms=0"
    status, body = await asyncio.to_thread(http, url, headers={"Authorization": f"Bearer {token}"})
    assert status == 200, body
    answer: dict[str, Any] = json.loads(body)
    return answer


def test_the_live_view_follows_each_customer_and_its_buttons_reach_the_controls(
    tmp_path: Path,
) -> None:
    controls = RecordingControls()
    seen: list[str] = []
    acted: list[int] = []

    async def main() -> list[str]:
        async with kiosk_sites() as s:
            policy = KioskPolicy.build(s.a + "/start.html", [s.a])
            opts = KioskOptions(headless=True, operator="op-7", customers=2)
            service = KioskService(tmp_path, kiosk_config(), policy, opts)
            # The double stands in for the kiosk's own controls (typed or not on KioskService).
            setattr(service, "supervision", controls)  # noqa: B010
            urls: list[str] = []
            task = asyncio.create_task(run_supervised(service, echo=urls.append))
            await wait_until_async(lambda: urls, what="the live viewer URL")
            base, _, token = urls[0].rpartition(" ")[2].partition("/?token=")
            for number in (1, 2):
                await _start_customer(service, number)
                assert service.recording is not None
                sid = service.recording.session_id

                async def following(sid: str = sid) -> bool:
                    ans = await _poll(base, token, "client-kiosk-1")
                    return bool(ans["session_id"] == sid and ans["feed"]["state"] == "live")

                await _until(following, f"the live view of customer {number}")
                seen.append(sid)
                if number == 1:
                    auth = {"Authorization": f"Bearer {token}"}
                    st, _ = await asyncio.to_thread(
                        http, f"{base}/api/live/pause", method="POST", headers=auth
                    )
                    acted.append(st)
                service.end_session()
            out = await asyncio.wait_for(task, 120)
            return [c.session_id for c in out.customers]

    sealed = asyncio.run(main())
    assert seen == sealed  # the view followed each customer's session, in order
    assert acted == [200]
    assert controls.calls[0][0] == "join"
    assert ("pause", controls.calls[0][1]) in controls.calls


async def _until(check: Any, what: str) -> None:
    done: list[bool] = []

    async def loop() -> None:
        while not await check():
            await asyncio.sleep(0.2)
        done.append(True)

    task = asyncio.ensure_future(loop())
    try:
        await wait_until_async(lambda: done or task.done(), what=what, timeout_s=90)
        if task.done() and not done:
            task.result()
    finally:
        task.cancel()
