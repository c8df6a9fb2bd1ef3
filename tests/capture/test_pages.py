"""Page facts: dialogs with their answers, downloads with a hash, console errors, titles."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from agent.capture.driver import Dialog
from agent.events import Event
from agent.testing import MemorySink
from tests.capture.servers import DOWNLOAD_BODY, of_kind, recording, sites, wait_for

pytestmark = pytest.mark.browser


async def _answer(d: Dialog) -> None:
    """Dismiss a confirm, answer a prompt with ACC-9, accept the rest."""
    if d.type == "confirm":
        await d.dismiss()
    elif d.type == "prompt":
        await d.accept("ACC-9")
    else:
        await d.accept()


def _closed_dialogs(sink: MemorySink) -> list[Event]:
    return [e for e in of_kind(sink, "page.dialog") if e.payload["phase"] == "closed"]


async def _download_console_and_title_recorded(sink: MemorySink) -> None:
    """The download's name/size/SHA-256, console.error, the uncaught exception and the title."""
    dl = await wait_for(lambda: of_kind(sink, "page.download"))
    assert dl[0].payload["name"] == "confirms.txt"
    assert dl[0].payload["size"] == len(DOWNLOAD_BODY)
    assert dl[0].payload["sha256"] == hashlib.sha256(DOWNLOAD_BODY).hexdigest()
    assert dl[0].page == of_kind(sink, "page.created")[0].page
    cons = await wait_for(
        lambda: len(of_kind(sink, "page.console")) >= 2 and of_kind(sink, "page.console")
    )
    assert cons[0].payload["level"] == "error"
    assert cons[0].payload["text"] == "bad quote 42"
    assert cons[1].payload["level"] == "exception"
    assert "TypeError" in cons[1].payload["text"]
    await wait_for(
        lambda: [e for e in of_kind(sink, "page.title") if e.payload["title"] == "Dialogs"]
    )


def test_dialogs_record_message_and_answer_download_hash_and_console_error(tmp_path: Path) -> None:
    """alert/confirm/prompt text and answers, a download's name/size/SHA-256, console.error
    and an uncaught exception are all events."""

    async def main() -> None:
        async with sites() as s, recording(tmp_path, s.a + "/dialog.html") as (cs, sink):
            page = cs.page
            page.on_dialog(_answer)
            await page.click("#al")
            await page.click("#cf")
            await page.click("#pr")
            assert await page.evaluate("[window.c, window.p]") == [False, "ACC-9"]
            async with page.expect_download() as dl_info:
                await page.click("#dl")
            await dl_info.value
            await page.click("#err")
            closed = await wait_for(
                lambda: _closed_dialogs(sink)[:3] if len(_closed_dialogs(sink)) >= 3 else None
            )
            got = [
                (
                    e.payload["type"],
                    e.payload["message"],
                    e.payload["accepted"],
                    e.payload["user_input"],
                )
                for e in closed
            ]
            assert got == [
                ("alert", "Order sent", True, ""),
                ("confirm", "Cancel all orders?", False, ""),
                ("prompt", "Account?", True, "ACC-9"),
            ]
            assert of_kind(sink, "page.dialog")[0].payload["phase"] == "opened"
            await _download_console_and_title_recorded(sink)

    asyncio.run(main())


def test_screenshots_when_enabled_are_stored_by_hash_at_each_click(tmp_path: Path) -> None:
    """screenshots=true: a reduced JPEG per click, archived under assets, tied to the action."""

    async def main() -> None:
        async with (
            sites() as s,
            recording(tmp_path, s.a + "/plain.html", screenshots=True, screenshot_width=320) as (
                cs,
                sink,
            ),
        ):
            await cs.page.wait_for_timeout(200)
            await cs.page.click("#b")
            shot = await wait_for(lambda: of_kind(sink, "page.screenshot"))
            p = shot[0].payload
            click = [
                e
                for e in of_kind(sink, "rrweb.mouse_interaction")
                if e.payload["data"]["type"] == 2
            ][0]
            assert p["action_id"] == click.payload["action_id"]
            assert p["width"] == 320 and p["mime"] == "image/jpeg"
            data = (tmp_path / "assets" / p["sha256"][:2] / p["sha256"][2:]).read_bytes()
            assert data[:2] == b"\xff\xd8" and len(data) == p["size"]
            assert hashlib.sha256(data).hexdigest() == p["sha256"]

    asyncio.run(main())
