"""Real bypass attempts against the kiosk allowlist, one per test, in real Chromium.

Each test ends with the other site's access log free of the document it tried to show (or
Chromium refusing it before any request), the block page where a document was refused, and a
``kiosk.blocked`` event naming how the attempt was made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from agent.capture.session import CaptureSession
from agent.events import Event
from agent.kiosk.blockpage import BLOCK_MARK
from agent.testing import MemorySink
from tests.kiosk.sites import KioskSites, blocked, kiosk, kiosk_sites
from tests.waiting import wait_until_async

pytestmark = pytest.mark.browser

Attempt = Callable[[CaptureSession, KioskSites], Awaitable[None]]
SHOWS_BLOCK = f"!!document.getElementById({BLOCK_MARK!r})"


async def _event(sink: MemorySink, how: str, url: str | None = None) -> Event:
    def found() -> Event | None:
        return next(
            (
                e
                for e in blocked(sink)
                if e.payload["how"] == how and url in (None, e.payload["url"])
            ),
            None,
        )

    return await wait_until_async(found, what=f"kiosk.blocked how={how}", timeout_s=20)


def _run(
    tmp_path: Path,
    how: str,
    attempt: Attempt,
    *,
    path: str = "/start.html",
    url: Callable[[KioskSites], str] | None = None,
) -> tuple[Event, KioskSites, list[Event]]:
    """Start a kiosk on ``path``, make the attempt, return the event it caused (the one for
    ``url(sites)`` when a page makes more than one attempt of that kind)."""

    async def main() -> tuple[Event, KioskSites, list[Event]]:
        async with kiosk_sites() as s, kiosk(tmp_path, s, path) as (cs, sink, _policy):
            await attempt(cs, s)
            ev = await _event(sink, how, url(s) if url else None)
            return ev, s, list(sink.events)

    return asyncio.run(main())


def _no_document_from_b(s: KioskSites) -> None:
    assert "/evil.html" not in s.hits_b
    assert "/collect" not in s.hits_b


async def _click_and_see_block_page(cs: CaptureSession, selector: str) -> None:
    await cs.page.click(selector)
    await cs.page.wait_for_function(SHOWS_BLOCK, timeout=20)


def test_link_to_another_origin_shows_the_block_page(tmp_path: Path) -> None:
    ev, s, _ = _run(tmp_path, "link", lambda cs, s: _click_and_see_block_page(cs, "#link"))
    assert ev.payload["url"] == s.b + "/evil.html"
    assert ev.payload["scope"] == "top"
    assert ev.page is not None
    _no_document_from_b(s)


def test_redirect_chain_through_the_allowed_site_is_cut_at_the_hop_that_leaves(
    tmp_path: Path,
) -> None:
    ev, s, _ = _run(tmp_path, "redirect", lambda cs, s: _click_and_see_block_page(cs, "#redir"))
    assert ev.payload["url"] == s.b + "/evil.html"
    assert [h for h in s.hits_a if h.startswith("/hop")] == ["/hop1", "/hop2"]
    _no_document_from_b(s)


async def _popup_closed(cs: CaptureSession, selector: str) -> None:
    engine = cs.engine
    assert engine is not None
    await cs.page.click(selector)
    await wait_until_async(
        lambda: [e for e in engine.registry.all() if e.is_page and e.opener_id],
        what="a popup",
        timeout_s=20,
    )
    await wait_until_async(
        lambda: len([t for t in engine.registry.all() if t.is_page]) == 1,
        what="the popup closed",
        timeout_s=20,
    )


def test_window_open_of_another_origin_is_closed(tmp_path: Path) -> None:
    ev, s, _ = _run(tmp_path, "window.open", lambda cs, s: _popup_closed(cs, "#open"))
    assert ev.payload["closed"] is True
    assert ev.payload["url"] == s.b + "/evil.html"
    _no_document_from_b(s)


def test_target_blank_link_is_a_popup_and_closed(tmp_path: Path) -> None:
    ev, s, _ = _run(tmp_path, "window.open", lambda cs, s: _popup_closed(cs, "#blank"))
    assert ev.payload["closed"] is True
    _no_document_from_b(s)


def test_meta_refresh_to_another_origin(tmp_path: Path) -> None:
    async def attempt(cs: CaptureSession, s: KioskSites) -> None:
        await cs.page.wait_for_function(SHOWS_BLOCK, timeout=20)

    ev, s, _ = _run(tmp_path, "meta-refresh", attempt, path="/meta.html")
    assert ev.payload["url"] == s.b + "/evil.html"
    _no_document_from_b(s)


def test_form_post_to_another_origin_never_reaches_it(tmp_path: Path) -> None:
    ev, s, _ = _run(tmp_path, "form-post", lambda cs, s: _click_and_see_block_page(cs, "#fb"))
    assert ev.payload["method"] == "POST"
    assert ev.payload["url"] == s.b + "/collect"
    _no_document_from_b(s)


def test_javascript_url_that_navigates_away(tmp_path: Path) -> None:
    """A ``javascript:`` URL runs in the allowed page (it is page script); the navigation it
    starts is what the allowlist refuses."""
    ev, s, _ = _run(tmp_path, "script", lambda cs, s: _click_and_see_block_page(cs, "#js"))
    assert ev.payload["url"] == s.b + "/evil.html"
    _no_document_from_b(s)


async def _click_and_stay(cs: CaptureSession, selector: str) -> None:
    await cs.page.click(selector)


def test_top_level_data_url_is_refused_by_chromium_and_recorded(tmp_path: Path) -> None:
    ev, s, events = _run(tmp_path, "data-url", lambda cs, s: _click_and_stay(cs, "#data"))
    assert ev.payload["caught"] == "chromium"
    assert ev.payload["url"].startswith("data:text/html,")
    navs = [e.payload["url"] for e in events if e.kind == "page.navigate"]
    assert not [u for u in navs if u.startswith("data:")]


def test_data_url_popup_is_refused_by_chromium_and_recorded(tmp_path: Path) -> None:
    ev, _s, _ = _run(tmp_path, "data-url", lambda cs, s: _click_and_stay(cs, "#dataopen"))
    assert "data popup" in ev.payload["url"]


def test_file_link_is_refused_by_chromium_and_recorded(tmp_path: Path) -> None:
    ev, _s, events = _run(tmp_path, "file", lambda cs, s: _click_and_stay(cs, "#file"))
    assert ev.payload["url"] == "file:///etc/hostname"
    navs = [e.payload["url"] for e in events if e.kind == "page.navigate"]
    assert not [u for u in navs if u.startswith("file:")]


def test_typed_file_url_shows_the_block_page(tmp_path: Path) -> None:
    """A browser-initiated ``file:`` navigation (the address bar, the agent's own driver)
    reaches the Fetch gate and is refused there."""

    async def attempt(cs: CaptureSession, s: KioskSites) -> None:
        await cs.page.goto("file:///etc/hostname", wait_until="domcontentloaded")
        await cs.page.wait_for_function(SHOWS_BLOCK, timeout=20)

    ev, _s, _ = _run(tmp_path, "typed", attempt)
    assert ev.payload["url"] == "file:///etc/hostname"
    assert ev.payload["reason"] == "scheme file"


def test_iframe_of_another_origin_gets_the_block_page(tmp_path: Path) -> None:
    async def attempt(cs: CaptureSession, s: KioskSites) -> None:
        await cs.page.frame("#xo").wait_for_function(SHOWS_BLOCK, timeout=20)

    # frame.html also holds a data: frame, blocked in its own time: wait for this one's event
    ev, s, _ = _run(
        tmp_path, "iframe", attempt, path="/frame.html", url=lambda s: s.b + "/evil.html"
    )
    assert ev.payload["scope"] == "frame"
    assert ev.payload["url"] == s.b + "/evil.html"
    _no_document_from_b(s)


def test_data_url_iframe_is_replaced_when_it_commits(tmp_path: Path) -> None:
    """A ``data:`` frame never reaches Fetch: it is replaced by the block page once it
    commits (its inline content was briefly in the frame)."""

    async def attempt(cs: CaptureSession, s: KioskSites) -> None:
        async def frame_urls() -> list[str]:
            tree = await cs.page.send("Page.getFrameTree")
            return [c["frame"]["url"] for c in tree["frameTree"].get("childFrames", [])]

        for _ in range(200):
            urls = await frame_urls()
            if "about:blank" in urls and not [u for u in urls if u.startswith("data:")]:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"data: frame still there: {await frame_urls()}")

    _ev, _s, events = _run(tmp_path, "iframe", attempt, path="/frame.html")
    data = [e for e in events if e.kind == "kiosk.blocked" and e.payload["url"].startswith("data:")]
    assert [(e.payload["how"], e.payload["scope"], e.payload["caught"]) for e in data] == [
        ("iframe", "frame", "commit")
    ]


def test_service_worker_fetch_of_another_origin_fails(tmp_path: Path) -> None:
    """A service worker of the allowed site answering a navigation with a fetch from the
    other site: the worker's fetch is refused, the page gets the worker's fallback."""

    async def attempt(cs: CaptureSession, s: KioskSites) -> None:
        assert await cs.page.evaluate("window.swReady") == "ready"
        await cs.page.goto(s.a + "/sw-proxy", wait_until="domcontentloaded")
        await cs.page.wait_for_function("!!document.getElementById('swfail')", timeout=20)

    ev, s, _ = _run(tmp_path, "service-worker", attempt, path="/sw.html")
    assert ev.payload["scope"] == "subresource"
    assert ev.payload["url"] == s.b + "/evil.html"
    assert "/sw.js" in s.hits_a
    _no_document_from_b(s)


async def _drop(cs: CaptureSession, data: dict[str, object]) -> None:
    await cs.page.goto(cs.page.url.rsplit("/", 1)[0] + "/ok.html", wait_until="domcontentloaded")
    for kind in ("dragEnter", "dragOver", "drop"):
        params = {"type": kind, "x": 50, "y": 50, "data": {**data, "dragOperationsMask": 19}}
        await cs.page.send("Input.dispatchDragEvent", params)


def test_dropped_link_opens_nothing(tmp_path: Path) -> None:
    """A link dropped on the page (dispatched as a browser drag and drop): Chromium opens a
    tab for it before it can be attached; the browser-wide gate refuses its document."""

    async def attempt(cs: CaptureSession, s: KioskSites) -> None:
        await _drop(cs, {"items": [{"mimeType": "text/uri-list", "data": s.b + "/evil.html"}]})

    ev, s, _ = _run(tmp_path, "drop", attempt)
    assert ev.payload["url"] == s.b + "/evil.html"
    assert ev.payload["closed"] is True
    _no_document_from_b(s)


def test_dropped_file_opens_nothing(tmp_path: Path) -> None:
    local = tmp_path / "local.html"
    local.write_text("<h1>a local file</h1>")

    async def attempt(cs: CaptureSession, s: KioskSites) -> None:
        await _drop(cs, {"items": [], "files": [str(local)]})

    ev, _s, events = _run(tmp_path, "drop", attempt)
    assert ev.payload["url"] == local.as_uri()
    assert ev.payload["reason"] == "scheme file"
    assert not [e for e in events if e.kind == "page.navigate" and "local.html" in e.payload["url"]]


def test_subresource_of_another_origin_fails_and_allowed_pages_load(tmp_path: Path) -> None:
    async def attempt(cs: CaptureSession, s: KioskSites) -> None:
        await cs.page.click("#ok")
        await cs.page.wait_for_function("!!document.getElementById('ok')", timeout=20)

    ev, s, events = _run(tmp_path, "subresource", attempt)
    assert ev.payload["url"] == s.b + "/pixel.png"
    assert ev.payload["resource_type"] == "Image"
    assert "/pixel.png" not in s.hits_b
    assert "/ok.html" in s.hits_a
    refused = {e.payload["url"] for e in events if e.kind == "kiosk.blocked"}
    assert not [u for u in refused if u.startswith(s.a)]


@pytest.mark.parametrize("subresources", ["allowlist", "any-https"])
def test_websocket_to_another_origin_is_refused_and_recorded(
    tmp_path: Path, subresources: str
) -> None:
    """A WebSocket handshake never reaches Fetch: the proxy rules refuse it in the network
    stack (the other site never sees it), while one to the allowed site opens. ``ws:`` is
    not ``https``, so ``any-https`` refuses it too."""
    rule: dict[str, Any] = {"subresources": subresources}

    async def main() -> None:
        async with (
            kiosk_sites() as s,
            kiosk(tmp_path, s, "/ok.html", **rule) as (cs, sink, _policy),
        ):
            other = s.b.replace("http://", "ws://") + "/ws"
            own = s.a.replace("http://", "ws://") + "/ws"
            opened = (
                "(u) => new Promise(done => { const w = new WebSocket(u);"
                " w.onmessage = (e) => done(['message', e.data]);"
                " w.onerror = () => done(['error', '']); })"
            )
            assert await cs.page.evaluate(opened, other) == ["error", ""]
            assert await cs.page.evaluate(opened, own) == ["message", "hello from the allowed site"]
            assert "/ws" not in s.hits_b and "/ws" in s.hits_a
            await wait_until_async(lambda: blocked(sink), what="the refusal recorded")
            [ev] = blocked(sink)
            assert (ev.payload["how"], ev.payload["url"]) == ("websocket", other)
            assert (ev.payload["scope"], ev.payload["caught"]) == ("subresource", "proxy")

    asyncio.run(main())
