"""Server-rendered pages: the Jinja2 environment (autoescaped), the navigation, and one
:func:`render` that every page goes through (it adds the user, the CSRF token and the nav)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from agent.clock import utc_iso
from agent.console.auth import allowed, csrf_token, state_of
from agent.console.identity import Principal

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class NavItem:
    """One link of the top bar, shown to those whose roles grant ``perm``."""

    label: str
    href: str
    perm: str


NAV: list[NavItem] = [
    NavItem("Search", "/search", "search"),
    NavItem("Holds", "/holds", "hold"),
    NavItem("Reveals", "/reveals", "reveal"),
    NavItem("Audit", "/audit", "audit"),
    NavItem("Users", "/users", "users"),
]
"""The top bar. Further pages (the review queue) add their item with :func:`add_nav`."""


def add_nav(item: NavItem, *, before: str = "Holds") -> None:
    """Put ``item`` in the top bar, before the item labelled ``before`` (else at the end)."""
    labels = [n.label for n in NAV]
    NAV.insert(labels.index(before) if before in labels else len(NAV), item)


def _iso(ns: int | None) -> str:
    return utc_iso(int(ns))[:19] + "Z" if ns else ""


templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.filters["iso"] = _iso


def render(
    request: Request,
    name: str,
    who: Principal | None,
    code: int = 200,
    **ctx: Any,
) -> Response:
    """Render template ``name`` for ``who`` (None on the sign-in and error pages)."""
    st = state_of(request)
    nav = [n for n in NAV if who is not None and allowed(who, n.perm)]
    context = {
        "who": who,
        "nav": nav,
        "csrf": csrf_token(st, request) if who is not None else "",
        "path": request.url.path,
        **ctx,
    }
    return templates.TemplateResponse(request, name, context, status_code=code)
