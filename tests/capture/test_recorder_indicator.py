"""The recording notice: the page cannot remove, hide or cover it unrecorded, it lets clicks
through, it is not in the record, and the title carries its prefix."""

from __future__ import annotations

import asyncio
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, FloatRect

from tests.capture.harness import Recorded, run_in_browser, start_recording
from tests.capture.servers import of_kind, recording, sites
from tests.waiting import wait_until_async

pytestmark = pytest.mark.browser

TEXT = "Recorded for compliance"
NOTICE = {"indicator": {"banner": True, "title": True, "text": TEXT}}
SHOWN = {"connected": True, "open": True, "height": 22, "visible": True}

# Each attack runs in the page's main world; the notice must be back, drawn, on top.
ATTACKS = {
    "remove": "__notice().remove()",
    "empty_body": "document.body.innerHTML = ''",
    "empty_html": "document.documentElement.innerHTML = '<body><p>new body</p></body>'",
    "replace_html": """(() => { const h = document.createElement('html');
        h.innerHTML = '<body><p>replaced</p></body>';
        document.replaceChild(h, document.documentElement); })()""",
    "document_open": """(() => { const n = window.__notice; document.open();
        document.write('<title>Blotter</title><p>rewritten</p>'); document.close();
        window.__notice = n; })()""",
    "display_none": "__notice().style.display = 'none'",
    "hidden_attr": "__notice().setAttribute('hidden', '')",
    "hide_popover": "__notice().hidePopover()",
    "page_css": """(() => { const s = document.createElement('style');
        s.textContent = 'html > div { display: none !important; opacity: 0 !important }';
        document.head.appendChild(s); })()""",
    "cover_modal": """(() => { const d = document.createElement('dialog');
        d.style.cssText = 'margin:0;inset:0;width:100vw;height:100vh;max-width:none;'
          + 'max-height:none;border:0;background:#fff';
        document.body.appendChild(d); d.showModal(); })()""",
}


def pixel(png: bytes) -> tuple[int, int, int]:
    """The colour of a 1x1 PNG (its one row: filter byte, then RGB(A); no filter changes a
    first row's first pixel)."""
    pos, data = 8, b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        if png[pos + 4 : pos + 8] == b"IDAT":
            data += png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(data)
    return raw[1], raw[2], raw[3]


async def notice_pixel(r: Recorded) -> tuple[int, int, int]:
    """What the screen shows at (5, 11): inside the notice's bar, left of its text."""
    clip: FloatRect = {"x": 5, "y": 11, "width": 1, "height": 1}
    return pixel(await r.page.screenshot(clip=clip))


def is_notice_red(rgb: tuple[int, int, int]) -> bool:
    r, g, b = rgb
    return r > 120 and g < 80 and b < 80


async def notice_state(r: Recorded) -> Any:
    return await r.recorder_eval("globalThis.__st_indicator()")


async def wait_shown(r: Recorded, what: str) -> None:
    state: dict[str, Any] = {}

    async def poll() -> bool:
        state.update(await notice_state(r))
        return state == SHOWN and is_notice_red(await notice_pixel(r))

    deadline = asyncio.get_running_loop().time() + 10
    while not await poll():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"notice not shown after {what}: {state}")
        await asyncio.sleep(0.05)


async def open_page(ctx: BrowserContext, base: str) -> Recorded:
    r = await start_recording(ctx, NOTICE)
    await r.page.goto(f"{base}/recorder_indicator.html", wait_until="load")
    await wait_shown(r, "load")
    return r


def test_page_cannot_remove_hide_or_cover_the_notice_unrecorded() -> None:
    """After each attack (removal, emptied body and html, replaced html, document.open and
    write, display:none, hidden,
    hidePopover, a page !important rule, a full-screen modal over it) the notice is connected,
    open, 22 px high and red on screen; the attacks on it are recorded by how."""

    async def go(ctx: BrowserContext, base: str) -> tuple[list[str], list[dict[str, Any]]]:
        r = await open_page(ctx, base)
        done = []
        for name, attack in ATTACKS.items():
            await r.page_eval(attack)
            await wait_shown(r, name)
            done.append(name)
        await r.flush()
        await wait_until_async(
            lambda: (
                {"removed", "attribute", "hidden", "covered"}
                <= {p["how"] for p in r.rec.kinds("indicator.tampered")}
            ),
            what="every kind of attempt reported",
            timeout_s=10,
        )
        tampered = r.rec.kinds("indicator.tampered")
        return done, tampered

    done, tampered = run_in_browser(go)
    assert done == list(ATTACKS)
    by_how: dict[str, int] = {}
    details = set()
    for p in tampered:
        by_how[p["how"]] = by_how.get(p["how"], 0) + p["count"]
        details.add((p["how"], p["detail"]))
    assert by_how["removed"] >= 4  # remove, emptied html, replaced html, document.open
    assert ("attribute", "style") in details
    assert ("attribute", "hidden") in details
    assert ("hidden", "popover closed") in details
    assert ("covered", "dialog") in details


def test_notice_lets_clicks_through_and_takes_no_focus() -> None:
    """A real click inside the bar reaches the page's button under it; Tab never focuses it."""

    async def go(ctx: BrowserContext, base: str) -> tuple[Any, Any, Any]:
        r = await open_page(ctx, base)
        hit = await r.page_eval("document.elementFromPoint(50, 11).id")
        await r.page.mouse.click(50, 11)
        await r.page.keyboard.press("Tab")
        await r.page.keyboard.press("Tab")
        focused = await r.page_eval("document.activeElement === __notice()")
        return hit, await r.page_eval("window.__clicks"), focused

    hit, clicks, focused = run_in_browser(go)
    assert hit == "top"
    assert clicks == 1
    assert focused is False


def test_notice_is_not_in_the_record_and_the_title_is_recorded_without_prefix() -> None:
    """No snapshot or mutation holds the bar (its text, its popover attribute), also after the
    page removed it and it came back; the live title has the prefix, the recorded one not."""

    async def go(ctx: BrowserContext, base: str) -> tuple[str, list[str], str]:
        r = await open_page(ctx, base)
        await r.page_eval(ATTACKS["remove"])
        await wait_shown(r, "remove")
        await r.page_eval("document.title = 'Blotter 2'")
        live_title = ""
        for _ in range(200):
            live_title = str(await r.page_eval("document.title"))
            if live_title == f"[{TEXT}] Blotter 2":
                break
            await asyncio.sleep(0.05)
        await r.recorder_eval("globalThis.__st_snapshot()")
        await r.flush()
        return live_title, r.rec.messages, str(await r.page_eval("__notice().popover"))

    live_title, messages, popover = run_in_browser(go)
    assert popover == "manual"
    assert live_title == f"[{TEXT}] Blotter 2"
    joined = "".join(messages)
    assert "rrweb.full_snapshot" in joined
    assert TEXT not in joined
    assert '"popover"' not in joined
    assert '"Blotter 2"' in joined


def test_agent_journals_the_attempt_as_indicator_tampered(tmp_path: Path) -> None:
    """Through the production capture (default config: the notice on): the page removing the
    bar becomes an ``indicator.tampered`` event in the sink, not a ``capture.tamper``."""

    async def go() -> tuple[list[dict[str, Any]], list[Any]]:
        async with sites() as s, recording(tmp_path, s.a + "/plain.html") as (cs, sink):
            await cs.page.evaluate(
                "document.documentElement.querySelector(':scope > div[popover]').remove()"
            )
            await wait_until_async(
                lambda: of_kind(sink, "indicator.tampered"), what="indicator.tampered event"
            )
            back = await cs.page.evaluate(
                "!!document.documentElement.querySelector(':scope > div[popover]:popover-open')"
            )
        return [e.payload for e in of_kind(sink, "indicator.tampered")], [
            back,
            of_kind(sink, "capture.tamper"),
        ]

    tampered, (back, tamper) = asyncio.run(go())
    assert tampered[0] == {"how": "removed", "count": 1, "detail": "detached"}
    assert back is True
    assert tamper == []
