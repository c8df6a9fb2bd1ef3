"""A popup's first requests: its document request and the first subresource and fetch it
makes at once are recorded, for same-site and cross-site popups, every time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.capture.driver_page import PageDriver
from agent.testing import MemorySink
from tests.capture.servers import of_kind, recording, sites
from tests.waiting import wait_until_async

pytestmark = pytest.mark.browser


def _urls(sink: MemorySink, kind: str) -> list[str]:
    return [str(e.payload["url"]) for e in of_kind(sink, kind)]


async def _open(page: PageDriver, button: str) -> PageDriver:
    # a "noopener" popup has no opener: any new page is the one
    opener = None if button == "#noopener" else page.target_id
    async with page.driver.expect_page(opener=opener) as exp:
        await page.click(button)
    popup: PageDriver = await exp.value
    await popup.wait_for_function("window.firstRan === true")
    return popup


def test_popup_document_request_and_first_fetch_are_recorded_every_time(tmp_path: Path) -> None:
    """Four each of same-site, cross-site and ``noopener`` popups opened by ``window.open``
    and one by a ``target=_blank`` link: each one's document request, its first script and its
    first fetch are ``net.request`` events (the document and fetch with their responses),
    attributed to the popup. Each popup is paused at attach until its ``Network.enable`` was
    queued; resuming it first loses about a third of the document requests."""

    async def main() -> None:
        async with sites() as s, recording(tmp_path, s.a + "/opener.html") as (cs, sink):
            opened: list[tuple[PageDriver, str]] = []
            for i in range(1, 13):
                button, base = (("#same", s.a), ("#other", s.b), ("#noopener", s.a))[i % 3]
                opened.append((await _open(cs.page, button), f"{base}/popped.html?n={i}"))
            opened.append((await _open(cs.page, "#blank"), f"{s.a}/popped.html?n=link"))
            for popup, doc in opened:
                n = doc.rsplit("=", 1)[1]
                first = doc.split("/popped", 1)[0] + f"/api/plain?first={n}"
                want = {doc, first}

                def answered(w: set[str] = want) -> bool:
                    return w <= set(_urls(sink, "net.response"))

                await wait_until_async(answered, what=f"responses of {doc}")
                reqs = [e for e in of_kind(sink, "net.request") if e.payload["url"] in want]
                assert sorted(e.payload["url"] for e in reqs) == sorted(want)
                assert {e.page for e in reqs} == {popup.target_id}
                script = doc.split("/popped", 1)[0] + "/first.js"
                assert any(
                    e.page == popup.target_id and e.payload["url"] == script
                    for e in of_kind(sink, "net.request")
                ), doc

    asyncio.run(main())
