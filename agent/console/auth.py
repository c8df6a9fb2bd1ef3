"""Signed-in sessions and role checks: who is asking, and may they do this.

The session cookie holds a random session id signed with the console's secret (itsdangerous);
the session itself (principal, CSRF token, times) is a row in ``console.db``, so signing out,
idle expiry (``console.idle_minutes``), absolute expiry (``console.absolute_hours``) and an
examiner's account expiry end it for real. A cookie whose signature is wrong is refused and
audited as a forgery. Every refusal (no role, CSRF, foreign origin, forged cookie) is an
``audit.refused`` record.

Sign-in methods (the local password form here, OIDC elsewhere) prove who someone is and then
call :func:`sign_in`, which audits the sign-in, stores the session and sets the cookie.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from itsdangerous import BadSignature
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from agent.console.csrf import origin_problem, same_token
from agent.console.identity import ADMIN, EXAMINER, REVIEWER, SUPERVISOR, Principal
from agent.console.state import ConsoleState

MIN_NS = 60 * 1_000_000_000
PERMISSIONS: dict[str, frozenset[str]] = {
    "search": frozenset({REVIEWER, SUPERVISOR, EXAMINER}),
    "view": frozenset({REVIEWER, SUPERVISOR, EXAMINER}),
    "export": frozenset({SUPERVISOR, EXAMINER}),
    "hold": frozenset({SUPERVISOR}),
    "reveal": frozenset({SUPERVISOR}),
    "audit": frozenset({SUPERVISOR, EXAMINER, ADMIN}),
    "users": frozenset({ADMIN}),
    "review": frozenset({REVIEWER, SUPERVISOR, EXAMINER, ADMIN}),
    "review_work": frozenset({REVIEWER, SUPERVISOR}),
    "review_sample": frozenset({SUPERVISOR, ADMIN}),
    "signed_in": frozenset({REVIEWER, SUPERVISOR, EXAMINER, ADMIN}),
}
"""Which roles may do what (an examiner only reads: no holds, reveals or account changes).
The review queue: everyone reads it (``review``); reviewers and supervisors claim,
disposition and escalate (``review_work``; closing an escalation is the queue's own
supervisor-only rule); supervisors and admins run a sampling (``review_sample``)."""

SIGN_IN = "Sign in to continue."
Endpoint = Callable[[Request], Awaitable[Response]]
Guarded = Callable[[Request, Principal], Awaitable[Response]]


class Refused(Exception):
    """A request the console refuses: the HTTP status and the one line the user reads."""

    def __init__(self, status: int, message: str, *, sign_in: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.sign_in = sign_in  # the page offers the sign-in form


def state_of(request: Request) -> ConsoleState:
    st: ConsoleState = request.app.state.console
    return st


def allowed(p: Principal, perm: str) -> bool:
    """True when one of ``p``'s roles grants ``perm``."""
    return p.has(*PERMISSIONS[perm])


def _cookie(st: ConsoleState, resp: Response, value: str, max_age: int) -> None:
    resp.set_cookie(
        st.cookie_name,
        value,
        max_age=max_age,
        path="/",
        secure=st.secure,
        httponly=True,
        samesite="strict",
    )


async def sign_in(request: Request, principal: Principal, method: str) -> Response:
    """Start a session for an authenticated ``principal`` (any sign-in method calls this):
    audit the sign-in first, store the session, set the cookie, go to the start page."""
    st = state_of(request)

    def start() -> str:
        st.audit(principal, "audit.signin", {"outcome": "ok", "method": method})
        return st.store.new_session(principal, st.now())

    sid = await run_in_threadpool(start)
    resp = RedirectResponse("/", status_code=303)
    _cookie(st, resp, st.signer.dumps(sid, salt="session"), st.config.console.absolute_hours * 3600)
    resp.delete_cookie("st_console_pre", path="/")
    return resp


def _session_id(st: ConsoleState, request: Request) -> str | None:
    """The session id of the request's cookie; None without one; :class:`Refused` (audited)
    when the cookie's signature is not ours."""
    raw = request.cookies.get(st.cookie_name)
    if not raw:
        return None
    try:
        sid = st.signer.loads(raw, salt="session")
    except BadSignature:
        path = request.url.path
        st.audit(None, "audit.refused", {"reason": "forged session cookie", "path": path})
        msg = "Your session cookie is not valid (altered or forged). Sign in again."
        raise Refused(401, msg, sign_in=True) from None
    return str(sid)


def _ended(st: ConsoleState, sid: str, p: Principal | None, why: str) -> Refused:
    st.store.end_session(sid)
    if p is not None and why.startswith("your account"):
        st.audit(p, "audit.signin", {"outcome": "expired", "method": "session"})
    return Refused(401, why + " Sign in again.", sign_in=True)


def current(st: ConsoleState, request: Request) -> tuple[str, Principal] | None:
    """(session id, principal) of a live session; None when not signed in; :class:`Refused`
    when the session has ended (idle, absolute, account expiry) or the cookie is forged."""
    sid = _session_id(st, request)
    if sid is None:
        return None
    row = st.store.session(sid)
    if row is None:
        raise Refused(401, "Your session has ended.  Sign in again.", sign_in=True)
    now, c = st.now(), st.config.console
    p = row.principal
    if p.expires_ns is not None and now >= p.expires_ns:
        raise _ended(st, sid, p, "your account has expired; the session has ended.")
    if now - row.seen_ns > c.idle_minutes * MIN_NS:
        raise _ended(st, sid, None, "Your session expired after being idle.")
    if now - row.created_ns > c.absolute_hours * 60 * MIN_NS:
        raise _ended(st, sid, None, "Your session reached its maximum length.")
    st.store.touch(sid, now)
    return sid, p


async def sign_out(request: Request) -> Response:
    """End the session (audited) and clear the cookie."""
    st = state_of(request)
    form = await request.form()
    found = await run_in_threadpool(current, st, request)
    if found is not None:
        sid, p = found
        row = st.store.session(sid)
        if row is None or not same_token(str(form.get("csrf", "")), row.csrf):
            await run_in_threadpool(_refuse, st, p, "csrf: missing or wrong form token", request)
            raise Refused(403, "The form's security token is missing or wrong; reload the page.")
        await run_in_threadpool(
            st.audit, p, "audit.signin", {"outcome": "signed_out", "method": "session"}
        )
        st.store.end_session(sid)
    resp = RedirectResponse("/login?m=signed_out", status_code=303)
    resp.delete_cookie(st.cookie_name, path="/", secure=st.secure, httponly=True)
    return resp


def _who_if_any(st: ConsoleState, request: Request) -> Principal | None:
    """The signed-in principal, or None (also for an ended or forged session)."""
    try:
        found = current(st, request)
    except Refused:
        return None
    return found[1] if found else None


def _refuse(st: ConsoleState, p: Principal | None, reason: str, request: Request) -> None:
    st.audit(p, "audit.refused", {"reason": reason, "path": request.url.path})


def _check(st: ConsoleState, request: Request, perm: str, form: Any) -> Principal:
    """The principal a guarded request runs as, or :class:`Refused` (each refusal audited)."""
    if request.method == "POST":
        problem = origin_problem(request, st.origins)
        if problem is not None:
            _refuse(st, _who_if_any(st, request), "csrf: " + problem, request)
            raise Refused(403, problem)
    found = current(st, request)
    if found is None:
        raise Refused(401, SIGN_IN, sign_in=True)
    sid, p = found
    if request.method == "POST":
        row = st.store.session(sid)
        if row is None or not same_token(form.get("csrf"), row.csrf):
            _refuse(st, p, "csrf: missing or wrong form token", request)
            raise Refused(403, "The form's security token is missing or wrong; reload the page.")
    if not allowed(p, perm):
        _refuse(st, p, f"role: {perm} needs one of {sorted(PERMISSIONS[perm])}", request)
        raise Refused(403, f"Your roles ({', '.join(sorted(p.roles))}) do not allow this ({perm}).")
    return p


def guarded(perm: str) -> Callable[[Guarded], Endpoint]:
    """Decorate an endpoint ``(request, principal)``: it runs only for a live session whose
    roles grant ``perm`` and, for a POST, with this console's origin and the session's CSRF
    token."""

    def wrap(fn: Guarded) -> Endpoint:
        @functools.wraps(fn)
        async def endpoint(request: Request) -> Response:
            st = state_of(request)
            form = await request.form() if request.method == "POST" else {}
            p = await run_in_threadpool(_check, st, request, perm, form)
            return await fn(request, p)

        return endpoint

    return wrap


def csrf_token(st: ConsoleState, request: Request) -> str:
    """The CSRF token of the request's session (for forms), or ``""``."""
    try:
        sid = _session_id(st, request)
    except Refused:
        return ""
    row = st.store.session(sid) if sid else None
    return row.csrf if row else ""
