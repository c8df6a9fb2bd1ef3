"""The supervisory review queue's pages.

``/review`` lists the queue (filters: state, trader, day, "mine" = claimed by me), overdue
items marked; ``/review/<id>`` shows one item: why it was queued (the sample score, or the
lexicon entry with a link that opens the replay at the hit), its history and, for those who
work the queue, the claim, disposition and escalation forms; ``/review/sample`` (POST) queues
a day. Every change goes through :class:`~agent.console.review.ReviewQueue`, whose audit
callable is the console's audit writer for the signed-in principal: the record is written
first, and when it cannot be, nothing changes and the page answers 503. A refusal by the
queue's own rules (someone's own session, an escalation closed by a non-supervisor, an item
another reviewer claimed) is 403 and an ``audit.refused`` record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from agent.console.auth import Refused, allowed, guarded, state_of
from agent.console.identity import SUPERVISOR, Principal
from agent.console.review import QueueFilter, ReviewQueue
from agent.console.review_desk import ReviewDesk
from agent.console.review_schema import CLAIMED, CLOSED, ESCALATED, OPEN, STATES
from agent.console.templating import NavItem, add_nav, render
from agent.errors import Forbidden, UsageError

T = TypeVar("T")
DONE = {
    "claim": "You claimed this item.",
    "disposition": "Disposition recorded; the item is closed.",
    "escalate": "Escalated to the supervisors.",
}


def desk_of(request: Request) -> ReviewDesk:
    desk: ReviewDesk = request.app.state.review
    return desk


async def _work(request: Request, who: Principal, fn: Callable[[ReviewQueue], T]) -> T:
    """``fn(queue)`` in a worker thread; the queue's own refusals are 403 and audited."""
    st, desk = state_of(request), desk_of(request)

    def go() -> T:
        try:
            return desk.run(fn)
        except Forbidden as exc:
            st.audit(who, "audit.refused", {"reason": exc.message, "path": request.url.path})
            raise Refused(403, exc.message) from None

    return await run_in_threadpool(go)


def _filter(request: Request, who: Principal) -> tuple[QueueFilter, dict[str, str]]:
    q = {k: str(request.query_params.get(k, "")).strip() for k in ("state", "trader", "day")}
    mine = request.query_params.get("mine") == "1"
    if q["state"] and q["state"] not in STATES:
        raise UsageError(f"state {q['state']!r}: one of {', '.join(STATES)}")
    f = QueueFilter(
        state=q["state"] or None,
        trader=q["trader"] or None,
        day=q["day"] or None,
        claimed_by=who.subject if mine else None,
    )
    return f, {**q, "mine": "1" if mine else ""}


async def _queue(request: Request, who: Principal, message: str = "") -> Response:
    f, q = _filter(request, who)
    items = await _work(request, who, lambda queue: queue.queue(f))
    now = state_of(request).now()
    return render(
        request, "review.html", who, items=items, q=q, states=STATES, now=now, message=message,
        can_sample=allowed(who, "review_sample"),
    )  # fmt: skip


@guarded("review")
async def queue_page(request: Request, who: Principal) -> Response:
    return await _queue(request, who)


def _item_id(request: Request) -> int:
    return int(request.path_params["item"])


@guarded("review")
async def item_page(request: Request, who: Principal) -> Response:
    iid = _item_id(request)
    item, history = await _work(request, who, lambda q: (q.item(iid), q.history(iid)))
    work = allowed(who, "review_work") and item.state != CLOSED
    supervisor = who.has(SUPERVISOR)
    return render(
        request,
        "review_item.html",
        who,
        item=item,
        history=history,
        now=state_of(request).now(),
        can_view=allowed(who, "view"),
        can_claim=work and (item.state == OPEN or (item.state == CLAIMED and supervisor)),
        can_decide=work and (item.state != ESCALATED or supervisor),
        can_escalate=work and item.state in (OPEN, CLAIMED),
        dispositions=desk_of(request).queue.config.dispositions,
        message=DONE.get(str(request.query_params.get("done", "")), ""),
    )


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items()}


def _back(iid: int, done: str) -> Response:
    return RedirectResponse(f"/review/{iid}?done={done}", status_code=303)


@guarded("review_work")
async def claim_post(request: Request, who: Principal) -> Response:
    iid = _item_id(request)
    await _work(request, who, lambda q: q.claim(iid, who))
    return _back(iid, "claim")


@guarded("review_work")
async def disposition_post(request: Request, who: Principal) -> Response:
    iid, form = _item_id(request), await _form(request)
    choice, note = form.get("disposition", ""), form.get("note", "")
    await _work(request, who, lambda q: q.disposition(iid, who, choice, note))
    return _back(iid, "disposition")


@guarded("review_work")
async def escalate_post(request: Request, who: Principal) -> Response:
    iid, form = _item_id(request), await _form(request)
    await _work(request, who, lambda q: q.escalate(iid, who, form.get("note", "")))
    return _back(iid, "escalate")


@guarded("review_sample")
async def sample_post(request: Request, who: Principal) -> Response:
    day_text = (await _form(request)).get("day", "").strip()
    try:
        day = dt.date.fromisoformat(day_text)
    except ValueError:
        raise UsageError(f"day {day_text!r}: give YYYY-MM-DD") from None
    run = await run_in_threadpool(desk_of(request).sample, day, who)
    msg = (
        f"{run.day}: {run.considered} session(s) considered, {run.items_added} queued, "
        f"{run.reasons_added} reason(s) added."
    )
    return await _queue(request, who, msg)


routes = [
    Route("/review", queue_page),
    Route("/review/sample", sample_post, methods=["POST"]),
    Route("/review/{item:int}", item_page),
    Route("/review/{item:int}/claim", claim_post, methods=["POST"]),
    Route("/review/{item:int}/disposition", disposition_post, methods=["POST"]),
    Route("/review/{item:int}/escalate", escalate_post, methods=["POST"]),
]

add_nav(NavItem("Review", "/review", "review"))
