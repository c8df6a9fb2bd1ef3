"""The review queue's tables in the console's SQLite state database, and the item type.

The console database is shared with the rest of the console, so the review tables carry
their own schema version (``review_meta``), not ``PRAGMA user_version``. Tables:

- ``review_runs``: one row per sampling run (day, who, policy, sampling key fingerprint,
  sessions considered, items and reasons added).
- ``review_items``: one row per queued session (unique): its state (``open`` → ``claimed``
  → ``closed``, or ``escalated`` → ``closed``), who claimed, decided and escalated, when,
  and the due dates.
- ``review_reasons``: why a session is queued, one row per reason (``sample`` with its
  score, or ``term``/``url``/``application`` with the value and the hit's session and seq);
  unique per (item, reason, value), which makes re-sampling idempotent.
- ``review_actions``: every claim, disposition and escalation, append-only.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.clock import utc_iso
from agent.db import transaction
from agent.errors import UnknownVersion

SCHEMA_VERSION = 1

_V1 = """
CREATE TABLE review_runs (
    id INTEGER PRIMARY KEY, day TEXT NOT NULL, at_ns INTEGER NOT NULL, by_subject TEXT NOT NULL,
    policy TEXT NOT NULL, key_fingerprint TEXT NOT NULL, considered INTEGER NOT NULL,
    items_added INTEGER NOT NULL, reasons_added INTEGER NOT NULL);
CREATE TABLE review_items (
    id INTEGER PRIMARY KEY, session_id TEXT NOT NULL UNIQUE, trader TEXT NOT NULL,
    day TEXT NOT NULL, run_id INTEGER NOT NULL REFERENCES review_runs(id),
    added_ns INTEGER NOT NULL, due_ns INTEGER NOT NULL, state TEXT NOT NULL,
    claimed_by TEXT, claimed_ns INTEGER, escalated_by TEXT, escalated_ns INTEGER,
    escalation_note TEXT, escalation_due_ns INTEGER, disposition TEXT, note TEXT,
    decided_by TEXT, decided_ns INTEGER);
CREATE INDEX review_items_state ON review_items(state, due_ns);
CREATE INDEX review_items_day ON review_items(day, trader);
CREATE TABLE review_reasons (
    item_id INTEGER NOT NULL REFERENCES review_items(id),
    run_id INTEGER NOT NULL REFERENCES review_runs(id),
    reason TEXT NOT NULL, value TEXT NOT NULL, detail TEXT NOT NULL,
    hit_session TEXT, hit_seq INTEGER, UNIQUE(item_id, reason, value));
CREATE TABLE review_actions (
    id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL REFERENCES review_items(id),
    at_ns INTEGER NOT NULL, by_subject TEXT NOT NULL, action TEXT NOT NULL,
    disposition TEXT, note TEXT);
"""

_MIGRATIONS = (_V1,)

OPEN, CLAIMED, ESCALATED, CLOSED = "open", "claimed", "escalated", "closed"
STATES = (OPEN, CLAIMED, ESCALATED, CLOSED)


def open_review_db(path: Path) -> sqlite3.Connection:
    """A connection of its own on the console database ``path`` (``<home>/console/
    console.db``, in a 0700 directory) for the review queue, review tables ensured:
    autocommit mode, usable from any thread (the caller serialises its use), and a busy
    timeout, so it waits for the console's other connection instead of failing."""
    from agent.keystore.perms import private_dir

    private_dir(path.parent)
    con = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    con.execute("PRAGMA busy_timeout = 30000")
    ensure_review_schema(con)
    return con


def ensure_review_schema(con: sqlite3.Connection) -> None:
    """Create or upgrade the review tables in ``con`` (autocommit mode); a database written
    by a newer build is an :class:`UnknownVersion`."""
    with transaction(con):
        con.execute("CREATE TABLE IF NOT EXISTS review_meta (key TEXT PRIMARY KEY, value TEXT)")
        row = con.execute("SELECT value FROM review_meta WHERE key = 'schema_version'").fetchone()
        current = int(row[0]) if row else 0
        if current > SCHEMA_VERSION:
            raise UnknownVersion(
                f"console database: review schema version {current} is newer than this build "
                f"reads ({SCHEMA_VERSION})"
            )
        for step in _MIGRATIONS[current:]:
            for stmt in step.split(";"):
                if stmt.strip():
                    con.execute(stmt)
        con.execute(
            "INSERT OR REPLACE INTO review_meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )


@dataclass(frozen=True)
class Reason:
    """Why a session is in the queue: ``sample`` (detail: the score and rule) or a lexicon
    match (``term``/``url``/``application``; value: the lexicon entry; the hit to open)."""

    reason: str
    value: str
    detail: str
    hit_session: str | None = None
    hit_seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ReviewItem:
    """One queued session and where its review stands."""

    id: int
    session_id: str
    trader: str
    day: str
    state: str
    added_ns: int
    due_ns: int
    claimed_by: str | None = None
    escalated_by: str | None = None
    escalation_note: str | None = None
    escalation_due_ns: int | None = None
    disposition: str | None = None
    note: str | None = None
    decided_by: str | None = None
    decided_ns: int | None = None
    reasons: tuple[Reason, ...] = field(default=())

    def overdue_at(self, now_ns: int) -> bool:
        """True when the review (or the escalation) is past its due date at ``now_ns``."""
        if self.state in (OPEN, CLAIMED):
            return now_ns > self.due_ns
        if self.state == ESCALATED:
            return self.escalation_due_ns is not None and now_ns > self.escalation_due_ns
        return False

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reasons"] = [r.as_dict() for r in self.reasons]
        d["due_utc"] = utc_iso(self.due_ns)
        if self.escalation_due_ns is not None:
            d["escalation_due_utc"] = utc_iso(self.escalation_due_ns)
        return d


_ITEM_COLS = (
    "id, session_id, trader, day, state, added_ns, due_ns, claimed_by, escalated_by, "
    "escalation_note, escalation_due_ns, disposition, note, decided_by, decided_ns"
)
_ITEM_FIELDS = tuple(c.strip() for c in _ITEM_COLS.split(","))


def select_items(con: sqlite3.Connection, where: str, args: list[Any]) -> list[ReviewItem]:
    """Items matching ``where`` (SQL over review_items), oldest due first, with reasons."""
    rows = con.execute(
        f"SELECT {_ITEM_COLS} FROM review_items WHERE {where} ORDER BY due_ns, id", args
    ).fetchall()
    out = []
    for r in rows:
        reasons = tuple(
            Reason(*x)
            for x in con.execute(
                "SELECT reason, value, detail, hit_session, hit_seq FROM review_reasons "
                "WHERE item_id = ? ORDER BY rowid",
                (r[0],),
            )
        )
        out.append(ReviewItem(**dict(zip(_ITEM_FIELDS, r, strict=True)), reasons=reasons))
    return out
