"""The local replay viewer: aiohttp on 127.0.0.1, one random access token per launch.

The token is never a cookie (cookies are not isolated by port: every other server on
127.0.0.1 would receive it). The printed URL carries it once (``/?token=``); the viewer page
takes it out of the address bar, keeps it in memory and sends it as ``Authorization: Bearer``
on every API call (``?token=`` is also accepted, for scripts). Archived assets, which the
replay iframe loads by URL, are served under a second per-launch secret in the path
(``/assets/<asset key>/<sha256>``). The viewer's static code is public; the page ``/``, the
API and assets need a secret, else 403. Every request must name this server in ``Host``
(``127.0.0.1:<port>`` or ``localhost:<port>``), else 421 (DNS rebinding), and a browser
request from another origin (``Sec-Fetch-Site`` other than ``same-origin``/``none``, or a
foreign ``Origin``) is 403. The server binds the loopback address only. Viewer pages carry a
CSP with ``script-src 'self'``; recorded pages are rebuilt by rrweb's Replayer inside an
iframe sandboxed without ``allow-scripts``, so no recorded script ever runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from agent.config import Config
from agent.errors import SessiontapeError, UsageError
from agent.replay import assets as asset_mod
from agent.replay.rrweb_urls import OfflineUrls
from agent.replay.session import ReplaySession
from agent.seal.timestamp import tst_verifier

log = structlog.get_logger("sessiontape.replay")

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {
    "viewer.html",
    "viewer.js",
    "viewer-ui.js",
    "viewer.css",
    "rrweb-replay.js",
    "rrweb-replay.css",
}
HOST = "127.0.0.1"
PUBLIC = STATIC_FILES | {"data.js"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "frame-src 'self' about: blob:; object-src 'none'; base-uri 'none'; form-action 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class ViewerState:
    """What the handlers serve."""

    session: ReplaySession
    token: str
    asset_root: Path
    start_seq: int | None
    page_size: int
    asset_key: str = ""
    port: int = 0

    def __post_init__(self) -> None:
        self.asset_key = self.asset_key or secrets.token_urlsafe(24)

    @property
    def asset_prefix(self) -> str:
        """Where the replay finds archived assets (the path holds the asset key)."""
        return f"/assets/{self.asset_key}/"


STATE = web.AppKey("state", ViewerState)
"""Where the app keeps its :class:`ViewerState`."""


def _int(req: web.Request, name: str, default: int | None = None) -> int:
    raw = req.query.get(name)
    if raw is None:
        if default is None:
            raise web.HTTPBadRequest(text=f"missing query parameter {name}")
        return default
    try:
        return int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be an integer") from None


def _json(obj: Any) -> web.Response:
    return web.Response(
        text=json.dumps(obj, separators=(",", ":"), default=str), content_type="application/json"
    )


def _same(secret: str | None, want: str) -> bool:
    return secret is not None and hmac.compare_digest(secret.encode(), want.encode())


def _refusal(request: web.Request, st: ViewerState) -> web.Response | None:
    """421 for a ``Host`` that is not this server, 403 for a cross-origin browser request or
    a missing secret; None when the request may proceed."""
    hosts = {f"{HOST}:{st.port}", f"localhost:{st.port}"}
    if request.headers.get("Host", "") not in hosts:
        return web.Response(status=421, text="421: Host is not this viewer (127.0.0.1 only)")
    origin = request.headers.get("Origin")
    site = request.headers.get("Sec-Fetch-Site", "none")
    if site not in ("same-origin", "none") or (
        origin is not None and origin not in {f"http://{h}" for h in hosts}
    ):
        return web.Response(status=403, text="403: cross-origin request refused")
    path = request.path
    if path.startswith("/assets/") and path.count("/") == 3:
        key = path.split("/")[2]
        ok = _same(key, st.asset_key)
    elif path != "/" and path.lstrip("/") in PUBLIC:
        ok = True
    else:
        auth = request.headers.get("Authorization", "")
        bearer = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        ok = _same(bearer, st.token) or _same(request.query.get("token"), st.token)
    if not ok:
        return web.Response(status=403, text="403: access token required")
    return None


@web.middleware
async def _security(request: web.Request, handler: Handler) -> web.StreamResponse:
    st: ViewerState = request.app[STATE]
    resp: web.StreamResponse | None = _refusal(request, st)
    if resp is None:
        try:
            resp = await handler(request)
        except web.HTTPException as exc:
            resp = exc
        except SessiontapeError as exc:
            resp = web.Response(status=404, text=exc.message)
    resp.headers.setdefault("Content-Security-Policy", CSP)  # assets carry their own
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    return resp


async def _index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "viewer.html")


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name == "data.js":  # the offline bundle's data; the live viewer uses the API
        return web.Response(
            text="window.__ST_OFFLINE = null;\n", content_type="application/javascript"
        )
    if name not in STATIC_FILES:
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC / name)


def session_summary(
    rs: ReplaySession, find_asset: asset_mod.AssetFinder, start_seq: int | None, page_size: int
) -> dict[str, Any]:
    """The /api/session answer (also embedded in offline bundles)."""
    missing = rs.missing_assets(find_asset)
    first, last = rs.seq_range
    return {
        "v": 1,
        "metadata": rs.metadata(),
        "integrity": rs.integrity(),
        "streams": list(rs.streams.values()),
        "start_seq": start_seq,
        "seq_first": first,
        "seq_last": last,
        "page_size": page_size,
        "assets": {"count": len(rs.assets), "missing": missing},
        "actions": [a.as_dict() for a in rs.derived_actions],
    }


async def _session(request: web.Request) -> web.StreamResponse:
    st: ViewerState = request.app[STATE]
    summary = session_summary(
        st.session, asset_mod.in_store(st.asset_root), st.start_seq, st.page_size
    )
    return _json(summary)


async def _events(request: web.Request) -> web.StreamResponse:
    st: ViewerState = request.app[STATE]
    rs = st.session
    first, last = rs.seq_range
    f = _int(request, "from_seq", first or 0)
    t = _int(request, "to_seq", last or 0)
    limit = min(_int(request, "limit", st.page_size), st.page_size)
    stream = request.query.get("stream")
    page = request.query.get("page")
    rrweb_only = request.query.get("rrweb") == "1"
    evs, nxt = rs.events(f, t, stream=stream, rrweb_only=rrweb_only, limit=limit, page=page)
    urls = OfflineUrls(asset_mod.url_map(rs.assets), st.asset_prefix)
    evs = [
        {**e, "payload": urls.event(e["payload"])} if e["kind"].startswith("rrweb.") else e
        for e in evs
    ]
    return _json({"events": evs, "next_seq": nxt})


async def _timeline(request: web.Request) -> web.StreamResponse:
    rs = request.app[STATE].session
    return _json(
        {
            "entries": rs.timeline,
            "network": list(rs.network.values()),
            "actions": rs.actions,
            "screenshots": rs.screenshots,
        }
    )


async def _keyframes(request: web.Request) -> web.StreamResponse:
    rs = request.app[STATE].session
    return _json({"streams": rs.keyframes})


async def _raw(request: web.Request) -> web.StreamResponse:
    rs = request.app[STATE].session
    return _json(rs.raw(_int(request, "seq")))


async def _seq_at(request: web.Request) -> web.StreamResponse:
    rs = request.app[STATE].session
    return _json({"seq": rs.seq_at(_int(request, "t_utc_ns"))})


async def _asset(request: web.Request) -> web.StreamResponse:
    """An archived asset, typed by :func:`agent.replay.assets.served_type` (never as a page
    that runs script) with :data:`agent.replay.assets.ASSET_HEADERS`."""
    st: ViewerState = request.app[STATE]
    sha = request.match_info["sha"]
    if not asset_mod.is_sha256(sha):
        raise web.HTTPNotFound()
    p = asset_mod.asset_path(st.asset_root, sha)
    meta = st.session.assets.get(sha, {})
    if p.is_file():
        body = p.read_bytes()
        ctype = asset_mod.served_type(body, str(meta.get("mime") or ""))
        return web.Response(body=body, headers=asset_mod.asset_headers(ctype, sha))
    body, ctype = asset_mod.placeholder(str(meta.get("mime", "")), sha)
    resp = web.Response(body=body, headers=asset_mod.asset_headers(ctype, sha))
    resp.headers["X-Sessiontape-Asset"] = "missing"
    return resp


def make_app(state: ViewerState) -> web.Application:
    """The viewer application (every route behind the token middleware)."""
    app = web.Application(middlewares=[_security])
    app[STATE] = state
    app.router.add_get("/", _index)
    app.router.add_get("/api/session", _session)
    app.router.add_get("/api/events", _events)
    app.router.add_get("/api/timeline", _timeline)
    app.router.add_get("/api/keyframes", _keyframes)
    app.router.add_get("/api/raw", _raw)
    app.router.add_get("/api/seq_at", _seq_at)
    app.router.add_get("/assets/{sha}", _asset)
    app.router.add_get("/assets/{key}/{sha}", _asset)
    app.router.add_get("/{name}", _static)
    return app


async def serve(
    state: ViewerState,
    port: int,
    on_ready: Callable[[str], None],
    stop: asyncio.Event | None = None,
) -> None:
    """Serve on 127.0.0.1 until cancelled (or ``stop`` is set); ``on_ready(url)`` once bound."""
    runner = web.AppRunner(make_app(state), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise UsageError(f"cannot listen on {HOST}:{port}: {exc.strerror}") from exc
    server: Any = site._server  # aiohttp keeps the asyncio.Server here; its port is the truth
    sockets = list(server.sockets) if server is not None else []
    bound = int(sockets[0].getsockname()[1]) if sockets else port
    state.port = bound
    url = f"http://{HOST}:{bound}/?token={state.token}"
    if state.start_seq is not None:
        url += f"#seq={state.start_seq}"
    on_ready(url)
    try:
        await (stop.wait() if stop is not None else asyncio.Event().wait())
    finally:
        await runner.cleanup()


def new_token() -> str:
    """A per-launch access token (256 bits)."""
    return secrets.token_urlsafe(32)


def parse_time(text: str) -> int:
    """``--at``: ISO 8601 (``Z`` or an offset; naive means UTC) or integer UTC nanoseconds."""
    from datetime import UTC, datetime

    t = text.strip()
    if t.isdigit():
        return int(t)
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--at {text!r}: not an ISO 8601 time (e.g. 2026-11-26T12:42:10Z)"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def _start_seq(rs: ReplaySession, at: str | None, seq: int | None) -> int | None:
    """Where the viewer opens: ``--at`` time, else ``--seq``; it must be a verified seq."""
    first, last = rs.seq_range
    start = seq
    if at is not None:
        start = rs.seq_at(parse_time(at))
    if start is not None and (first is None or last is None or not first <= start <= last):
        raise UsageError(
            f"seq {start} is outside the verified part of the session ({first}..{last})"
        )
    return start


def launch(
    home: Path,
    config: Config,
    session_id: str,
    *,
    at: str | None = None,
    seq: int | None = None,
    port: int = 0,
    open_browser: bool = True,
    tsa_roots: list[bytes] | None = None,
    echo: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
) -> None:
    """``sessiontape replay``: verify, audit one view, serve until Ctrl-C (or ``stop``)."""
    import webbrowser

    from agent.audit import record_access

    verifier = tst_verifier(tsa_roots)
    rs = ReplaySession.open(
        home, session_id, tst_verifier=verifier, cache_size=config.replay.chunk_cache
    )
    try:
        first, last = rs.seq_range
        start = _start_seq(rs, at, seq)
        integ = rs.integrity()
        record_access(
            home,
            config,
            "audit.view",
            {
                "session": rs.info.session_id,
                "integrity": integ["status"],
                "start_seq": start,
                "segments": [s.path.name for s in rs.info.segments],
            },
        )
        echo(
            f"session {rs.info.session_id}: {integ['status']}"
            + (f" - {integ['first_failure']}" if integ["first_failure"] else "")
            + (f"; showing verified seq {first}..{last}" if not integ["ok"] else "")
        )
        state = ViewerState(rs, new_token(), home / "assets", start, config.replay.events_page_size)

        def ready(url: str) -> None:
            echo(f"replay viewer: {url}")
            echo("press Ctrl-C to stop")
            if open_browser and config.replay.open_browser:
                webbrowser.open(url)

        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the normal way to stop
            asyncio.run(serve(state, port, ready, stop))
    finally:
        rs.close()
