"""The console web application (Starlette): the routes of every page module behind one
middleware that pins the ``Host`` (DNS rebinding) and sets the security headers, and one
error page for every refusal.

``make_app(home, config, origins=..., hosts=...)`` builds it for a firm home; ``serve`` (in
:mod:`agent.console.serve`) runs it under uvicorn. Further page modules (the review queue,
OIDC sign-in) pass their routes in ``extra_routes`` and their top-bar links through
:func:`agent.console.templating.add_nav`. The review queue (:mod:`agent.console.pages_review`,
its own connection on the console database) and OIDC sign-in
(:mod:`agent.console.pages_oidc`, when ``console.oidc.issuer`` is set) are built in.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from agent.clock import Clock
from agent.config import Config
from agent.console import (
    pages_admin,
    pages_auth,
    pages_records,
    pages_replay,
    pages_reveal,
    pages_review,
    pages_search,
)
from agent.console.accounts import ConsoleStore
from agent.console.auth import SIGN_IN, Refused
from agent.console.pages_oidc import OidcSignIns, oidc_routes
from agent.console.review_desk import ReviewDesk
from agent.console.state import new_state, state_of_app
from agent.console.templating import STATIC, render
from agent.errors import KeyMaterialError, SessiontapeError, UsageError
from agent.replay.server import CSP as VIEWER_CSP

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class _Guard(BaseHTTPMiddleware):
    """421 for a ``Host`` this console does not answer for; security headers on every
    answer (the replay viewer's own policy under ``/v/``)."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        st = state_of_app(request.app)
        if request.headers.get("host", "") not in st.hosts:
            return PlainTextResponse("421: Host is not this console", status_code=421)
        resp = await call_next(request)
        viewer = request.url.path.startswith("/v/")
        resp.headers.setdefault("Content-Security-Policy", VIEWER_CSP if viewer else CONSOLE_CSP)
        resp.headers["X-Frame-Options"] = "SAMEORIGIN" if viewer else "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "same-origin"
        resp.headers["Cache-Control"] = "no-store"
        if st.secure:
            resp.headers["Strict-Transport-Security"] = "max-age=31536000"
        return resp


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    if exc.status == 401 and exc.message == SIGN_IN and request.method == "GET":
        return RedirectResponse("/login", status_code=303)
    resp = render(
        request, "error.html", None, exc.status, status=exc.status, refusal=exc.message,
        sign_in=exc.sign_in,
    )  # fmt: skip
    if exc.status == 401:
        st = state_of_app(request.app)
        resp.delete_cookie(st.cookie_name, path="/", secure=st.secure, httponly=True)
    return resp


async def _failed(request: Request, exc: Exception) -> Response:
    """A product error: bad input is 400 with its message; anything else (the audit could not
    be written, the vault is unreachable) is 503 and nothing was done."""
    assert isinstance(exc, SessiontapeError)
    status = 400 if isinstance(exc, UsageError | KeyMaterialError) else 503
    msg = exc.message if status == 400 else f"Not done: {exc.message}"
    return render(request, "error.html", None, status, status=status, refusal=msg)


def make_app(
    home: Path,
    config: Config,
    *,
    origins: frozenset[str],
    hosts: frozenset[str],
    secure: bool = False,
    clock: Clock | None = None,
    store: ConsoleStore | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    origin: str = "",
) -> Starlette:
    """The console for firm home ``home``, answering for ``hosts`` (``Host`` values) and
    accepting form posts from ``origins`` (``scheme://host:port``); ``origin`` is the one it
    listens on (the OIDC redirect URI's, unless ``console.public_origin`` is set; "" = the
    request's own)."""
    st = new_state(home, config, origins, hosts, secure=secure, clock=clock, store=store)
    desk = ReviewDesk(home, config, st.audit, st.clock)
    routes: list[BaseRoute] = [
        *pages_auth.routes,
        *pages_search.routes,
        *pages_replay.routes,
        *pages_records.routes,
        *pages_reveal.routes,
        *pages_admin.routes,
        *pages_review.routes,
        *oidc_routes(config),
        *extra_routes,
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            desk.close()
            st.close()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(_Guard)],
        exception_handlers={Refused: _refused, SessiontapeError: _failed},
        lifespan=lifespan,
    )
    app.state.console = st
    app.state.review = desk
    app.state.oidc = OidcSignIns()
    app.state.origin = origin
    return app
