"""``--stub-network``: the recorded answers read back in order, the WebSocket replies, and the
demo session re-driven against the demo app's front end alone (its backend stopped: no login,
API, WebSocket or download route) with every front-end step matching (the blotter scroll
too), a request whose recorded answer is gone aborted and listed at its step, and the
download skipped."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from agent.demo_app.threaded import DemoAppThread
from agent.events import Record
from agent.redrive.drive import Options
from agent.redrive.plan import Rewriter, origin_of, path_of
from agent.redrive.result import MATCH, SKIPPED
from agent.redrive.run import redrive
from agent.redrive.stub import Socket, Stub, recorded_exchanges, socket_replies
from tests.pipeline.site import serve_page
from tests.redrive.conftest import Recorded

CHROMIUM = "/usr/lib/chromium/chromium"
ORIGIN = "http://rec.test:1"


def _rec(seq: int, kind: str, **payload: object) -> Record:
    return Record(seq, seq, seq, kind, dict(payload), "p", None, 0, "s")


def _exchange_records() -> list[Record]:
    return [
        _rec(1, "net.request", request_id="1", method="GET", url=f"{ORIGIN}/api/poll?n=1"),
        _rec(2, "net.response", request_id="1", status=200, body='{"n": 1}',
             body_encoding="text", headers={"Content-Type": "application/json", "Date": "x"},
             mime="application/json"),
        _rec(3, "net.request", request_id="2", method="GET", url=f"{ORIGIN}/api/poll?n=2"),
        _rec(4, "net.response", request_id="2", status=200, body="eyJuIjogMn0=",
             body_encoding="base64", body_truncated=True, mime="application/json"),
        _rec(5, "net.request", request_id="3", method="POST", url=f"{ORIGIN}/login"),
        _rec(6, "net.redirect", request_id="3", status=302, headers={"Location": "/app"}),
    ]  # fmt: skip


def test_recorded_answers_match_by_query_then_path_in_order() -> None:
    """Path and query first; then the path in recorded order; the last one again when all
    are used (a poll); headers that do not matter are dropped; a redirect is an answer."""
    ex = recorded_exchanges(_exchange_records())
    assert [(e.method, e.status, e.body) for e in ex] == [
        ("GET", 200, b'{"n": 1}'), ("GET", 200, b'{"n": 2}'), ("POST", 302, b"")
    ]  # fmt: skip
    assert ex[0].headers == {"Content-Type": "application/json"} and ex[1].truncated
    assert ex[2].headers == {"Location": "/app"}
    stub = Stub(_exchange_records(), Rewriter(ORIGIN, "http://t.test:2", []), lambda p: None)
    assert stub.targets == {"http://t.test:2": ORIGIN}
    got = [stub.match("GET", f"{ORIGIN}/api/poll?n={n}") for n in (2, 9, 9, 9)]
    assert [e.body if e else None for e in got] == [b'{"n": 2}', b'{"n": 1}', b'{"n": 2}',
                                                    b'{"n": 2}']  # fmt: skip
    assert stub.match("GET", f"{ORIGIN}/api/other") is None
    assert stub.match("GET", f"{ORIGIN}/login") is None  # a POST's answer is not a GET's


def test_socket_replies_skip_the_periodic_pushes() -> None:
    """On open: what the server pushed before the page spoke; after each message: what
    followed it, minus the kinds of message it pushed on its own."""
    sock = Socket("ws://rec.test:1/ws", [
        (False, '{"type": "snapshot"}'), (False, '{"type": "tick", "n": 1}'),
        (True, '{"type": "order"}'), (False, '{"type": "tick", "n": 2}'),
        (False, '{"type": "order_ack", "ref": "R1"}'), (True, '{"type": "watch"}'),
        (False, '{"type": "watching"}'),
    ])  # fmt: skip
    on_open, replies = socket_replies(sock)
    assert on_open == ['{"type": "snapshot"}', '{"type": "tick", "n": 1}']
    assert replies == [['{"type": "order_ack", "ref": "R1"}'], ['{"type": "watching"}']]


def _without_answer(records: list[Record], method: str, path: str) -> list[Record]:
    """The records minus the recorded answer of one request (as if it was never captured)."""
    (rid,) = {
        str(r.payload.get("request_id"))
        for r in records
        if r.kind == "net.request"
        and r.payload.get("method") == method
        and path_of(str(r.payload.get("url"))) == path
    }
    return [
        r
        for r in records
        if not (r.kind == "net.response" and str(r.payload.get("request_id")) == rid)
    ]


ICON_PAGE = b"""<!doctype html><html><head><link rel="icon" href="/fav.svg"></head>
<body><script>fetch('/api/missing').catch(() => {}).finally(() => { document.title = 'done' });
</script></body></html>"""


@pytest.mark.browser
def test_the_pages_icon_comes_from_the_target_though_the_recording_never_saw_it(
    tmp_path: Path,
) -> None:
    """The browser fetches a page's icon when it likes (type ``other``, asking for an image):
    a recording without it must not make the stub abort it - it is the front end's file."""
    (tmp_path / "fav.svg").write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"/>')

    async def run(url: str) -> tuple[int | None, list[str]]:
        stub = Stub([], Rewriter(ORIGIN, origin_of(url), []), lambda _p: None)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM)
            try:
                context = await browser.new_context()
                await stub.install(context)
                page = await context.new_page()
                async with page.expect_request(lambda r: r.url.endswith("/fav.svg")) as icon:
                    await page.goto(url)
                answer = await (await icon.value).response()  # None: the request failed
                await page.wait_for_function("document.title === 'done'")  # the fetch ended
                return (answer.status if answer else None), stub.unmatched
            finally:
                await browser.close()

    with serve_page(tmp_path, ICON_PAGE) as url:
        status, unmatched = asyncio.run(run(url))
    assert status == 200  # served by the target
    assert unmatched == ["GET /api/missing"]  # an API call the recording lacks is aborted


@pytest.mark.browser
def test_backend_stopped_front_end_steps_match(recorded: Recorded) -> None:
    """Against the front end alone every step matches - the sign-in, the REST and WebSocket
    orders, the lookup, the widget, the popup, the dialog - but the step whose request lost
    its recorded answer (it diverges and names the aborted request) and the download (its
    content is never recorded: skipped, listed)."""
    plan = recorded.plan
    records = _without_answer(plan.records, "POST", "/api/cancel_all")
    widget = next(
        origin_of(str(r.payload["url"]))
        for r in plan.records
        if r.kind == "net.request" and path_of(str(r.payload["url"])) == "/widget"
    )
    with DemoAppThread(api=False) as app:
        opts = Options(app.url, [f"{widget}={origin_of(app.widget_url)}"], recorded.fill(),
                       executable=CHROMIUM, stub_network=True, ignore=["@numbers"])  # fmt: skip
        rep = asyncio.run(redrive(dataclasses.replace(plan, records=records), opts))
        assert app.orders == [] and app.logins == []  # nothing reached a backend
    cancel = "clicked button 'Cancel all' in 'Order ticket'"
    by_text = {s.text: s for s in rep.steps}
    assert by_text[cancel].unmatched == ["POST /api/cancel_all"]
    assert by_text[cancel].status != MATCH
    # the aborted request fails (when the cause links tie it to the click) and the browser
    # logs the failed fetch
    failed = {"POST /api/cancel_all: failed, recorded 2xx"}
    assert set(by_text[cancel].divergences) - failed == {
        "new console error: Failed to load resource: net::ERR_FAILED (/api/cancel_all)",
        "new console error: Failed to fetch",
    }
    (download,) = [s for s in rep.steps if s.verb == "download"]
    assert download.status == SKIPPED and download.unmatched == ["GET /download/report.csv"]
    others = [s for s in rep.steps if s.text != cancel and s.verb != "download"]
    assert {s.text: s.divergences for s in others if s.status != MATCH} == {}
    # the stubbed WebSocket counts the page's messages as sent, at the steps the recording's
    # cause links tie them to (the order, the lookup's watch: which steps varies by recording)
    sent = {"method": "WS", "path": "/ws", "status": "sent"}
    for step, res in zip(plan.steps, rep.steps, strict=True):
        if any(e.method == "WS" for e in step.expected):
            assert sent in res.requests, res.text
    (rest,) = [s for s in rep.steps if s.text == "clicked button 'Send (REST)' in 'Order ticket'"]
    assert {"method": "POST", "path": "/api/orders", "status": "2xx"} in rest.requests
    assert rep.modes["stub_network"] is True
    # the demo's blotter scroll is a step (one, or two when an action came between the
    # wheel turns): found by its id, landed where it was recorded
    scrolls = [s for s in rep.steps if s.verb == "scroll"]
    blotter = [s for s in scrolls if s.text.startswith("scrolled #blotter-wrap in 'Blotter' to")]
    assert blotter and all(s.strategy == "id" for s in blotter)
    assert all(s.status == MATCH for s in scrolls)
