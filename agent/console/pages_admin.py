"""The access audit page (role ``audit``) and account management (role ``users``, admin).

The audit page reads the firm home's sealed audit journals (:func:`agent.audit.audit_records`)
and filters them by actor, kind and time. Every account change is an ``audit.user`` record
written before the change (validated first, so a refused change leaves no record claiming it
happened).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent.clock import dt_to_ns, parse_iso_seconds
from agent.console.accounts import check_roles, expiry_ns
from agent.console.auth import Refused, guarded, state_of
from agent.console.identity import ROLES, Principal
from agent.console.state import ConsoleState
from agent.console.templating import render
from agent.errors import UsageError

AUDIT_ROWS = 500
PAST = {"disable": "disabled", "enable": "enabled", "unlock": "unlocked"}
_SHOWN = {"audit_session", "t_utc_ns", "kind", "actor", "actor_roles", "os_actor", "actor_uid"}


def _time(value: str, what: str) -> int | None:
    v = value.strip()
    if not v:
        return None
    try:
        return dt_to_ns(parse_iso_seconds(v if "T" in v else v + "T00:00:00Z"))
    except ValueError:
        raise UsageError(f"{what} {v!r}: not a time like 2026-11-26T10:00:00Z") from None


def filter_audit(
    records: list[dict[str, Any]], actor: str, kind: str, t_from: int | None, t_to: int | None
) -> list[dict[str, Any]]:
    """Records matching the filters (actor and kind as substrings), newest first."""
    out = [
        r
        for r in records
        if actor.lower() in str(r.get("actor", "")).lower()
        and kind.lower() in str(r.get("kind", "")).lower()
        and (t_from is None or int(r["t_utc_ns"]) >= t_from)
        and (t_to is None or int(r["t_utc_ns"]) <= t_to)
    ]
    out.reverse()
    for r in out:
        detail = {k: v for k, v in r.items() if k not in _SHOWN}
        r["detail"] = json.dumps(detail, sort_keys=True, default=str)[:400]
    return out[:AUDIT_ROWS]


@guarded("audit")
async def audit_page(request: Request, who: Principal) -> Response:
    from agent.audit import audit_records

    st = state_of(request)
    q = {k: str(request.query_params.get(k, "")) for k in ("actor", "kind", "from", "to")}
    t_from, t_to = _time(q["from"], "from"), _time(q["to"], "to")
    records = await run_in_threadpool(audit_records, st.home)
    rows = filter_audit(records, q["actor"], q["kind"], t_from, t_to)
    return render(request, "audit.html", who, q=q, rows=rows)


def _users_page(request: Request, who: Principal, message: str = "", status: int = 200) -> Response:
    users = state_of(request).store.users()
    return render(
        request, "users.html", who, status, users=users, roles=ROLES, message=message,
        now=state_of(request).now(),
    )  # fmt: skip


@guarded("users")
async def users_page(request: Request, who: Principal) -> Response:
    return _users_page(request, who)


def _add(st: ConsoleState, who: Principal, form: Any) -> str:
    name = str(form.get("name", "")).strip()
    password = str(form.get("password", ""))
    day = str(form.get("expires", "")).strip()
    expires = expiry_ns(day) if day else None
    roles = check_roles([str(r) for r in form.getlist("role")], expires)
    if any(u.name == name for u in st.store.users()):
        raise UsageError(f"account {name!r} exists already")
    st.audit(
        who, "audit.user", {"action": "add", "account": name, "roles": list(roles), "expires": day}
    )
    st.store.add_user(name, password, roles, expires, st.now())
    return f"Account {name} added."


def _change(st: ConsoleState, who: Principal, name: str, action: str) -> str:
    st.store.user(name)
    st.audit(who, "audit.user", {"action": action, "account": name})
    if action == "disable":
        st.store.set_disabled(name, True)
    elif action == "enable":
        st.store.set_disabled(name, False)
    else:
        st.store.unlock(name)
    return f"Account {name}: {PAST[action]}."


@guarded("users")
async def user_add(request: Request, who: Principal) -> Response:
    form = await request.form()
    msg = await run_in_threadpool(_add, state_of(request), who, form)
    return _users_page(request, who, msg)


@guarded("users")
async def user_change(request: Request, who: Principal) -> Response:
    action = request.path_params["action"]
    if action not in ("disable", "enable", "unlock"):
        raise Refused(404, "not found")
    name = request.path_params["name"]
    msg = await run_in_threadpool(_change, state_of(request), who, name, action)
    return _users_page(request, who, msg)


routes = [
    Route("/audit", audit_page),
    Route("/users", users_page),
    Route("/users/add", user_add, methods=["POST"]),
    Route("/users/{name}/{action}", user_change, methods=["POST"]),
]
