"""``sessiontape audit``: list the access-audit records (who did what, when)."""

from __future__ import annotations

import json
from typing import Any

import typer

from agent.cli.common import echo_json, home
from agent.clock import utc_iso

_SHOWN = ("audit_session", "t_utc_ns", "kind", "actor", "actor_uid", "note")


def audit_line(r: dict[str, Any]) -> str:
    """One record: time, kind, the OS identity and, apart from it, the free-text note."""
    uid = r.get("actor_uid")
    who = f"actor {r.get('actor')} (uid {uid if uid is not None else 'not recorded'})"
    note = f"  note {json.dumps(r['note'])}" if r.get("note") else ""
    rest = {k: v for k, v in r.items() if k not in _SHOWN}
    detail = json.dumps(rest, sort_keys=True, separators=(",", ":"), default=str)
    if len(detail) > 160:
        detail = detail[:157] + "..."
    return f"{utc_iso(int(r['t_utc_ns']))}  {r['kind']:<17}  {who}{note}  {detail}"


def audit_cmd(
    kind: str | None = typer.Option(
        None, "--kind", help="Only this kind (audit.search, audit.hold, audit.verify, ...)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the records as JSON."),
) -> None:
    """List access-audit records from the sealed audit journals, oldest first: the OS account
    that acted (name and uid), any note given with --actor / SESSIONTAPE_ACTOR, and what was
    done (searches, views, reveals, exports, holds, dispositions, re-verifications).

    Example: sessiontape audit --kind audit.hold
    """
    from agent.audit import audit_records

    recs = audit_records(home(), kind)
    if as_json:
        echo_json(recs)
        return
    for r in recs:
        typer.echo(audit_line(r))
    if not recs:
        typer.echo("no audit records")


def register(app: typer.Typer) -> None:
    """Add ``audit``."""
    app.command("audit")(audit_cmd)
