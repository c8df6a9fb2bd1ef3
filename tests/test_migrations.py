"""The migrations registry, and the schemas it builds for the index and the ship state.

Version 1 of both schemas was first written as SQL text; it is now partly built through
sqlite-utils. The golden DDL below is that original text: a new store must come out with the
same tables, columns, types, NOT NULLs, defaults, keys and indexes as one created from it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
import sqlite_utils

from agent.db import transaction
from agent.index.schema import MIGRATIONS as INDEX_MIGRATIONS
from agent.migrations import Migration, apply_migrations
from agent.ship.state import MIGRATIONS as STATE_MIGRATIONS

INDEX_V1_DDL = """
    CREATE TABLE sessions (
        sid INTEGER PRIMARY KEY, session_id TEXT NOT NULL UNIQUE,
        user TEXT NOT NULL DEFAULT '' COLLATE NOCASE, workstation TEXT NOT NULL DEFAULT '',
        agent_id TEXT NOT NULL DEFAULT '', record_class TEXT NOT NULL DEFAULT 'default',
        start_ns INTEGER NOT NULL DEFAULT 0, end_ns INTEGER NOT NULL DEFAULT 0,
        duration_ms INTEGER NOT NULL DEFAULT 0, retain_until TEXT NOT NULL DEFAULT '',
        held INTEGER NOT NULL DEFAULT 0, shipped INTEGER NOT NULL DEFAULT 0,
        verified TEXT NOT NULL DEFAULT 'pending', source TEXT NOT NULL DEFAULT 'dir',
        urls TEXT NOT NULL DEFAULT '[]', titles TEXT NOT NULL DEFAULT '[]',
        hosts TEXT NOT NULL DEFAULT '[]');
    CREATE INDEX sessions_user ON sessions (user, start_ns);
    CREATE INDEX sessions_start ON sessions (start_ns);
    CREATE TABLE segments (
        seal_hash TEXT PRIMARY KEY, segment_id TEXT NOT NULL, sid INTEGER NOT NULL,
        idx INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('indexed', 'failed')),
        detail TEXT NOT NULL DEFAULT '', events INTEGER NOT NULL DEFAULT 0,
        rows INTEGER NOT NULL DEFAULT 0, id_lo INTEGER, id_hi INTEGER,
        t_first_ns INTEGER NOT NULL DEFAULT 0, t_last_ns INTEGER NOT NULL DEFAULT 0,
        source TEXT NOT NULL DEFAULT 'dir');
    CREATE INDEX segments_sid ON segments (sid, idx);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY, sid INTEGER NOT NULL, seq INTEGER NOT NULL,
        t_ns INTEGER NOT NULL, kind TEXT NOT NULL, action TEXT NOT NULL,
        page TEXT NOT NULL DEFAULT '', host TEXT NOT NULL DEFAULT '',
        path TEXT NOT NULL DEFAULT '', url TEXT NOT NULL DEFAULT '',
        method TEXT NOT NULL DEFAULT '', status INTEGER, label TEXT NOT NULL DEFAULT '',
        selector TEXT NOT NULL DEFAULT '', target TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '');
    CREATE INDEX events_sid ON events (sid, seq);
    CREATE INDEX events_host ON events (host, t_ns);
    CREATE INDEX events_action ON events (action, t_ns);
    CREATE TABLE tokens (
        token TEXT NOT NULL, event_id INTEGER NOT NULL, field TEXT NOT NULL,
        PRIMARY KEY (token, event_id, field)) WITHOUT ROWID;
    CREATE TABLE hosts (host TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE VIRTUAL TABLE events_fts USING fts5(
        text, url, content='events', content_rowid='id',
        tokenize="unicode61 remove_diacritics 2 tokenchars '_'");
"""

STATE_V1_DDL = """
    CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
    CREATE TABLE objects (
        key TEXT PRIMARY KEY, session_id TEXT NOT NULL, segment_id TEXT NOT NULL,
        path TEXT NOT NULL, size INTEGER NOT NULL, sealed_utc_ns INTEGER NOT NULL,
        record_class TEXT NOT NULL, retain_until TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'shipped', 'quarantined')),
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ns INTEGER NOT NULL DEFAULT 0,
        last_error TEXT, receipts TEXT, discovered_ns INTEGER NOT NULL,
        shipped_ns INTEGER, local_deleted_ns INTEGER, verified_ns INTEGER, verified_ok INTEGER,
        disposition_ns INTEGER);
    CREATE INDEX objects_status ON objects (status, next_attempt_ns);
    CREATE INDEX objects_session ON objects (session_id);
    CREATE TABLE checkpoints (
        session_id TEXT NOT NULL, segment_id TEXT NOT NULL, n INTEGER NOT NULL,
        key TEXT NOT NULL, shipped_ns INTEGER NOT NULL, PRIMARY KEY (segment_id, n));
    CREATE TABLE holds (
        id INTEGER PRIMARY KEY, matter TEXT NOT NULL, session_id TEXT NOT NULL,
        actor TEXT NOT NULL, placed_ns INTEGER NOT NULL, released_ns INTEGER,
        released_by TEXT);
    CREATE TABLE dispositions (
        key TEXT PRIMARY KEY, eligible_ns INTEGER NOT NULL, recorded_ns INTEGER NOT NULL,
        disposed_ns INTEGER, actor TEXT);
"""


def _connect() -> sqlite3.Connection:
    return sqlite3.connect(":memory:", isolation_level=None)


def _migrated(migrations: list[Migration]) -> sqlite3.Connection:
    con = _connect()
    with transaction(con):
        apply_migrations(con, migrations, 0)
    return con


def _schema(con: sqlite3.Connection) -> dict[str, Any]:
    """Every table's columns (type, NOT NULL, default, key) and every index's columns."""
    out: dict[str, Any] = {}
    master = con.execute("SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    for name, kind in master.fetchall():
        indexes = con.execute(f"PRAGMA index_list([{name}])").fetchall()
        out[name] = (
            kind,
            con.execute(f"PRAGMA table_xinfo([{name}])").fetchall(),
            sorted(
                (unique, origin, con.execute(f"PRAGMA index_xinfo([{ix}])").fetchall())
                for _, ix, unique, origin, _ in indexes
            ),
        )
    return out


@pytest.mark.parametrize(
    ("migrations", "ddl"),
    [(INDEX_MIGRATIONS[:1], INDEX_V1_DDL), (STATE_MIGRATIONS[:1], STATE_V1_DDL)],
    ids=["index", "ship-state"],
)
def test_version_1_schema_is_the_same_as_its_original_ddl(
    migrations: list[Migration], ddl: str
) -> None:
    """A store created now has exactly the tables, columns and indexes of version 1's DDL."""
    golden = _connect()
    golden.executescript(ddl)
    built = _migrated(migrations)
    assert _schema(built) == _schema(golden)
    assert built.execute("PRAGMA user_version").fetchone()[0] == 1


def test_index_v1_fts_uses_the_same_tokenizer_and_content_table() -> None:
    """Version 1's events_fts indexed events.text/url with unicode61, diacritics removed, '_'
    in tokens."""
    con = _migrated(INDEX_MIGRATIONS[:1])
    sql = con.execute("SELECT sql FROM sqlite_master WHERE name = 'events_fts'").fetchone()[0]
    assert "tokenize='unicode61 remove_diacritics 2 tokenchars ''_'''" in sql
    assert 'content="events"' in sql


def test_index_v2_keeps_no_clear_text_column() -> None:
    """Version 2 (the blind index) drops every clear-text column of version 1: events keep
    only a sealed blob beside their metadata, sessions their sealed facts, and events_fts is
    contentless over digest words (the ascii tokenizer splits the hex digests)."""
    con = _migrated(INDEX_MIGRATIONS)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 2
    events = {row[1] for row in con.execute("PRAGMA table_xinfo(events)")}
    assert events.isdisjoint({"path", "url", "label", "selector", "target", "text"})
    assert "sealed" in events
    sessions = {row[1] for row in con.execute("PRAGMA table_xinfo(sessions)")}
    assert sessions.isdisjoint({"urls", "titles"})
    sql = con.execute("SELECT sql FROM sqlite_master WHERE name = 'events_fts'").fetchone()[0]
    assert "content=''" in sql
    assert "tokenize='ascii'" in sql


def test_failed_migration_step_leaves_version_and_schema_unchanged() -> None:
    """A step that raises rolls back with the caller's transaction: version stays 0."""

    def broken(db: sqlite_utils.Database) -> None:
        db.table("half").create({"id": int}, pk="id")
        raise RuntimeError("step failed")

    con = _connect()
    with pytest.raises(RuntimeError, match="step failed"), transaction(con):
        apply_migrations(con, ["CREATE TABLE first (x INTEGER)", broken], 0)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 0
    assert con.execute("SELECT name FROM sqlite_master").fetchall() == []
