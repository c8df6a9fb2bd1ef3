"""Sign-in with the firm's OpenID Connect provider.

``GET /login/oidc`` starts a sign-in (:meth:`OidcClient.begin`): the state record (state,
nonce, PKCE verifier) stays in the server's memory under a random id, and the browser gets
only that id in a short-lived signed cookie (``SameSite=Lax``, so it comes back on the
provider's redirect). ``GET <console.oidc.redirect_path>`` takes the record out (single use:
a replayed callback finds nothing), completes the sign-in and calls
:func:`agent.console.auth.sign_in` with method ``oidc``. A refusal (an
:class:`~agent.errors.AuthError`: wrong audience, bad signature, no mapped group, provider
unreachable, ...) shows the sign-in page with its one line and is an ``audit.signin`` record
with outcome ``refused``, like a wrong password.

The redirect URI is ``console.public_origin`` (else the origin the console listens on) plus
the redirect path; it is the one to register at the provider. A sign-in started in memory is
lost when the console restarts (the user starts again).
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from itsdangerous import BadData
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from agent.config import Config
from agent.console.auth import sign_in, state_of
from agent.console.oidc import STATE_MAX_AGE_NS, OidcClient
from agent.console.pages_auth import login_form
from agent.errors import AuthError, SessiontapeError

FLOW_COOKIE = "st_console_oidc"
MAX_PENDING = 1000  # sign-ins in progress kept; the oldest is dropped beyond this
_BOUNCE = (
    '<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/">'
    '<title>Signed in</title><p>Signed in. <a href="/">Continue</a></p>'
)


class OidcSignIns:
    """The console's OIDC client (made on first use) and the sign-ins in progress."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: OidcClient | None = None
        self._pending: dict[str, dict[str, Any]] = {}

    def client(self, request: Request) -> OidcClient:
        st = state_of(request)
        with self._lock:
            if self._client is None:
                self._client = OidcClient(st.config.console.oidc, clock=st.clock)
            return self._client

    def keep(self, record: dict[str, Any], now_ns: int) -> str:
        """Keep a sign-in's state record; the id the browser's cookie carries."""
        flow = secrets.token_urlsafe(24)
        with self._lock:
            for k in [
                k for k, r in self._pending.items() if now_ns - r["created_ns"] > STATE_MAX_AGE_NS
            ]:
                del self._pending[k]
            while len(self._pending) >= MAX_PENDING:
                del self._pending[next(iter(self._pending))]
            self._pending[flow] = record
        return flow

    def take(self, flow: str) -> dict[str, Any]:
        """The record of sign-in ``flow``, removed (a second callback finds none)."""
        with self._lock:
            record = self._pending.pop(flow, None)
        if record is None:
            raise AuthError("OIDC sign-in: no sign-in in progress here (start again)")
        return record


def _sign_ins(request: Request) -> OidcSignIns:
    found: OidcSignIns = request.app.state.oidc
    return found


def redirect_uri(request: Request) -> str:
    """Where the provider sends the browser back: the public (else listen) origin."""
    st = state_of(request)
    origin = st.config.console.public_origin or request.app.state.origin
    if not origin:
        origin = f"{request.url.scheme}://{request.headers['host']}"
    return origin.rstrip("/") + st.config.console.oidc.redirect_path


async def _refused(request: Request, exc: SessiontapeError) -> Response:
    """The sign-in page with the refusal's one line; audited like a wrong password."""
    st = state_of(request)
    msg = exc.message
    await run_in_threadpool(
        st.audit, None, "audit.signin", {"outcome": "refused", "method": "oidc", "reason": msg}
    )
    resp = login_form(request, 401, error=f"Single sign-on refused: {msg}")
    resp.delete_cookie(FLOW_COOKIE, path="/")
    return resp


async def begin(request: Request) -> Response:
    st = state_of(request)
    flows = _sign_ins(request)
    try:
        url, record = await flows.client(request).begin(redirect_uri(request))
    except SessiontapeError as exc:  # not configured, provider unreachable
        return await _refused(request, exc)
    flow = flows.keep(record.as_dict(), st.now())
    resp = RedirectResponse(url, status_code=303)
    resp.set_cookie(
        FLOW_COOKIE, st.signer.dumps(flow, salt="oidc"), max_age=STATE_MAX_AGE_NS // 10**9,
        path="/", secure=st.secure, httponly=True, samesite="lax",
    )  # fmt: skip
    return resp


async def callback(request: Request) -> Response:
    st = state_of(request)
    flows = _sign_ins(request)
    try:
        try:
            flow = str(st.signer.loads(request.cookies.get(FLOW_COOKIE, ""), salt="oidc"))
        except BadData:
            raise AuthError("OIDC sign-in: no sign-in in progress here (start again)") from None
        record = flows.take(flow)
        params = dict(request.query_params)
        principal = await flows.client(request).complete(params, record, redirect_uri(request))
    except SessiontapeError as exc:
        return await _refused(request, exc)
    signed = await sign_in(request, principal, "oidc")
    # The provider's redirect is a cross-site navigation, on which a browser withholds the
    # SameSite=Strict session cookie: land on a page of our own that moves on to the start.
    resp = HTMLResponse(_BOUNCE)
    resp.raw_headers.extend(h for h in signed.raw_headers if h[0] == b"set-cookie")
    resp.delete_cookie(FLOW_COOKIE, path="/")
    return resp


def oidc_routes(config: Config) -> list[BaseRoute]:
    """The OIDC routes for ``config`` (none while no issuer is configured)."""
    if not config.console.oidc.enabled:
        return []
    return [
        Route("/login/oidc", begin, methods=["GET"]),
        Route(config.console.oidc.redirect_path, callback, methods=["GET"]),
    ]
