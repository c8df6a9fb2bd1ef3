"""The sign-in page (local accounts), sign-out, and the start page.

A failed sign-in says only "wrong account name or password" (it does not tell which), a
locked, disabled or expired account says so; each attempt is an ``audit.signin`` record with
its outcome and the account name typed. The form is CSRF-protected like every other
(:mod:`agent.console.csrf`). An SSO button appears when an OIDC issuer is configured
(``console.oidc``); its routes (``/login/oidc`` and ``console.oidc.redirect_path``, in
:mod:`agent.console.pages_oidc`) end in :func:`agent.console.auth.sign_in` like the password form.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from agent.console.auth import allowed, current, sign_in, sign_out, state_of
from agent.console.csrf import PRE_COOKIE, new_pre_token, origin_problem, pre_token_ok
from agent.console.state import ConsoleState
from agent.console.templating import render

MESSAGES = {
    "signed_out": "You are signed out.",
    "wrong_password": "Wrong account name or password.",
    "unknown": "Wrong account name or password.",
    "locked": "This account is locked after too many failed sign-ins; "
    "try again later or ask an administrator to unlock it.",
    "disabled": "This account is disabled.",
    "expired": "This account has expired.",
}
MIN_NS = 60 * 1_000_000_000


def sso_label(st: ConsoleState) -> str:
    """The SSO button's issuer name when ``console.oidc`` is configured, else ``""``."""
    oidc: Any = getattr(st.config.console, "oidc", None)
    issuer = str(getattr(oidc, "issuer", "") or "") if oidc is not None else ""
    return str(getattr(oidc, "label", "") or "SSO") if issuer else ""


def login_form(request: Request, status: int = 200, error: str = "", message: str = "") -> Response:
    st = state_of(request)
    value, cookie = new_pre_token(st.signer)
    resp = render(
        request,
        "login.html",
        None,
        status,
        pre=value,
        sso=sso_label(st),
        error=error,
        message=message,
    )
    resp.set_cookie(
        PRE_COOKIE, cookie, max_age=3600, path="/", secure=st.secure, httponly=True,
        samesite="strict",
    )  # fmt: skip
    return resp


async def login_page(request: Request) -> Response:
    return login_form(request, message=MESSAGES.get(request.query_params.get("m", ""), ""))


async def login_post(request: Request) -> Response:
    st = state_of(request)
    form = await request.form()
    name = str(form.get("name", "")).strip()
    password = str(form.get("password", ""))
    problem = origin_problem(request, st.origins)
    if problem is None and not pre_token_ok(st.signer, request, str(form.get("csrf", ""))):
        problem = "the sign-in form's security token is missing or wrong; reload the page"
    if problem is not None:
        await run_in_threadpool(
            st.audit, None, "audit.refused", {"reason": "csrf: " + problem, "path": "/login"}
        )
        return login_form(request, 403, error="Refused: " + problem + ".")
    c = st.config.console

    def attempt() -> tuple[str, Any]:
        outcome, acct = st.store.check_password(
            name, password, st.now(), c.lockout_attempts, c.lockout_minutes * MIN_NS
        )
        if outcome != "ok":
            st.audit(
                None,
                "audit.signin",
                {"outcome": outcome, "method": "password", "account": name[:200]},
            )
        return outcome, acct

    outcome, acct = await run_in_threadpool(attempt)
    if outcome != "ok":
        return login_form(request, 401 if outcome != "locked" else 423, error=MESSAGES[outcome])
    return await sign_in(request, acct.principal(), "password")


async def start_page(request: Request) -> Response:
    """Signed in: the first page the roles allow; else the sign-in form."""
    st = state_of(request)
    found = await run_in_threadpool(current, st, request)
    if found is None:
        return RedirectResponse("/login", status_code=303)
    p = found[1]
    for perm, href in (("search", "/search"), ("users", "/users"), ("audit", "/audit")):
        if allowed(p, perm):
            return RedirectResponse(href, status_code=303)
    return render(request, "error.html", p, 403, status=403, refusal="Your account has no role.")


async def logout(request: Request) -> Response:
    st = state_of(request)
    problem = origin_problem(request, st.origins)
    if problem is not None:
        await run_in_threadpool(
            st.audit, None, "audit.refused", {"reason": "csrf: " + problem, "path": "/logout"}
        )
        return RedirectResponse("/", status_code=303)
    return await sign_out(request)


routes = [
    Route("/", start_page),
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_post, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
