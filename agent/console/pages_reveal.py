"""Revealing escrowed values (role ``reveal``), with an optional second approver.

A reveal needs a reason. With ``console.reveal_requires_approval`` the request waits until a
different supervisor approves it; then the requester (only they) opens it once. Each step is
an ``audit.reveal_request`` record (requested, approved, refused), and the reveal itself the
``audit.reveal`` record :func:`agent.mask.reveal.reveal` writes before returning the value
(no record, no value). The value is shown on the answer page only, never stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent.console.auth import Refused, guarded, state_of
from agent.console.identity import Principal
from agent.console.records import session_payloads
from agent.console.state import ConsoleState
from agent.console.templating import render


def _reveal(st: ConsoleState, who: Principal, session_id: str, token: str, reason: str) -> str:
    """The clear value (audited first) with the configured escrow key."""
    from agent.mask.escrow import load_private_key
    from agent.mask.reveal import reveal

    key = st.config.console.escrow_key
    if not key:
        raise Refused(503, "Reveals are not available: no escrow key is configured.")
    private_key = load_private_key(Path(key))
    sid, payloads = session_payloads(st, session_id)

    def audit(rec: dict[str, Any]) -> None:
        st.audit(who, "audit.reveal", rec)

    return reveal(
        payloads,
        session_id=sid,
        token=token,
        private_key=private_key,
        reason=reason,
        audit=audit,
        actor=who.subject,
    )


def _fields(form: Any) -> tuple[str, str, str]:
    sid, token = str(form.get("session", "")).strip(), str(form.get("token", "")).strip()
    reason = str(form.get("reason", "")).strip()[:500]
    if not sid or not token:
        raise Refused(400, "The session and the esc_ token are required.")
    if not reason:
        raise Refused(400, "A reason is required to reveal a value.")
    return sid, token, reason


def _request(st: ConsoleState, who: Principal, sid: str, token: str, reason: str) -> int:
    rid = st.store.add_reveal(who.subject, sid, token, reason, st.now())
    try:
        payload = {"action": "requested", "request": rid, "session": sid, "token": token}
        st.audit(who, "audit.reveal_request", {**payload, "reason": reason})
    except BaseException:
        st.store.decide_reveal(rid, "void", "", st.now())
        raise
    return rid


@guarded("reveal")
async def reveal_post(request: Request, who: Principal) -> Response:
    st = state_of(request)
    sid, token, reason = _fields(await request.form())
    if st.config.console.reveal_requires_approval:
        rid = await run_in_threadpool(_request, st, who, sid, token, reason)
        msg = f"Reveal request {rid} is waiting for a second supervisor's approval."
        return await _list(request, who, msg)
    value = await run_in_threadpool(_reveal, st, who, sid, token, reason)
    return render(request, "revealed.html", who, sid=sid, token=token, value=value)


async def _list(request: Request, who: Principal, message: str = "") -> Response:
    st = state_of(request)
    rows = await run_in_threadpool(st.store.reveal_requests)
    return render(request, "reveals.html", who, requests=rows, message=message, sid="")


@guarded("reveal")
async def reveals_page(request: Request, who: Principal) -> Response:
    return await _list(request, who)


def _decide(st: ConsoleState, who: Principal, rid: int, approve: bool) -> str:
    req = st.store.reveal_request(rid)
    if req["requester"] == who.subject:
        st.audit(who, "audit.refused", {"reason": "reveal: own request", "request": rid})
        raise Refused(403, "You cannot approve or refuse your own reveal request.")
    if req["status"] != "pending":
        raise Refused(409, f"Reveal request {rid} is {req['status']}, not pending.")
    action = "approved" if approve else "refused"
    st.audit(
        who,
        "audit.reveal_request",
        {"action": action, "request": rid, "session": req["session_id"], "token": req["token"]},
    )
    st.store.decide_reveal(rid, action, who.subject, st.now())
    return f"Reveal request {rid} {action}."


def _rid(request: Request) -> int:
    raw = str(request.path_params["rid"])
    if not raw.isdigit():
        raise Refused(404, "no such reveal request")
    return int(raw)


@guarded("reveal")
async def approve_post(request: Request, who: Principal) -> Response:
    st = state_of(request)
    msg = await run_in_threadpool(_decide, st, who, _rid(request), True)
    return await _list(request, who, msg)


@guarded("reveal")
async def refuse_post(request: Request, who: Principal) -> Response:
    st = state_of(request)
    msg = await run_in_threadpool(_decide, st, who, _rid(request), False)
    return await _list(request, who, msg)


def _show(st: ConsoleState, who: Principal, rid: int) -> dict[str, Any]:
    req = st.store.reveal_request(rid)
    if req["requester"] != who.subject:
        raise Refused(403, "Only the supervisor who asked may open this reveal.")
    if req["status"] != "approved":
        raise Refused(409, f"Reveal request {rid} is {req['status']}: it needs an approval first.")
    value = _reveal(st, who, req["session_id"], req["token"], req["reason"])
    st.store.decide_reveal(rid, "revealed", str(req["approver"]), st.now())
    return {"sid": req["session_id"], "token": req["token"], "value": value}


@guarded("reveal")
async def show_post(request: Request, who: Principal) -> Response:
    st = state_of(request)
    shown = await run_in_threadpool(_show, st, who, _rid(request))
    return render(request, "revealed.html", who, **shown)


routes = [
    Route("/reveal", reveal_post, methods=["POST"]),
    Route("/reveals", reveals_page),
    Route("/reveals/{rid}/approve", approve_post, methods=["POST"]),
    Route("/reveals/{rid}/refuse", refuse_post, methods=["POST"]),
    Route("/reveals/{rid}/show", show_post, methods=["POST"]),
]
