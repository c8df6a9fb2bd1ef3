"""The live viewer's server: a :class:`~agent.replay.live_hub.LiveHub` behind token auth.

Listening: ``127.0.0.1`` (a random port) with a random per-launch token, like the replay
viewer, unless ``replay.live_listen`` / ``--listen`` names another address; then it refuses
to start (:func:`listen_plan`) without HTTPS (``live_tls_cert`` + ``live_tls_key``) and a
token file (``live_token_file``: ``NAME TOKEN`` lines, mode 0600, owned by this account),
whose NAME is the supervisor each token authenticates.

Requests: ``Host`` must name this server (421 otherwise: DNS rebinding); a browser request
from another origin (``Sec-Fetch-Site`` other than ``same-origin``/``none``, or a foreign
``Origin``) is 403. The page ``/`` takes the token once in ``?token=``; the page keeps it in
memory and sends it as ``Authorization: Bearer`` on every API call. The supervisor actions are
``POST`` and accept the token *only* in that header - which no cross-site form or image can
set - so they cannot be forged by another page (CSRF). Viewer updates are a long poll
(``GET /api/live/poll``) rather than server-sent events: ``EventSource`` cannot send an
``Authorization`` header (the token would have to sit in every URL and log), and each poll
doubles as the watcher's heartbeat, so a page that stops polling has left.
"""

from __future__ import annotations

import asyncio
import getpass
import hmac
import ipaddress
import json
import os
import secrets
import socket
import ssl
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.errors import ConfigError, SessiontapeError, UsageError
from agent.replay import assets as asset_mod
from agent.replay.config import ReplayConfig
from agent.replay.live_hub import LiveHub
from agent.replay.server import CSP, STATIC

LIVE_FILES = {"live.html", "live.js", "live.css", "rrweb-replay.js", "rrweb-replay.css"}
ACTIONS = ("pause", "resume", "end")
POLL_TIMEOUT_S = 15.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ListenPlan:
    """Where and how the live viewer listens, and who its tokens authenticate."""

    host: str
    port: int
    tokens: dict[str, str]  # token -> supervisor name
    tls: ssl.SSLContext | None = None
    server_names: tuple[str, ...] = ()

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"


@dataclass
class LiveState:
    """What the handlers serve."""

    hub: LiveHub
    plan: ListenPlan
    asset_root: Path
    asset_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    port: int = 0

    def hosts(self) -> set[str]:
        names = {"127.0.0.1", "localhost", self.plan.host, *self.plan.server_names}
        if not _loopback(self.plan.host):
            names |= {socket.gethostname(), socket.getfqdn()}
        return {f"{n}:{self.port}" for n in names}


LIVE = web.AppKey("live", LiveState)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6); a one-line error when malformed."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--listen {text!r}: expected HOST:PORT (e.g. 127.0.0.1:8765)")
    return host, int(port)


def read_token_file(path: Path) -> dict[str, str]:
    """Token -> supervisor name from ``NAME TOKEN`` lines; refuses a file others can read or
    that another account owns, and tokens shorter than 32 characters."""
    try:
        st = path.stat()
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"replay.live_token_file {path}: {exc.strerror}") from exc
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"replay.live_token_file {path}: mode {stat.S_IMODE(st.st_mode):04o}, must be 0600"
        )
    if st.st_uid != os.geteuid():
        raise ConfigError(f"replay.live_token_file {path}: not owned by this account")
    tokens: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) != 2 or len(parts[1]) < 32:
            raise ConfigError(
                f"replay.live_token_file {path} line {n}: expected NAME TOKEN "
                "(token of at least 32 characters)"
            )
        tokens[parts[1]] = parts[0]
    if not tokens:
        raise ConfigError(f"replay.live_token_file {path}: no tokens")
    return tokens


def listen_plan(cfg: ReplayConfig, listen: str | None = None) -> ListenPlan:
    """Where to listen: loopback with a random token, or (configured) elsewhere with TLS and
    the token file - refused with a clear error when either is missing."""
    host, port = parse_listen(listen or cfg.live_listen)
    if _loopback(host) and not cfg.live_token_file:
        return ListenPlan(host, port, {secrets.token_urlsafe(32): _local_name()})
    if not _loopback(host):
        missing = [
            k for k in ("live_tls_cert", "live_tls_key", "live_token_file") if not getattr(cfg, k)
        ]
        if missing:
            raise ConfigError(
                f"live viewer: listening on {host}:{port} (not loopback) needs TLS and a token "
                f"file; set replay.{', replay.'.join(missing)}"
            )
    tls = None
    if cfg.live_tls_cert or cfg.live_tls_key:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            tls.load_cert_chain(cfg.live_tls_cert, cfg.live_tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"replay.live_tls_cert/live_tls_key: cannot load: {exc}") from exc
    tokens = read_token_file(Path(cfg.live_token_file))
    return ListenPlan(host, port, tokens, tls, tuple(cfg.live_server_names))


def _local_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.geteuid()}"


def _same(secret: str | None, want: str) -> bool:
    return secret is not None and hmac.compare_digest(secret.encode(), want.encode())


def supervisor(request: web.Request, *, header_only: bool = False) -> str | None:
    """The supervisor the request's token authenticates (None: no valid token)."""
    st: LiveState = request.app[LIVE]
    auth = request.headers.get("Authorization", "")
    given = [auth[len("Bearer ") :]] if auth.startswith("Bearer ") else []
    if not header_only and "token" in request.query:
        given.append(request.query["token"])
    for g in given:
        for token, name in st.plan.tokens.items():
            if _same(g, token):
                return name
    return None


def _refusal(request: web.Request, st: LiveState) -> web.Response | None:
    hosts = st.hosts()
    if request.headers.get("Host", "") not in hosts:
        return web.Response(status=421, text="421: Host is not this live viewer")
    origin = request.headers.get("Origin")
    site = request.headers.get("Sec-Fetch-Site", "none")
    if site not in ("same-origin", "none") or (
        origin is not None and origin not in {f"{st.plan.scheme}://{h}" for h in hosts}
    ):
        return web.Response(status=403, text="403: cross-origin request refused")
    path = request.path
    if path.startswith("/assets/") and path.count("/") == 3:
        ok = _same(path.split("/")[2], st.asset_key)
    elif path != "/" and path.lstrip("/") in LIVE_FILES:
        ok = True
    else:
        ok = supervisor(request, header_only=request.method != "GET") is not None
    return None if ok else web.Response(status=403, text="403: access token required")


@web.middleware
async def _security(request: web.Request, handler: Handler) -> web.StreamResponse:
    resp: web.StreamResponse | None = _refusal(request, request.app[LIVE])
    if resp is None:
        try:
            resp = await handler(request)
        except web.HTTPException as exc:
            resp = web.Response(status=exc.status, text=exc.text)
        except SessiontapeError as exc:
            resp = web.Response(status=409, text=exc.message)
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    return resp


def _json(obj: Any) -> web.Response:
    return web.Response(
        text=json.dumps(obj, separators=(",", ":"), default=str), content_type="application/json"
    )


def _int(request: web.Request, name: str, default: int) -> int:
    try:
        return int(request.query.get(name, default))
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be an integer") from None


def _client(request: web.Request) -> str:
    client = request.query.get("client", "")
    if not 8 <= len(client) <= 64 or not client.replace("-", "").replace("_", "").isalnum():
        raise web.HTTPBadRequest(text="client must be 8-64 letters, digits, - or _")
    return client


async def _index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "live.html")


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in LIVE_FILES:
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC / name)


async def _poll(request: web.Request) -> web.StreamResponse:
    st: LiveState = request.app[LIVE]
    who = supervisor(request) or ""
    await st.hub.seen(_client(request), who, f"live viewer from {request.remote}")
    answer = await st.hub.wait(
        _int(request, "v", -1),
        _int(request, "epoch", -1),
        _int(request, "after", -1),
        min(POLL_TIMEOUT_S, _int(request, "wait_ms", 15000) / 1000),
    )
    return _json({**answer, "supervisor": who})


async def _leave(request: web.Request) -> web.StreamResponse:
    await request.app[LIVE].hub.gone(_client(request))
    return _json({"ok": True})


async def _act(request: web.Request) -> web.StreamResponse:
    st: LiveState = request.app[LIVE]
    action = request.match_info["action"]
    if action not in ACTIONS:
        raise web.HTTPNotFound()
    if st.hub.controls is None:
        raise web.HTTPConflict(text="409: this live view has no supervisor controls")
    who = supervisor(request, header_only=True)
    assert who is not None  # the middleware refused the request otherwise
    await st.hub.act(action, who)
    return _json({"ok": True, "action": action, "by": who})


async def _asset(request: web.Request) -> web.StreamResponse:
    st: LiveState = request.app[LIVE]
    sha = request.match_info["sha"]
    if not asset_mod.is_sha256(sha):
        raise web.HTTPNotFound()
    p = asset_mod.asset_path(st.asset_root, sha)
    if p.is_file():
        body = p.read_bytes()
        return web.Response(
            body=body, headers=asset_mod.asset_headers(asset_mod.served_type(body, ""), sha)
        )
    body, ctype = asset_mod.placeholder("", sha)
    return web.Response(body=body, headers=asset_mod.asset_headers(ctype, sha))


def make_live_app(state: LiveState) -> web.Application:
    """The live viewer application (every route behind the security middleware)."""
    app = web.Application(middlewares=[_security])
    app[LIVE] = state
    app.router.add_get("/", _index)
    app.router.add_get("/api/live/poll", _poll)
    app.router.add_post("/api/live/leave", _leave)
    app.router.add_post("/api/live/{action}", _act)
    app.router.add_get("/assets/{key}/{sha}", _asset)
    app.router.add_get("/{name}", _static)
    return app


async def serve_live(
    state: LiveState, on_ready: Callable[[str], None], stop: asyncio.Event
) -> None:
    """Listen as planned, run the hub, call ``on_ready(url)`` once bound; until ``stop``."""
    state.hub.asset_prefix = f"/assets/{state.asset_key}/"
    plan = state.plan
    runner = web.AppRunner(make_live_app(state), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, plan.host, plan.port, ssl_context=plan.tls)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise UsageError(f"cannot listen on {plan.host}:{plan.port}: {exc.strerror}") from exc
    server: Any = site._server  # aiohttp keeps the asyncio.Server here; its port is the truth
    sockets = list(server.sockets) if server is not None else []
    state.port = int(sockets[0].getsockname()[1]) if sockets else plan.port
    hub_task = asyncio.create_task(state.hub.run(stop))
    try:
        host = plan.server_names[0] if plan.server_names else plan.host
        if len(plan.tokens) == 1:
            on_ready(f"{plan.scheme}://{host}:{state.port}/?token={next(iter(plan.tokens))}")
        else:
            on_ready(f"{plan.scheme}://{host}:{state.port}/?token=<your token>")
        await stop.wait()
    finally:
        stop.set()
        await asyncio.gather(hub_task, return_exceptions=True)
        await runner.cleanup()
