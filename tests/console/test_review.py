"""The review queue: idempotent sampling, dispositions, escalation, overdue items, role
refusals, and audit first (an audit write that fails changes nothing)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.console.identity import REVIEWER, Principal
from agent.console.review import QueueFilter, ReviewQueue, is_own_session
from agent.console.review_config import ReviewConfig
from agent.console.review_schema import ensure_review_schema
from agent.errors import Forbidden, StorageError, UnknownVersion, UsageError
from agent.index.sqlite import SqliteIndex
from agent.testing import FakeClock
from tests.console.reviewkit import (
    ALICE,
    CAROL,
    DAY,
    DAY_START_NS,
    EVE,
    KEY,
    SUE,
    SYSTEM,
    AuditLog,
    console_db,
    metadata_index,
)

DAY_NS = 86_400 * 10**9
SESSIONS = [
    ("s-bob-1", "bob", DAY_START_NS + 3600 * 10**9),
    ("s-bob-2", "bob", DAY_START_NS + 7200 * 10**9),
    ("s-ann-1", "ann", DAY_START_NS + 3600 * 10**9),
    ("s-alice-1", "alice", DAY_START_NS + 3600 * 10**9),
]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SqliteIndex]:
    ix = metadata_index(tmp_path / "index.db", SESSIONS)
    yield ix
    ix.close()


@pytest.fixture
def con(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = console_db(tmp_path / "console.db")
    yield c
    c.close()


def _queue(con: sqlite3.Connection, audit: Any, clock: FakeClock, **cfg: Any) -> ReviewQueue:
    return ReviewQueue(con, ReviewConfig(sample_percent=100, **cfg), audit, clock=clock)


def _sampled(con: sqlite3.Connection, index: SqliteIndex, clock: FakeClock) -> ReviewQueue:
    q = _queue(con, AuditLog(), clock)
    q.sample_day(DAY, index, KEY, SYSTEM)
    return q


def _item(q: ReviewQueue, session_id: str) -> int:
    return next(i.id for i in q.queue() if i.session_id == session_id)


def _counts(con: sqlite3.Connection) -> tuple[int, ...]:
    return tuple(
        con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("review_runs", "review_items", "review_reasons", "review_actions")
    )


def test_resampling_a_day_adds_nothing_twice(
    con: sqlite3.Connection, index: SqliteIndex, clock: FakeClock
) -> None:
    """The second run over the same day adds no item and no reason; both runs are recorded,
    and only the first audits items (each with its reasons)."""
    audit = AuditLog()
    q = _queue(con, audit, clock)
    first = q.sample_day(DAY, index, KEY, SYSTEM)
    assert (first.considered, first.items_added, first.reasons_added) == (4, 4, 4)
    second = q.sample_day(DAY, index, KEY, SYSTEM)
    assert (second.items_added, second.reasons_added) == (0, 0)
    assert len(q.queue()) == 4 and _counts(con)[:3] == (2, 4, 4)
    runs = con.execute("SELECT considered, items_added, by_subject FROM review_runs").fetchall()
    assert runs == [(4, 4, SYSTEM.subject), (4, 0, SYSTEM.subject)]
    assert audit.kinds() == ["audit.review.sample"] + ["audit.review.item"] * 4 + [
        "audit.review.sample"
    ]
    item_rec = audit.records[1][1]
    assert item_rec["reasons"][0]["reason"] == "sample" and item_rec["new_item"] is True
    assert audit.records[0][1]["considered"] == {
        "alice": ["s-alice-1"],
        "ann": ["s-ann-1"],
        "bob": ["s-bob-1", "s-bob-2"],
    }


def test_disposition_closes_an_item_and_notes_are_required_except_for_no_issue(
    con: sqlite3.Connection, index: SqliteIndex, clock: FakeClock
) -> None:
    """'no issue' needs no note; any other disposition does; an unknown one is refused."""
    q = _sampled(con, index, clock)
    a, b = _item(q, "s-bob-1"), _item(q, "s-bob-2")
    q.claim(a, ALICE)
    done = q.disposition(a, ALICE, "no issue")
    assert (done.state, done.disposition, done.decided_by) == ("closed", "no issue", "local:alice")
    with pytest.raises(UsageError, match="a note is required"):
        q.disposition(b, ALICE, "issue - coached")
    with pytest.raises(UsageError, match="unknown disposition 'fine'"):
        q.disposition(b, ALICE, "fine", "note")
    coached = q.disposition(b, ALICE, "issue - coached", "spoke to bob about the chat")
    assert coached.note == "spoke to bob about the chat"
    with pytest.raises(UsageError, match="already closed"):
        q.disposition(b, ALICE, "no issue")
    assert [h["action"] for h in q.history(a)] == ["claim", "disposition"]


def test_escalation_goes_to_supervisors_and_only_a_supervisor_closes_it(
    con: sqlite3.Connection, index: SqliteIndex, clock: FakeClock
) -> None:
    """An escalated item leaves the reviewer's open queue, lands in the escalated queue with
    its own due date; a reviewer cannot close it, a supervisor must give a note."""
    q = _sampled(con, index, clock)
    a = _item(q, "s-ann-1")
    with pytest.raises(UsageError, match="note is required to escalate"):
        q.escalate(a, ALICE, " ")
    esc = q.escalate(a, ALICE, "possible front-running")
    assert esc.escalation_due_ns == clock.utc_ns() + 3 * DAY_NS
    assert [i.id for i in q.queue(QueueFilter(state="escalated"))] == [a]
    assert a not in [i.id for i in q.queue(QueueFilter(state="open"))]
    with pytest.raises(Forbidden, match="only a supervisor closes it"):
        q.disposition(a, ALICE, "no issue")
    with pytest.raises(UsageError, match="a note is required"):
        q.disposition(a, SUE, "no issue")
    closed = q.disposition(a, SUE, "issue - reported to compliance", "sent to compliance")
    assert (closed.state, closed.decided_by) == ("closed", SUE.subject)
    assert [h["action"] for h in q.history(a)] == ["escalate", "disposition"]


def test_overdue_lists_late_reviews_and_late_escalations(
    con: sqlite3.Connection, index: SqliteIndex, clock: FakeClock
) -> None:
    """Items are due due_days after the end of their day; escalations escalation_due_days
    after they were escalated; closed items are never overdue."""
    q = _queue(con, AuditLog(), clock, due_days=2, escalation_due_days=1)
    q.sample_day(DAY, index, KEY, SYSTEM)
    due = DAY_START_NS + 3 * DAY_NS
    assert q.overdue(due) == []
    assert len(q.overdue(due + 1)) == 4
    clock.advance(3 * DAY_NS)  # now = the items' due date; escalated now, due a day later
    q.disposition(_item(q, "s-bob-1"), ALICE, "no issue")
    esc = q.escalate(_item(q, "s-bob-2"), ALICE, "look at this")
    assert esc.escalation_due_ns == due + DAY_NS
    late = {i.session_id for i in q.overdue(due + 1)}
    assert late == {"s-ann-1", "s-alice-1"}
    later = {i.session_id: i.state for i in q.overdue(esc.escalation_due_ns + DAY_NS)}
    assert later == {"s-ann-1": "open", "s-alice-1": "open", "s-bob-2": "escalated"}


def test_roles_are_enforced_and_a_refusal_changes_nothing(
    con: sqlite3.Connection, index: SqliteIndex, clock: FakeClock
) -> None:
    """An examiner only reads; a reviewer cannot run a sampling; a reviewer cannot review
    their own session nor one another reviewer claimed; a supervisor may take it over."""
    q = _queue(con, AuditLog(), clock)
    with pytest.raises(Forbidden, match="may not run a review sampling"):
        q.sample_day(DAY, index, KEY, ALICE)
    q.sample_day(DAY, index, KEY, SYSTEM)
    bob = _item(q, "s-bob-1")
    before = _counts(con)
    with pytest.raises(Forbidden, match="local:eve may not record a disposition"):
        q.disposition(bob, EVE, "no issue")
    with pytest.raises(Forbidden, match="may not claim"):
        q.claim(bob, EVE)
    with pytest.raises(Forbidden, match="their own session s-alice-1"):
        q.claim(_item(q, "s-alice-1"), ALICE)
    assert _counts(con) == before
    q.claim(bob, ALICE)
    with pytest.raises(Forbidden, match="claimed by local:alice"):
        q.disposition(bob, CAROL, "no issue")
    assert q.claim(bob, SUE).claimed_by == SUE.subject
    assert len(q.queue()) == 4  # reading needs no role beyond being signed in


def test_an_expired_examiner_or_reviewer_is_refused(
    con: sqlite3.Connection, index: SqliteIndex, clock: FakeClock
) -> None:
    """A principal whose access expired acts no more."""
    q = _sampled(con, index, clock)
    gone = Principal("local:temp", "temp", frozenset({REVIEWER}), expires_ns=clock.utc_ns())
    with pytest.raises(Forbidden, match="access expired"):
        q.claim(_item(q, "s-bob-1"), gone)


class _FailingAudit(AuditLog):
    """An audit callable whose write fails from the ``fail_at``-th record on: a legitimate
    double, since what is tested is how the queue reacts to a refused audit write."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at

    def __call__(self, kind: str, payload: dict[str, Any], principal: Principal) -> None:
        if len(self.records) + 1 >= self.fail_at:
            raise StorageError("audit journal: no space left on device")
        super().__call__(kind, payload, principal)


def test_a_sampling_whose_audit_fails_queues_nothing(
    con: sqlite3.Connection, index: SqliteIndex, clock: FakeClock
) -> None:
    """The third item's audit record fails: no run, no item, no reason is left behind."""
    q = _queue(con, _FailingAudit(fail_at=4), clock)
    with pytest.raises(StorageError, match="no space left"):
        q.sample_day(DAY, index, KEY, SYSTEM)
    assert _counts(con) == (0, 0, 0, 0)


def test_a_disposition_or_escalation_whose_audit_fails_changes_nothing(
    con: sqlite3.Connection, index: SqliteIndex, clock: FakeClock
) -> None:
    """Record first: when the audit write raises, the item keeps its state, no action row."""
    _sampled(con, index, clock)
    q = _queue(con, _FailingAudit(fail_at=1), clock)
    a = _item(q, "s-bob-1")
    before = _counts(con)
    acts: list[Callable[[], object]] = [
        lambda: q.claim(a, ALICE),
        lambda: q.disposition(a, ALICE, "no issue"),
        lambda: q.escalate(a, ALICE, "why"),
    ]
    for act in acts:
        with pytest.raises(StorageError):
            act()
        assert q.item(a).state == "open" and _counts(con) == before


def test_own_session_matches_account_sub_or_name() -> None:
    """local account, OIDC sub, name and the name before @ all count as the trader."""
    assert is_own_session(Principal("local:Bob", "Robert", frozenset()), "bob")
    assert is_own_session(Principal("oidc:https://i#bob", "x", frozenset()), "bob")
    assert is_own_session(Principal("oidc:https://i#u1", "bob@firm.test", frozenset()), "bob")
    assert not is_own_session(Principal("local:alice", "alice", frozenset()), "bob")


def test_a_newer_review_schema_is_refused(tmp_path: Path) -> None:
    """A console database written by a newer build is not read."""
    con = console_db(tmp_path / "c.db")
    con.execute("UPDATE review_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(UnknownVersion, match="review schema version 99"):
        ensure_review_schema(con)
    ensure_review_schema(console_db(tmp_path / "d.db"))  # an up-to-date one is left as is
