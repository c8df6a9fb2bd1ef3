"""Network capture: request/response pairs with bodies, unread bodies, redirects, failures,
WebSocket frames with a received budget, assets, and the cause link to the user action."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.capture.assets import AssetStore
from agent.events import Event
from tests.capture.servers import (
    BIG_BODY,
    UNREAD_BODY,
    SkippingClock,
    of_kind,
    recording,
    sites,
    wait_for,
)

pytestmark = pytest.mark.browser


def _one(events: list[Event], pred: Callable[[Event], object]) -> Event:
    found = [e for e in events if pred(e)]
    assert len(found) == 1, [e.payload.get("url") for e in events]
    return found[0]


def test_fetch_pair_has_post_data_body_hash_timing_and_click_cause(tmp_path: Path) -> None:
    """A click that POSTs JSON: request, response with body + SHA-256, cause = that click."""

    async def main() -> None:
        async with sites() as s, recording(tmp_path, s.a + "/net.html") as (cs, sink):
            await cs.page.wait_for_timeout(300)
            await cs.page.click("#go")
            await cs.page.wait_for_function("document.getElementById('out').textContent")
            resp = await wait_for(
                lambda: [
                    e
                    for e in of_kind(sink, "net.response")
                    if e.payload["url"].endswith("/api/data")
                ]
            )
            req = _one(
                of_kind(sink, "net.request"), lambda e: e.payload["url"].endswith("/api/data")
            )
            assert req.payload["method"] == "POST"
            assert req.payload["post_data"] == '{"qty":7}'
            assert req.payload["resource_type"] == "Fetch"
            body = resp[0].payload
            assert body["status"] == 200
            assert '"price": 101.25' in body["body"]
            assert body["body_sha256"] == hashlib.sha256(body["body"].encode()).hexdigest()
            assert isinstance(body["timing_us"]["receiveHeadersEnd"], int)
            click = _one(
                of_kind(sink, "rrweb.mouse_interaction"), lambda e: e.payload["data"]["type"] == 2
            )
            assert req.payload["cause"] == {
                "page": click.page,
                "t_utc_ns": click.t_utc_ns,
                "kind": click.kind,
                "action_id": click.payload["action_id"],
                "frame": click.frame,
            }
            # the document itself was loaded by navigation, not by a click
            doc = _one(
                of_kind(sink, "net.request"), lambda e: e.payload["url"].endswith("/net.html")
            )
            assert doc.payload["cause"] is None

    asyncio.run(main())


def test_unread_response_body_redirect_failure_and_cap(tmp_path: Path) -> None:
    """A body the page never reads is captured; redirects and failures are events; big
    bodies are capped with the hash of the whole body."""

    async def main() -> None:
        async with sites() as s, recording(tmp_path, s.a + "/net.html") as (cs, sink):
            page = cs.page
            await page.evaluate("unread()")
            assert await page.evaluate("redirect()") == "landed"
            assert await page.evaluate("fail()") == "failed"
            assert await page.evaluate("big()") == len(BIG_BODY)
            unread = await wait_for(
                lambda: [
                    e
                    for e in of_kind(sink, "net.response")
                    if e.payload["url"].endswith("/api/unread")
                ]
            )
            assert unread[0].payload["body"] == UNREAD_BODY.decode()
            assert unread[0].payload["body_sha256"] == hashlib.sha256(UNREAD_BODY).hexdigest()
            redir = await wait_for(lambda: of_kind(sink, "net.redirect"))
            assert redir[0].payload["from"].endswith("/redirect")
            assert redir[0].payload["to"].endswith("/api/plain")
            assert redir[0].payload["status"] == 302
            landed = await wait_for(
                lambda: [
                    e
                    for e in of_kind(sink, "net.response")
                    if e.payload["url"].endswith("/api/plain")
                ]
            )
            assert landed[0].payload["body"] == "landed"
            failed = await wait_for(
                lambda: [e for e in of_kind(sink, "net.failed") if "/nothing" in e.payload["url"]]
            )
            assert failed[0].payload["error"].startswith("net::ERR_")
            big = await wait_for(
                lambda: [
                    e
                    for e in of_kind(sink, "net.response")
                    if e.payload["url"].endswith("/api/big")
                ]
            )
            p = big[0].payload
            assert p["body_encoding"] == "base64" and p["body_truncated"] is True
            assert p["body_size"] == len(BIG_BODY)
            assert p["body_sha256"] == hashlib.sha256(BIG_BODY).hexdigest()
            assert base64.b64decode(p["body"]) == BIG_BODY[:4096]
            # the stylesheet is archived by content hash
            asset = _one(
                of_kind(sink, "net.asset"), lambda e: e.payload["url"].endswith("/style.css")
            )
            css = AssetStore(tmp_path / "assets").get(asset.payload["sha256"])
            assert css == b"body { color: rgb(1, 2, 3); }"

    asyncio.run(main())


def test_websocket_frames_both_ways_with_received_budget_and_skipped_count(tmp_path: Path) -> None:
    """Sent frames are all kept (linked to the click); received frames over the per-second
    budget are counted in a capture.degraded event; binary frames are base64."""

    async def main() -> None:
        clock = SkippingClock()
        async with (
            sites() as s,
            recording(
                tmp_path, s.a + "/ws.html", clock=clock, ws_received_budget_frames_per_sec=50
            ) as (cs, sink),
        ):
            page = cs.page
            await page.wait_for_function("window.got >= 1")
            await page.click("#order")
            await page.evaluate("flood()")
            await page.wait_for_function("window.got >= 302")
            assert cs.engine is not None
            ws = cs.engine.network.ws
            await wait_for(lambda: ws.received_frames() >= 302)  # capture saw every frame
            clock.skip_s(1.1)  # a fresh budget window for the binary frame
            await page.evaluate("bin()")
            await page.wait_for_function("window.got >= 303")
            note = await wait_for(
                lambda: [
                    e
                    for e in of_kind(sink, "capture.degraded")
                    if e.payload["reason"] == "ws_received_budget"
                ]
            )
            frames = await wait_for(
                lambda: [
                    e
                    for e in of_kind(sink, "net.ws_frame")
                    if e.payload["opcode"] == 2 and e.payload["direction"] == "received"
                ]
            )
            assert base64.b64decode(frames[0].payload["data"]) == bytes([255, 2, 1, 0])
            got = [e for e in of_kind(sink, "net.ws_frame") if e.payload["direction"] == "received"]
            skipped = sum(
                e.payload["skipped_frames"]
                for e in of_kind(sink, "capture.degraded")
                if e.payload["reason"] == "ws_received_budget"
            )
            assert note and skipped > 0
            assert len(got) + skipped == 303  # hello + ack + 300 ticks + binary: none silent
            sent = [e for e in of_kind(sink, "net.ws_frame") if e.payload["direction"] == "sent"]
            assert [e.payload["data"] for e in sent[:2]] == ['{"side":"buy","qty":100}', "flood"]
            click = _one(
                of_kind(sink, "rrweb.mouse_interaction"), lambda e: e.payload["data"]["type"] == 2
            )
            assert sent[0].payload["cause"]["action_id"] == click.payload["action_id"]
            assert of_kind(sink, "net.ws_open")[0].payload["url"].endswith("/ws")

    asyncio.run(main())
