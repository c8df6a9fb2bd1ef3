"""The demo trading app: two aiohttp sites on 127.0.0.1 (the app and a cross-origin widget).

``start_demo_app()`` returns a running :class:`DemoApp`; it records what it served
(logins, orders with their channel, lookups, confirmations, downloads, widget clicks) so
tests can compare the app's view of a session with the journal's. ``DemoAppThread`` runs
the same app on its own event loop in a thread, for synchronous tests and the CLI.

Routes of the app site (all but ``/``, ``/login``, ``/static``, ``/fixtures`` and the echo
endpoints need the ``st_demo_session`` cookie)::

    GET  /                 login page            POST /login        form login -> /app
    GET  /app              trading screen        GET  /confirm      big-order popup
    GET  /ws               blotter ticks + WS orders (?cells=N&interval_ms=M)
    GET  /api/session      bearer token + API key for REST calls
    POST /api/orders       REST order (Authorization: Bearer ..., X-Api-Key)
    POST /api/confirm      big order confirmed in the popup
    POST /api/cancel_all   after the page's confirm() dialog
    POST /api/lookup       client lookup (?account=...)
    GET  /api/positions    polled;               GET  /api/unread   fetched, never read
    GET  /download/report.csv
    GET  /fixtures/<name>  static fixture pages (when fixtures_dir is given)
    POST /api/echo, GET /ws/echo   unauthenticated echoes for fixture pages
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from agent.clock import Clock, SystemClock
from agent.demo_app import data
from agent.demo_app.blotter_ws import BlotterFeed
from agent.demo_app.models import LoginAttempt, Lookup, Order, OrderFields, Source, parse_order
from agent.demo_app.staging import (
    STAGING_LOOKUP_DELAY_S,
    staging_html,
)
from agent.demo_app.widget import start_widget_site
from agent.errors import UsageError

log = structlog.get_logger("agent.demo_app")

STATIC = Path(__file__).parent / "static"
COOKIE = "st_demo_session"
UNREAD_BYTES = 256 * 1024


class DemoApp:
    """A running demo app; attributes are read by tests, ``stop()`` shuts both sites down."""

    def __init__(
        self,
        clock: Clock,
        seed: int,
        fixtures_dir: Path | None,
        staging: bool = False,
        api: bool = True,
    ) -> None:
        self.clock = clock
        self.staging = staging
        self.api = api  # False: the front end only (pages, static files), no backend at all
        self.seed = seed
        self.fixtures_dir = fixtures_dir
        self.url = ""
        self.widget_url = ""
        self.orders: list[Order] = []
        self.logins: list[LoginAttempt] = []
        self.lookups: list[Lookup] = []
        self.confirmations: list[Order] = []
        self.cancel_alls: list[int] = []
        self.downloads: list[int] = []
        self.widget_clicks: list[int] = []
        self.echoes: list[dict[str, Any]] = []
        self.positions_polls = 0
        self.unread_served = 0
        self._sessions: dict[str, str] = {}
        self._order_seq = 0
        self._sockets: set[web.WebSocketResponse] = set()
        self.blotter = BlotterFeed(clock, seed, self._sockets, self._accept_order)
        self._runners: list[web.AppRunner] = []

    # -- lifecycle -------------------------------------------------------------------------
    def _build(self) -> web.Application:
        app = web.Application()
        r = app.router
        r.add_get("/", self._login_page)
        if self.api:
            r.add_post("/login", self._login)
        r.add_get("/app", self._page("app.html"))
        r.add_get("/confirm", self._page("confirm.html"))
        r.add_static("/static/", STATIC)
        if not self.api:
            return app
        r.add_get("/ws", self._ws)
        r.add_get("/api/session", self._session_info)
        r.add_post("/api/orders", self._rest_order)
        r.add_post("/api/confirm", self._confirm)
        r.add_post("/api/cancel_all", self._cancel_all)
        r.add_post("/api/lookup", self._lookup)
        r.add_get("/api/positions", self._positions)
        r.add_get("/api/unread", self._unread)
        r.add_get("/download/report.csv", self._download)
        r.add_post("/api/echo", self._echo)
        r.add_get("/ws/echo", self._ws_echo)
        if self.fixtures_dir is not None:
            r.add_static("/fixtures/", self.fixtures_dir)
        return app

    async def _start(self, host: str, port: int, widget_port: int) -> None:
        runner = web.AppRunner(self._build(), access_log=None)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        self.url = f"http://{host}:{bound}/"
        widget_runner, self.widget_url = await start_widget_site(
            host, widget_port, self.url.rstrip("/"), self._widget_clicked if self.api else None
        )
        self._runners.append(widget_runner)

    async def stop(self) -> None:
        """Close open WebSockets and both sites; safe to call twice."""
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"server stopping")
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    # -- helpers ---------------------------------------------------------------------------
    def _now(self) -> int:
        return self.clock.utc_ns()

    def _user(self, request: web.Request) -> str | None:
        return self._sessions.get(request.cookies.get(COOKIE, ""))

    def _require_user(self, request: web.Request) -> str:
        user = self._user(request)
        if user is None:
            raise web.HTTPUnauthorized(text="login required")
        return user

    def _widget_clicked(self) -> None:
        self.widget_clicks.append(self._now())

    def _page(self, name: str) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            if self.api and self._user(request) is None:
                raise web.HTTPFound("/")
            html = (STATIC / name).read_text(encoding="utf-8")
            html = html.replace("__WIDGET_URL__", self.widget_url)
            html = html.replace("<!--BLOTTER-->", data.blotter_html(self.seed))
            if self.staging:
                html = staging_html(html)
            return web.Response(text=html, content_type="text/html")

        return handler

    def _accept_order(self, user: str, fields: OrderFields, channel: str, source: Source) -> Order:
        self._order_seq += 1
        prefix = {"ws": "WS", "rest": "RS"}[channel]
        order = Order(
            f"{prefix}-{self._order_seq:06d}",
            "ws" if channel == "ws" else "rest",
            source,
            user,
            fields.symbol,
            fields.side,
            fields.quantity,
            fields.price,
            fields.account,
            self._now(),
        )
        self.orders.append(order)
        log.info("demo_app.order", order_id=order.order_id, channel=channel, source=source)
        return order

    async def _json_body(self, request: web.Request) -> Any:
        try:
            return await request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise web.HTTPBadRequest(text="body must be JSON") from exc

    # -- login -----------------------------------------------------------------------------
    def _login_html(self, error: str) -> str:
        html = (STATIC / "login.html").read_text(encoding="utf-8")
        return html.replace("<!--ERROR-->", error)

    async def _login_page(self, request: web.Request) -> web.Response:
        return web.Response(text=self._login_html(""), content_type="text/html")

    async def _login(self, request: web.Request) -> web.Response:
        form = await request.post()
        username = str(form.get("username", ""))
        password = str(form.get("password", ""))
        expected = data.DEMO_USERS.get(username)
        ok = expected is not None and hmac.compare_digest(expected.encode(), password.encode())
        self.logins.append(LoginAttempt(username, ok, self._now()))
        log.info("demo_app.login", ok=ok)
        if not ok:
            err = '<p id="login-error" class="error">Invalid username or password.</p>'
            return web.Response(text=self._login_html(err), content_type="text/html", status=401)
        token = secrets.token_urlsafe(24)
        self._sessions[token] = username
        resp = web.HTTPFound("/app")
        resp.set_cookie(COOKIE, token, httponly=True, samesite="Lax", path="/")
        raise resp

    async def _session_info(self, request: web.Request) -> web.Response:
        user = self._require_user(request)
        return web.json_response(
            {
                "user": user,
                "token": data.DEMO_SECRETS["bearer_token"],
                "api_key": data.DEMO_SECRETS["api_key"],
            }
        )

    # -- blotter WebSocket -----------------------------------------------------------------
    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        return await self.blotter.handle(request, self._require_user(request))

    @property
    def ws_connections(self) -> int:
        """Blotter WebSocket connections accepted so far."""
        return self.blotter.connections

    @property
    def ticks_sent(self) -> int:
        """Blotter ticks sent so far (all connections)."""
        return self.blotter.ticks_sent

    # -- REST ------------------------------------------------------------------------------
    async def _rest_order(self, request: web.Request) -> web.Response:
        user = self._require_user(request)
        bearer = "Bearer " + data.DEMO_SECRETS["bearer_token"]
        if not (
            hmac.compare_digest(request.headers.get("Authorization", ""), bearer)
            and hmac.compare_digest(
                request.headers.get("X-Api-Key", ""), data.DEMO_SECRETS["api_key"]
            )
        ):
            raise web.HTTPUnauthorized(text="bad bearer token or API key")
        try:
            fields = parse_order(await self._json_body(request))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        order = self._accept_order(user, fields, "rest", "ticket")
        return web.json_response({"order_id": order.order_id, "status": "accepted"})

    async def _confirm(self, request: web.Request) -> web.Response:
        user = self._require_user(request)
        try:
            fields = parse_order(await self._json_body(request))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        order = self._accept_order(user, fields, "rest", "popup")
        self.confirmations.append(order)
        return web.json_response({"order_id": order.order_id, "status": "confirmed"})

    async def _cancel_all(self, request: web.Request) -> web.Response:
        self._require_user(request)
        self.cancel_alls.append(self._now())
        status = 500 if self.staging else 200
        return web.json_response({"cancelled": len(self.orders)}, status=status)

    async def _lookup(self, request: web.Request) -> web.Response:
        user = self._require_user(request)
        if self.staging:
            await asyncio.sleep(STAGING_LOOKUP_DELAY_S)
        body = await self._json_body(request)
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        ssn = str(body.get("ssn", ""))
        account = str(body.get("account", "") or request.query.get("account", ""))
        client = data.find_client(ssn, account)
        self.lookups.append(
            Lookup(user, ssn[-4:], account, client.account if client else None, self._now())
        )
        if client is None:
            return web.json_response({"found": False}, status=404)
        return web.json_response(
            {
                "found": True,
                "name": client.name,
                "ssn_masked": client.ssn_masked,
                "account": client.account,
                "tier": client.tier,
                "balance": f"{client.balance_cents // 100}.{client.balance_cents % 100:02d}",
            }
        )

    async def _positions(self, request: web.Request) -> web.Response:
        self._require_user(request)
        self.positions_polls += 1
        return web.json_response(
            {"poll": self.positions_polls, "positions": data.positions(self.positions_polls)}
        )

    async def _unread(self, request: web.Request) -> web.Response:
        self._require_user(request)
        self.unread_served += 1
        line = '{"n":%06d,"pad":"' + "x" * 100 + '"},\n'
        body = "[\n" + "".join(line % i for i in range(UNREAD_BYTES // 120)) + '{"end":true}]\n'
        return web.Response(text=body, content_type="application/json")

    async def _download(self, request: web.Request) -> web.Response:
        self._require_user(request)
        self.downloads.append(self._now())
        return web.Response(
            text=data.report_csv(),
            content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="report.csv"'},
        )

    # -- echoes for fixture pages (no session: fixture pages do not log in) ----------------
    async def _echo(self, request: web.Request) -> web.Response:
        body = await request.text()
        entry = {
            "query": dict(request.query),
            "body": body,
            "headers": {k: v for k, v in request.headers.items() if k.startswith("X-")},
        }
        self.echoes.append(entry)
        return web.json_response({"echo": entry})

    async def _ws_echo(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=1 << 20)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.echoes.append({"ws": msg.data})
                    await ws.send_str(msg.data)
        finally:
            self._sockets.discard(ws)
        return ws


async def start_demo_app(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    widget_port: int = 0,
    clock: Clock | None = None,
    seed: int = data.DEFAULT_SEED,
    fixtures_dir: Path | None = None,
    staging: bool = False,
    api: bool = True,
) -> DemoApp:
    """Start the app and its cross-origin widget site; ports 0 pick free ports
    (``staging``: the variant a QA re-drive must tell apart - the "Send (REST)" button says
    :data:`STAGING_REST_BUTTON`, the download link has another id, the lookup button is moved
    to the top of its form (:data:`STAGING_MOVED`), "Send (WS)" asks
    :data:`STAGING_WS_CONFIRM` first, ``POST /api/lookup`` answers
    :data:`STAGING_LOOKUP_DELAY_S` later, and ``POST /api/cancel_all`` answers 500; without
    ``api``: the pages and static files only, no login, API, WebSocket or download)."""
    if host not in ("127.0.0.1", "localhost"):
        raise UsageError(f"the demo app listens on loopback only, not {host!r}")
    app = DemoApp(clock or SystemClock(), seed, fixtures_dir, staging, api)
    try:
        await app._start(host, port, widget_port)
    except OSError as exc:
        await app.stop()
        raise UsageError(f"demo app cannot listen on {host}:{port}: {exc.strerror}") from exc
    log.info("demo_app.started", url=app.url, widget_url=app.widget_url)
    return app


@contextlib.asynccontextmanager
async def running_demo_app(**kwargs: Any) -> AsyncIterator[DemoApp]:
    """``async with running_demo_app() as app:`` - start, yield, always stop."""
    app = await start_demo_app(**kwargs)
    try:
        yield app
    finally:
        await app.stop()
