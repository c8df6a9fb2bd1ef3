"""Cross-site request forgery defences: every POST names this console as its origin and
carries the session's CSRF token.

Signed-in forms carry the session's random token (stored server-side with the session) in a
hidden ``csrf`` field. The sign-in form, before any session exists, carries a random value that
is also in a short-lived signed cookie (double submit). On top of both, a POST whose ``Origin``
(else ``Referer``) is not one of the console's own origins is refused, and the session cookie is
``SameSite=Strict``.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request

PRE_COOKIE = "st_console_pre"
PRE_MAX_AGE_S = 3600


def request_origin(request: Request) -> str | None:
    """The origin a browser says a request came from: ``Origin``, else ``Referer``'s."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return origin.rstrip("/")
    referer = request.headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    return None


def origin_problem(request: Request, origins: frozenset[str]) -> str | None:
    """Why a POST's origin is refused, or None when it is one of ``origins``."""
    got = request_origin(request)
    if got is None:
        return "the request names no origin (Origin or Referer): refused as a possible forgery"
    if got not in origins:
        return f"the request comes from {got}, not from this console: refused"
    return None


def same_token(given: str | None, want: str) -> bool:
    """Constant-time comparison of a submitted token with the expected one."""
    return bool(given) and hmac.compare_digest(str(given).encode(), want.encode())


def new_pre_token(signer: URLSafeTimedSerializer) -> tuple[str, str]:
    """(form value, signed cookie value) of a sign-in form's token."""
    value = secrets.token_urlsafe(24)
    return value, signer.dumps({"pre": value}, salt="pre")


def pre_token_ok(signer: URLSafeTimedSerializer, request: Request, given: str | None) -> bool:
    """The sign-in form's token matches its signed cookie (and the cookie is recent)."""
    raw = request.cookies.get(PRE_COOKIE)
    if not raw:
        return False
    try:
        data = signer.loads(raw, salt="pre", max_age=PRE_MAX_AGE_S)
    except BadSignature:
        return False
    return isinstance(data, dict) and same_token(given, str(data.get("pre", "")))
