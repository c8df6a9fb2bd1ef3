"""The demo app's HTTP and WebSocket surface, driven by a real aiohttp client on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from agent.demo_app import DEMO_SECRETS, DemoApp, DemoAppThread, running_demo_app
from agent.demo_app.data import blotter_initial, blotter_tick
from agent.demo_app.server import COOKIE, start_demo_app
from agent.errors import UsageError

Body = Callable[[DemoApp, aiohttp.ClientSession], Awaitable[None]]


def run_with_app(body: Body, *, login: bool = True) -> DemoApp:
    """Start the app, open a client (logged in unless told otherwise), run ``body``."""

    async def main() -> DemoApp:
        async with running_demo_app() as app:
            jar = aiohttp.CookieJar(unsafe=True)  # unsafe=True: keep cookies for IP hosts
            async with aiohttp.ClientSession(cookie_jar=jar) as client:
                if login:
                    await client.post(
                        app.url + "login",
                        data={
                            "username": DEMO_SECRETS["username"],
                            "password": DEMO_SECRETS["password"],
                        },
                    )
                await body(app, client)
            return app

    return asyncio.run(main())


def ticket(**over: str) -> dict[str, str]:
    base = {
        "symbol": "MSFT",
        "side": "BUY",
        "quantity": "100",
        "price": "412.50",
        "account": DEMO_SECRETS["ws_account"],
    }
    base.update(over)
    return base


def test_app_and_widget_listen_on_loopback_on_two_random_ports_so_widget_is_cross_origin() -> None:
    """The widget's origin differs from the app's only by a random port."""

    async def body(app: DemoApp, client: aiohttp.ClientSession) -> None:
        a, w = urlsplit(app.url), urlsplit(app.widget_url)
        assert a.hostname == w.hostname == "127.0.0.1"
        assert a.port and w.port and a.port != w.port
        page = await (await client.get(app.url + "app")).text()
        assert (
            f'<iframe id="widget-frame" title="Market news widget" src="{app.widget_url}"' in page
        )
        resp = await client.get(app.widget_url)
        assert resp.status == 200
        assert 'id="widget-refresh"' in await resp.text()
        assert (await client.post(app.widget_url + "/click")).status == 200
        assert len(app.widget_clicks) == 1

    run_with_app(body)


def test_good_login_sets_session_cookie_and_redirects_to_app() -> None:
    """POST /login with the demo password sets st_demo_session and redirects to /app."""

    async def body(app: DemoApp, client: aiohttp.ClientSession) -> None:
        resp = await client.post(
            app.url + "login",
            allow_redirects=False,
            data={"username": "trader1", "password": DEMO_SECRETS["password"]},
        )
        assert resp.status == 302
        assert resp.headers["Location"] == "/app"
        assert resp.cookies[COOKIE].value
        app_page = await client.get(app.url + "app")
        assert app_page.status == 200
        assert 'id="blotter"' in await app_page.text()
        assert [(x.username, x.ok) for x in app.logins] == [("trader1", True)]

    run_with_app(body, login=False)


def test_bad_login_shows_error_sets_no_cookie_and_app_stays_locked() -> None:
    """A wrong password gets 401 with a visible error; /app still redirects to the login."""

    async def body(app: DemoApp, client: aiohttp.ClientSession) -> None:
        resp = await client.post(
            app.url + "login",
            allow_redirects=False,
            data={"username": "trader1", "password": "wrong"},
        )
        assert resp.status == 401
        assert "Invalid username or password." in await resp.text()
        assert COOKIE not in resp.cookies
        locked = await client.get(app.url + "app", allow_redirects=False)
        assert locked.status == 302 and locked.headers["Location"] == "/"
        assert (await client.get(app.url + "api/positions")).status == 401
        assert [(x.username, x.ok) for x in app.logins] == [("trader1", False)]

    run_with_app(body, login=False)


def test_login_page_renders_blotter_at_tick_zero_values() -> None:
    """The /app HTML carries the 50x20 blotter with the deterministic tick-0 values."""

    async def body(app: DemoApp, client: aiohttp.ClientSession) -> None:
        html = await (await client.get(app.url + "app")).text()
        assert html.count("<td>") == 1000
        first_row = "".join(f"<td>{v}</td>" for _, _, v in blotter_initial()[:20])
        assert first_row in html

    run_with_app(body)


def test_ws_blotter_pushes_200_deterministic_cells_per_tick_every_50_ms() -> None:
    """After a full snapshot announcing a 50 ms schedule, each tick carries the 200 cells of
    blotter_tick() in order (the spacing itself is a benchmark matter, not asserted here)."""

    async def body(app: DemoApp, client: aiohttp.ClientSession) -> None:
        async with client.ws_connect(app.url + "ws") as ws:
            snap = await ws.receive_json()
            assert snap["type"] == "snapshot"
            assert (snap["interval_ms"], snap["cells_per_tick"]) == (50, 200)
            assert [tuple(c) for c in snap["cells"]] == blotter_initial()
            for expected_tick in range(1, 21):
                msg = await ws.receive_json()
                assert msg["tick"] == expected_tick
                assert len(msg["cells"]) == 200
                assert len({(r, c) for r, c, _ in msg["cells"]}) == 200
                assert [tuple(c) for c in msg["cells"]] == blotter_tick(expected_tick, 200)

    run_with_app(body)


def test_ws_blotter_cell_count_and_interval_come_from_the_query() -> None:
    """?cells=1000&interval_ms=20 is the schedule the socket announces and runs (1000 cells a
    tick); out-of-range is a 400."""

    async def body(app: DemoApp, client: aiohttp.ClientSession) -> None:
        async with client.ws_connect(app.url + "ws?cells=1000&interval_ms=20") as ws:
            snap = await ws.receive_json()
            assert (snap["interval_ms"], snap["cells_per_tick"]) == (20, 1000)
            for expected_tick in range(1, 16):
                msg = await ws.receive_json()
                assert msg["tick"] == expected_tick
                assert len(msg["cells"]) == 1000
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await client.ws_connect(app.url + "ws?cells=5000")
        assert err.value.status == 400

    run_with_app(body)


def test_ws_order_is_acked_with_an_id_and_recorded_with_channel_ws() -> None:
    """An order sent on the blotter socket is answered with order_ack and kept as ws."""

    async def body(app: DemoApp, client: aiohttp.ClientSession) -> None:
        async with client.ws_connect(app.url + "ws?cells=0") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "order", "client_ref": "R1", **ticket()})
            ack = await ws.receive_json()
            assert ack == {"type": "order_ack", "client_ref": "R1", "order_id": "WS-000001"}
            await ws.send_json({"type": "order", "client_ref": "R2", **ticket(side="HOLD")})
            assert (await ws.receive_json())["error"] == "bad side"
        [order] = app.orders
        assert (order.order_id, order.channel, order.source, order.user) == (
            "WS-000001",
            "ws",
            "ticket",
            "trader1",
        )
        assert (order.symbol, order.side, order.quantity, order.price, order.account) == (
            "MSFT",
            "BUY",
            100,
            "412.50",
            DEMO_SECRETS["ws_account"],
        )

    run_with_app(body)


def test_rest_order_needs_bearer_token_and_api_key_and_is_recorded_with_channel_rest() -> None:
    """POST /api/orders without the credentials is 401; with them it returns an order id."""

    async def body(app: DemoApp, client: aiohttp.ClientSession) -> None:
        url = app.url + "api/orders"
        assert (await client.post(url, json=ticket())).status == 401
        creds = await (await client.get(app.url + "api/session")).json()
        headers = {"Authorization": "Bearer " + creds["token"], "X-Api-Key": creds["api_key"]}
        assert creds["token"].startswith("demo-token-")
        bad = await client.post(url, json=ticket(quantity="-5"), headers=headers)
        assert bad.status == 400 and (await bad.json())["error"] == "bad quantity"
        ok = await client.post(url, json=ticket(side="SELL"), headers=headers)
        assert await ok.json() == {"order_id": "RS-000001", "status": "accepted"}
        assert [(o.order_id, o.channel, o.side) for o in app.orders] == [
            ("RS-000001", "rest", "SELL")
        ]

    run_with_app(body)


def test_popup_confirmation_records_a_rest_order_with_source_popup() -> None:
    """POST /api/confirm (what the popup sends) is a confirmation and an order."""

    async def body(app: DemoApp, client: aiohttp.ClientSession) -> None:
        resp = await client.post(app.url + "api/confirm", json=ticket(quantity="50000"))
        assert (await resp.json())["status"] == "confirmed"
        confirm_page = await client.get(app.url + "confirm?order=BIG-1&symbol=MSFT")
        assert 'id="confirm-btn"' in await confirm_page.text()
        assert [(o.channel, o.source, o.quantity) for o in app.confirmations] == [
            ("rest", "popup", 50000)
        ]
        assert app.orders == app.confirmations

    run_with_app(body)


def test_lookup_returns_card_with_partial_ssn_and_account() -> None:
    """The lookup finds Jane by SSN; the card shows only the SSN's last four digits."""

    async def body(app: DemoApp, client: aiohttp.ClientSession) -> None:
        account = DEMO_SECRETS["account"]
        resp = await client.post(
            app.url + "api/lookup",
            params={"account": account},
            json={
                "client_name": "Jane Q. Sample",
                "ssn": DEMO_SECRETS["ssn"],
                "account": account,
                "notes": DEMO_SECRETS["notes"],
                "pin": DEMO_SECRETS["pin"],
            },
        )
        card = await resp.json()
        assert card == {
            "found": True,
            "name": "Jane Q. Sample",
            "ssn_masked": "***-**-1120",
            "account": account,
            "tier": "Platinum",
            "balance": "12345678.90",
        }
        missing = await client.post(app.url + "api/lookup", json={"ssn": "000-00-0000"})
        assert missing.status == 404
        assert [(x.ssn_last4, x.found) for x in app.lookups] == [("1120", account), ("0000", None)]

    run_with_app(body)


def test_polling_unread_download_and_cancel_all_are_served_and_counted() -> None:
    """Positions count polls; /api/unread is large; the report is an attachment."""

    async def body(app: DemoApp, client: aiohttp.ClientSession) -> None:
        first = await (await client.get(app.url + "api/positions")).json()
        second = await (await client.get(app.url + "api/positions")).json()
        assert (first["poll"], second["poll"]) == (1, 2)
        assert first["positions"] != second["positions"]
        unread = await (await client.get(app.url + "api/unread")).read()
        assert len(unread) > 200_000
        report = await client.get(app.url + "download/report.csv")
        assert report.headers["Content-Disposition"] == 'attachment; filename="report.csv"'
        assert (await report.text()).splitlines()[0] == "symbol,quantity,last"
        cancelled = await (await client.post(app.url + "api/cancel_all")).json()
        assert cancelled == {"cancelled": 0}
        assert (
            app.positions_polls,
            app.unread_served,
            len(app.downloads),
            len(app.cancel_alls),
        ) == (2, 1, 1, 1)

    run_with_app(body)


def test_echo_endpoints_for_fixture_pages_need_no_session() -> None:
    """/api/echo and /ws/echo answer without a login and record what they got."""

    async def body(app: DemoApp, client: aiohttp.ClientSession) -> None:
        resp = await client.post(app.url + "api/echo?ssn=1", data="x", headers={"X-Ssn": "1"})
        assert (await resp.json())["echo"]["headers"] == {"X-Ssn": "1"}
        async with client.ws_connect(app.url + "ws/echo") as ws:
            await ws.send_str("hello")
            assert await ws.receive_str() == "hello"
        assert app.echoes[-1] == {"ws": "hello"}

    run_with_app(body, login=False)


def test_non_loopback_host_is_refused() -> None:
    """The demo app never listens beyond loopback."""
    with pytest.raises(UsageError, match="loopback only"):
        asyncio.run(start_demo_app("0.0.0.0"))


def test_demo_app_thread_serves_from_a_thread_and_stops() -> None:
    """DemoAppThread gives a sync caller a running app and closes its ports on exit."""

    async def fetch(url: str) -> Any:
        async with aiohttp.ClientSession() as client, client.get(url) as resp:
            return resp.status

    with DemoAppThread() as app:
        url = app.url
        assert asyncio.run(fetch(url)) == 200
    with pytest.raises(aiohttp.ClientConnectionError):
        asyncio.run(fetch(url))


def test_front_end_only_mode_serves_pages_and_no_backend() -> None:
    """``api=False``: the pages (no login needed) and static files are served; the login,
    the API, the WebSocket, the download and the widget's click endpoint are not there."""

    async def main() -> None:
        async with running_demo_app(api=False) as app, aiohttp.ClientSession() as client:
            for path in ("app", "confirm", "static/app.js", ""):
                async with client.get(app.url + path, allow_redirects=False) as r:
                    assert r.status == 200, path
            async with client.get(app.widget_url) as r:
                assert r.status == 200
            for method, url in (
                ("POST", app.url + "login"),
                ("GET", app.url + "api/session"),
                ("POST", app.url + "api/orders"),
                ("GET", app.url + "ws"),
                ("GET", app.url + "download/report.csv"),
                ("POST", app.widget_url + "/click"),
            ):
                async with client.request(method, url) as r:
                    assert r.status in (404, 405), url
            assert app.logins == [] and app.orders == [] and app.widget_clicks == []

    asyncio.run(main())
