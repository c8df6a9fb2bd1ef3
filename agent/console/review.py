"""The supervisory review queue: sessions sampled by policy, reviewed, escalated, closed.

FINRA Rule 3110(b)(4) asks that supervisory reviews be evidenced; this queue makes the review
systematic (a written policy, :mod:`agent.console.review_sampling`, applied the same way every
day) and reproducible (each item records why it was queued). Every change is first written
as an audit record through the ``audit(kind, payload, principal)`` callable the console
gives: the sampling run (``audit.review.sample``), each item added with its reasons
(``audit.review.item``), each claim, disposition and escalation (``audit.review.claim``,
``audit.review.disposition``, ``audit.review.escalate``). The change and its audit records
are one transaction: if an audit write raises, nothing is changed and the error propagates.

Roles: a reviewer or supervisor claims, dispositions and escalates; only a supervisor
closes an escalated item, takes over an item another reviewer claimed, or runs a sampling
(so does an admin: the scheduled run); an examiner and an admin only read. Nobody reviews a
session of their own: a principal whose account (``local:<account>``, the OIDC ``sub``, or
their name or its part before ``@``) equals the session's trader is refused. A note is
required for every disposition except those in ``note_optional`` (by default "no issue"),
for every escalation, and for closing an escalation.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.canonical import sha256_hex
from agent.clock import Clock, SystemClock, utc_iso
from agent.console.identity import ADMIN, REVIEWER, SUPERVISOR, Principal
from agent.console.review_config import ReviewConfig
from agent.console.review_sampling import DayPlan, day_bounds, key_fingerprint, plan_day
from agent.console.review_schema import (
    CLAIMED,
    CLOSED,
    ESCALATED,
    OPEN,
    STATES,
    ReviewItem,
    select_items,
)
from agent.db import transaction
from agent.errors import Forbidden, UsageError
from agent.index.base import SearchIndex

AuditFn = Callable[[str, dict[str, Any], Principal], object]
"""Writes one audit record durably, or raises (then the operation changes nothing)."""

_DAY_NS = 86_400 * 1_000_000_000


@dataclass(frozen=True)
class QueueFilter:
    """What :meth:`ReviewQueue.queue` lists; every field narrows (None = any)."""

    state: str | None = None
    trader: str | None = None
    day: str | None = None
    claimed_by: str | None = None


@dataclass(frozen=True)
class SampleRun:
    """One sampling run's outcome."""

    run_id: int
    day: str
    considered: int
    items_added: int
    reasons_added: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ReviewQueue:
    """The review queue over the console database ``con`` (autocommit mode, schema ensured
    with :func:`~agent.console.review_schema.ensure_review_schema`)."""

    def __init__(
        self,
        con: sqlite3.Connection,
        config: ReviewConfig,
        audit: AuditFn,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.con = con
        self.config = config
        self.audit = audit
        self.clock = clock or SystemClock()

    # --- reading --------------------------------------------------------------------------
    def queue(self, f: QueueFilter | None = None) -> list[ReviewItem]:
        """Items matching ``f``, oldest due first."""
        f = f or QueueFilter()
        if f.state is not None and f.state not in STATES:
            raise UsageError(f"unknown review state {f.state!r} (one of {', '.join(STATES)})")
        conds, args = ["1"], []
        for col in ("state", "trader", "day", "claimed_by"):
            value = getattr(f, col)
            if value is not None:
                conds.append(f"{col} = ?")
                args.append(value)
        return select_items(self.con, " AND ".join(conds), args)

    def item(self, item_id: int) -> ReviewItem:
        found = select_items(self.con, "id = ?", [item_id])
        if not found:
            raise UsageError(f"no review item {item_id}")
        return found[0]

    def overdue(self, now_ns: int | None = None) -> list[ReviewItem]:
        """Open or claimed items past their due date, escalations past theirs."""
        now = self.clock.utc_ns() if now_ns is None else now_ns
        return select_items(
            self.con,
            "(state IN (?, ?) AND due_ns < ?) OR (state = ? AND escalation_due_ns < ?)",
            [OPEN, CLAIMED, now, ESCALATED, now],
        )

    def history(self, item_id: int) -> list[dict[str, Any]]:
        """Every claim, disposition and escalation of an item, oldest first."""
        rows = self.con.execute(
            "SELECT at_ns, by_subject, action, disposition, note FROM review_actions "
            "WHERE item_id = ? ORDER BY id",
            (item_id,),
        )
        return [
            {"at_utc": utc_iso(r[0]), "by": r[1], "action": r[2], "disposition": r[3], "note": r[4]}
            for r in rows
        ]

    # --- sampling -------------------------------------------------------------------------
    def sample_day(
        self, day: dt.date | str, index: SearchIndex, key: bytes, principal: Principal
    ) -> SampleRun:
        """Queue ``day``'s sessions the policy picks (sample and lexicon); idempotent: a
        session already queued gains only reasons it lacked, and a run that finds nothing new
        still leaves its run record. The plan is made inside the write transaction, so two
        concurrent runs cannot both apply the one-per-trader-day floor."""
        self._require(principal, SUPERVISOR, ADMIN, what="run a review sampling")
        the_day = dt.date.fromisoformat(day) if isinstance(day, str) else day
        now = self.clock.utc_ns()
        due = day_bounds(the_day, self.config)[1] + self.config.due_days * _DAY_NS
        policy = self.config.model_dump(exclude={"sampling_key_file"})
        with transaction(self.con):
            sampled = self._sampled_traders(the_day.isoformat())
            plan = plan_day(index, the_day, self.config, key, sampled_traders=sampled)
            considered = sum(len(v) for v in plan.considered.values())
            run_id = self._insert_run(plan.day, now, principal, policy, key)
            added = [
                a
                for sid in sorted(plan.reasons)
                if (a := self._add_reasons(sid, plan.traders[sid], plan, run_id, now, due))
            ]
            run = SampleRun(
                run_id,
                plan.day,
                considered,
                sum(1 for a in added if a["new_item"]),
                sum(len(a["reasons"]) for a in added),
            )
            self.con.execute(
                "UPDATE review_runs SET considered = ?, items_added = ?, reasons_added = ? "
                "WHERE id = ?",
                (run.considered, run.items_added, run.reasons_added, run_id),
            )
            run_payload = {
                **run.as_dict(),
                "policy": policy,
                "policy_sha256": sha256_hex(json.dumps(policy, sort_keys=True).encode()),
                "key_fingerprint": key_fingerprint(key),
                "considered": plan.considered,
            }
            self.audit("audit.review.sample", run_payload, principal)
            for a in added:
                self.audit("audit.review.item", a, principal)
        return run

    def _sampled_traders(self, day: str) -> set[str]:
        """Traders with a sampled item on ``day`` already (their floor is met)."""
        return {
            r[0]
            for r in self.con.execute(
                "SELECT DISTINCT i.trader FROM review_items i JOIN review_reasons r "
                "ON r.item_id = i.id WHERE i.day = ? AND r.reason = 'sample'",
                (day,),
            )
        }

    def _insert_run(
        self, day: str, now: int, principal: Principal, policy: dict[str, Any], key: bytes
    ) -> int:
        cur = self.con.execute(
            "INSERT INTO review_runs (day, at_ns, by_subject, policy, key_fingerprint, "
            "considered, items_added, reasons_added) VALUES (?, ?, ?, ?, ?, 0, 0, 0)",
            (day, now, principal.subject, json.dumps(policy, sort_keys=True), key_fingerprint(key)),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def _add_reasons(
        self, sid: str, trader: str, plan: DayPlan, run_id: int, now: int, due: int
    ) -> dict[str, Any] | None:
        """Insert the item (if new) and its reasons not yet recorded; the audit payload of
        what was added, or None when nothing was."""
        row = self.con.execute(
            "SELECT id FROM review_items WHERE session_id = ?", (sid,)
        ).fetchone()
        new_item = row is None
        if row is None:
            cur = self.con.execute(
                "INSERT INTO review_items (session_id, trader, day, run_id, added_ns, due_ns, "
                "state) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sid, trader, plan.day, run_id, now, due, OPEN),
            )
            item_id = cur.lastrowid
        else:
            item_id = row[0]
        reasons = []
        for r in plan.reasons[sid]:
            cur = self.con.execute(
                "INSERT OR IGNORE INTO review_reasons (item_id, run_id, reason, value, detail, "
                "hit_session, hit_seq) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item_id, run_id, r.reason, r.value, r.detail, r.hit_session, r.hit_seq),
            )
            if cur.rowcount:
                reasons.append(r.as_dict())
        if not reasons:
            return None
        return {
            "item_id": item_id,
            "run_id": run_id,
            "session_id": sid,
            "trader": trader,
            "day": plan.day,
            "new_item": new_item,
            "due_utc": utc_iso(due),
            "reasons": reasons,
        }

    # --- reviewing ------------------------------------------------------------------------
    def claim(self, item_id: int, principal: Principal) -> ReviewItem:
        """Take an open item (a supervisor may take one another reviewer claimed)."""
        self._require(principal, REVIEWER, SUPERVISOR, what="claim a review item")
        with transaction(self.con):
            item = self.item(item_id)
            self._reviewable(item, principal)
            if item.state not in (OPEN, CLAIMED):
                raise UsageError(
                    f"review item {item_id} is {item.state}; only open items are claimed"
                )
            now = self.clock.utc_ns()
            self.audit("audit.review.claim", _payload(item, principal, now), principal)
            self.con.execute(
                "UPDATE review_items SET state = ?, claimed_by = ?, claimed_ns = ? WHERE id = ?",
                (CLAIMED, principal.subject, now, item_id),
            )
            self._action(item_id, now, principal, "claim", None, None)
        return self.item(item_id)

    def disposition(
        self, item_id: int, principal: Principal, disposition: str, note: str = ""
    ) -> ReviewItem:
        """Close an item with one of the configured dispositions (an escalated item: by a
        supervisor only, with a note)."""
        self._require(principal, REVIEWER, SUPERVISOR, what="record a disposition")
        if disposition not in self.config.dispositions:
            known = ", ".join(self.config.dispositions)
            raise UsageError(f"unknown disposition {disposition!r} (one of: {known})")
        note = note.strip()
        with transaction(self.con):
            item = self.item(item_id)
            self._reviewable(item, principal)
            if item.state == ESCALATED and not principal.has(SUPERVISOR):
                raise Forbidden(f"review item {item_id} is escalated: only a supervisor closes it")
            if not note and (
                item.state == ESCALATED or disposition not in self.config.note_optional
            ):
                raise UsageError(f"a note is required to record {disposition!r} on item {item_id}")
            now = self.clock.utc_ns()
            payload = {**_payload(item, principal, now), "disposition": disposition, "note": note}
            self.audit("audit.review.disposition", payload, principal)
            self.con.execute(
                "UPDATE review_items SET state = ?, disposition = ?, note = ?, decided_by = ?, "
                "decided_ns = ? WHERE id = ?",
                (CLOSED, disposition, note, principal.subject, now, item_id),
            )
            self._action(item_id, now, principal, "disposition", disposition, note)
        return self.item(item_id)

    def escalate(self, item_id: int, principal: Principal, note: str) -> ReviewItem:
        """Send an open or claimed item to the supervisors' queue, with a note."""
        self._require(principal, REVIEWER, SUPERVISOR, what="escalate a review item")
        note = note.strip()
        if not note:
            raise UsageError(f"a note is required to escalate item {item_id}")
        with transaction(self.con):
            item = self.item(item_id)
            self._reviewable(item, principal)
            if item.state not in (OPEN, CLAIMED):
                raise UsageError(f"review item {item_id} is {item.state}; it cannot be escalated")
            now = self.clock.utc_ns()
            due = now + self.config.escalation_due_days * _DAY_NS
            payload = {**_payload(item, principal, now), "note": note, "due_utc": utc_iso(due)}
            self.audit("audit.review.escalate", payload, principal)
            self.con.execute(
                "UPDATE review_items SET state = ?, escalated_by = ?, escalated_ns = ?, "
                "escalation_note = ?, escalation_due_ns = ? WHERE id = ?",
                (ESCALATED, principal.subject, now, note, due, item_id),
            )
            self._action(item_id, now, principal, "escalate", None, note)
        return self.item(item_id)

    # --- rules ----------------------------------------------------------------------------
    def _require(self, principal: Principal, *roles: str, what: str) -> None:
        if principal.expires_ns is not None and principal.expires_ns <= self.clock.utc_ns():
            raise Forbidden(f"{principal.subject}: access expired; cannot {what}")
        if not principal.has(*roles):
            raise Forbidden(f"{principal.subject} may not {what} (needs {' or '.join(roles)})")

    def _reviewable(self, item: ReviewItem, principal: Principal) -> None:
        if item.state == CLOSED:
            raise UsageError(f"review item {item.id} is already closed ({item.disposition})")
        if is_own_session(principal, item.trader):
            raise Forbidden(
                f"{principal.subject} may not review their own session {item.session_id}"
            )
        if (
            item.state == CLAIMED
            and item.claimed_by != principal.subject
            and not principal.has(SUPERVISOR)
        ):
            raise Forbidden(f"review item {item.id} is claimed by {item.claimed_by}")

    def _action(
        self,
        item_id: int,
        now: int,
        principal: Principal,
        action: str,
        disposition: str | None,
        note: str | None,
    ) -> None:
        self.con.execute(
            "INSERT INTO review_actions (item_id, at_ns, by_subject, action, disposition, note) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (item_id, now, principal.subject, action, disposition, note),
        )


def is_own_session(principal: Principal, trader: str) -> bool:
    """True when the principal's account looks like the session's trader (case-insensitive):
    the ``local:`` account, the OIDC ``sub``, the name, or the name before ``@``."""
    subject = principal.subject
    account = subject.split("#", 1)[1] if "#" in subject else subject.split(":", 1)[-1]
    mine = {account, principal.name, principal.name.split("@", 1)[0]}
    return trader.casefold() in {m.casefold() for m in mine if m}


def _payload(item: ReviewItem, principal: Principal, now: int) -> dict[str, Any]:
    return {
        "item_id": item.id,
        "session_id": item.session_id,
        "trader": item.trader,
        "day": item.day,
        "state_before": item.state,
        "by": principal.subject,
        "at_utc": utc_iso(now),
    }
