"""One session's page (export, hold, reveal forms), evidence export, and legal holds.

Export (role ``export``) builds a bundle of the session read from the vault and sends it as a
download; its ``audit.export`` custody record names the principal. Holds (role ``hold``) go
through :mod:`agent.ship.holds` on the firm home's shipper, whose ``audit.hold`` record is
written first and names the principal, with the reason typed as its note.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from agent.console.auth import Refused, allowed, guarded, state_of
from agent.console.identity import Principal
from agent.console.records import export_zip, restore, shipper
from agent.console.state import acting
from agent.console.templating import render


def _field(form: Any, name: str, what: str) -> str:
    value = str(form.get(name, "")).strip()
    if not value:
        raise Refused(400, f"{what} is required.")
    return value[:500]


def _holds(request: Request, session_id: str | None = None) -> list[dict[str, Any]]:
    from agent.ship.holds import list_holds

    rows: list[dict[str, Any]] = list_holds(shipper(state_of(request)))
    return [r for r in rows if session_id is None or r["session_id"] == session_id]


@guarded("view")
async def session_page(request: Request, who: Principal) -> Response:
    sid = request.path_params["session"]
    holds = await run_in_threadpool(_holds, request, sid) if allowed(who, "hold") else []
    return render(
        request,
        "session.html",
        who,
        sid=sid,
        holds=holds,
        can={p: allowed(who, p) for p in ("export", "hold", "reveal")},
        message=request.query_params.get("m", ""),
    )


@guarded("export")
async def export_post(request: Request, who: Principal) -> Response:
    st = state_of(request)
    form = await request.form()
    sid = _field(form, "session", "The session")
    matter = str(form.get("matter", "")).strip()[:200]
    reason = _field(form, "reason", "A reason for the export")

    def build() -> Path:
        with acting(who):
            return export_zip(st, sid, matter, reason)

    path = await run_in_threadpool(build)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=path.name,
        background=BackgroundTask(shutil.rmtree, path.parent, ignore_errors=True),
    )


@guarded("hold")
async def holds_page(request: Request, who: Principal) -> Response:
    holds = await run_in_threadpool(_holds, request)
    return render(request, "holds.html", who, holds=holds, message=request.query_params.get("m"))


def _hold(request: Request, who: Principal, form: Any, add: bool) -> str:
    from agent.ship.holds import add_hold, release_hold

    st = state_of(request)
    matter = _field(form, "matter", "The matter")
    reason = _field(form, "reason", "A reason")
    sid = restore(st, _field(form, "session", "The session"))
    with acting(who, note=reason):
        if add:
            p = add_hold(shipper(st), matter, sid, who.subject)
            return f"Hold {matter} placed on {sid} ({p['objects']} object(s) held)."
        p = release_hold(shipper(st), matter, sid, who.subject)
        still = ", ".join(p["still_held_by"])
        return f"Hold {matter} on {sid} released" + (f"; still held by {still}." if still else ".")


@guarded("hold")
async def hold_add(request: Request, who: Principal) -> Response:
    form = await request.form()
    msg = await run_in_threadpool(_hold, request, who, form, True)
    holds = await run_in_threadpool(_holds, request)
    return render(request, "holds.html", who, holds=holds, message=msg)


@guarded("hold")
async def hold_release(request: Request, who: Principal) -> Response:
    form = await request.form()
    msg = await run_in_threadpool(_hold, request, who, form, False)
    holds = await run_in_threadpool(_holds, request)
    return render(request, "holds.html", who, holds=holds, message=msg)


routes = [
    Route("/session/{session}", session_page),
    Route("/export", export_post, methods=["POST"]),
    Route("/holds", holds_page),
    Route("/holds/add", hold_add, methods=["POST"]),
    Route("/holds/release", hold_release, methods=["POST"]),
]
