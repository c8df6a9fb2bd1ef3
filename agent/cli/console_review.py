"""``sessiontape console review``: run the supervisory review sampling, list the queue.

Commands are thin over :class:`agent.console.review.ReviewQueue`. The CLI acts as the OS
account running it, with the admin role (whoever runs it holds the firm home already);
its audit records go to the home's sealed access-audit journal, one audit session per run.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import typer

from agent.cli.common import config, echo_json, home
from agent.clock import utc_iso
from agent.console.identity import ADMIN, Principal

review_app = typer.Typer(
    help="The supervisory review queue: sample a day's sessions by policy, list the queue.\n\n"
    "Example: sessiontape console review list --overdue",
    no_args_is_help=True,
)


def console_db(h: Path) -> sqlite3.Connection:
    """The firm home's console database with the review tables (the console's opener)."""
    from agent.console.review_schema import open_review_db

    return open_review_db(h / "console" / "console.db")


@review_app.command("sample")
def sample_cmd(
    day: str = typer.Option(..., "--day", help="The calendar day to sample (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json", help="Print the run as JSON."),
) -> None:
    """Queue the day's sessions that the [console.review] policy picks: a keyed sample of
    each trader's sessions (at least one per trader-day) and every session matching the
    lexicon. Re-running a day adds only what is new. Each run and each item added is audited.

    Example: sessiontape console review sample --day 2026-11-26
    """
    import datetime as dt

    from agent.audit import AuditSession
    from agent.console.review import ReviewQueue
    from agent.console.review_sampling import load_or_create_sampling_key
    from agent.errors import UsageError
    from agent.index.indexer import open_index

    try:
        the_day = dt.date.fromisoformat(day)
    except ValueError:
        raise UsageError(f"--day {day!r}: use YYYY-MM-DD") from None
    h, cfg = home(), config()
    policy = cfg.console.review
    key = load_or_create_sampling_key(policy.resolved_key_file(h))
    session = AuditSession(h, cfg)
    con = console_db(h)
    ix = open_index(h, cfg, readonly=True)
    try:

        def audit(kind: str, payload: dict[str, Any], principal: Principal) -> None:
            session.record(kind, {**payload, "principal": principal.subject})

        run = ReviewQueue(con, policy, audit).sample_day(the_day, ix, key, cli_principal())
    finally:
        ix.close()
        con.close()
        session.close()
    if as_json:
        echo_json(run.as_dict())
        return
    typer.echo(
        f"{run.day}: {run.considered} session(s) considered, {run.items_added} queued, "
        f"{run.reasons_added} reason(s) added (run {run.run_id})"
    )


@review_app.command("list")
def list_cmd(
    overdue: bool = typer.Option(False, "--overdue", help="Only items past their due date."),
    state: str | None = typer.Option(
        None, "--state", help="Only items in this state (open, claimed, escalated, closed)."
    ),
    day: str | None = typer.Option(None, "--day", help="Only items of this day (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json", help="Print the items as JSON."),
) -> None:
    """List the review queue, oldest due first: each item's state, due date, trader,
    session and why it was queued (the sample score or the lexicon entry and the hit).

    Example: sessiontape console review list --overdue --json
    """
    from agent.console.review import QueueFilter, ReviewQueue

    h = home()
    con = console_db(h)
    try:
        q = ReviewQueue(con, config().console.review, _no_audit)
        items = q.queue(QueueFilter(state=state, day=day))
        if overdue:
            now = q.clock.utc_ns()
            items = [i for i in items if i.overdue_at(now)]
    finally:
        con.close()
    if as_json:
        echo_json([i.as_dict() for i in items])
        return
    if not items:
        typer.echo("no review items")
    for i in items:
        why = "; ".join(r.detail for r in i.reasons)
        due = utc_iso(
            i.escalation_due_ns if i.state == "escalated" and i.escalation_due_ns else i.due_ns
        )
        typer.echo(f"{i.id:>5}  {i.state:<9}  due {due[:16]}Z  {i.trader}  {i.session_id}  {why}")


def _no_audit(kind: str, payload: dict[str, Any], principal: Principal) -> None:
    raise AssertionError(f"listing the review queue changes nothing, yet {kind} was audited")


def cli_principal() -> Principal:
    """The OS account running the CLI, as an admin principal (``os:<account>``)."""
    from agent.actor import os_actor

    actor = os_actor()
    return Principal(subject=f"os:{actor.name}", name=actor.name, roles=frozenset({ADMIN}))
