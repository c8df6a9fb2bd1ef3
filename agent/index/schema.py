"""The search index's schema and its migrations (version in ``PRAGMA user_version``).

::

    sessions    one row per session: who/where/when, retention, hold, shipped, verified
    segments    one row per sealed segment by seal hash: indexed | failed (+ why)
    events      one row per useful event: session, seq, time, kind, action, host, url,
                method, status, field label, selector, target text, search text
    tokens      (token, event, field) - masked values, exact lookup, WITHOUT ROWID
    hosts       distinct hosts (expands host:example.com to its subdomains)
    events_fts  FTS5 over events.text and events.url (external content: no second copy)

sqlite-utils builds what it can express exactly: the ``events`` table, every index, and the
FTS5 table (``enable_fts``: external content on ``events``, whose ``id`` is the rowid, and
the same tokenizer). Four tables keep explicit DDL because ``Table.create`` has no way to say
what they need: ``sessions.user COLLATE NOCASE`` (``user:alice`` matches ``Alice``) and
``UNIQUE session_id``, the ``CHECK`` on ``segments.status``, and ``WITHOUT ROWID`` for
``tokens`` and ``hosts`` (their primary key is the whole row).
"""

from __future__ import annotations

import sqlite_utils

from agent.migrations import Migration

FTS_TOKENIZER = "unicode61 remove_diacritics 2 tokenchars '_'"

_SESSIONS = """
    CREATE TABLE sessions (
        sid INTEGER PRIMARY KEY, session_id TEXT NOT NULL UNIQUE,
        user TEXT NOT NULL DEFAULT '' COLLATE NOCASE, workstation TEXT NOT NULL DEFAULT '',
        agent_id TEXT NOT NULL DEFAULT '', record_class TEXT NOT NULL DEFAULT 'default',
        start_ns INTEGER NOT NULL DEFAULT 0, end_ns INTEGER NOT NULL DEFAULT 0,
        duration_ms INTEGER NOT NULL DEFAULT 0, retain_until TEXT NOT NULL DEFAULT '',
        held INTEGER NOT NULL DEFAULT 0, shipped INTEGER NOT NULL DEFAULT 0,
        verified TEXT NOT NULL DEFAULT 'pending', source TEXT NOT NULL DEFAULT 'dir',
        urls TEXT NOT NULL DEFAULT '[]', titles TEXT NOT NULL DEFAULT '[]',
        hosts TEXT NOT NULL DEFAULT '[]')
"""
_SEGMENTS = """
    CREATE TABLE segments (
        seal_hash TEXT PRIMARY KEY, segment_id TEXT NOT NULL, sid INTEGER NOT NULL,
        idx INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('indexed', 'failed')),
        detail TEXT NOT NULL DEFAULT '', events INTEGER NOT NULL DEFAULT 0,
        rows INTEGER NOT NULL DEFAULT 0, id_lo INTEGER, id_hi INTEGER,
        t_first_ns INTEGER NOT NULL DEFAULT 0, t_last_ns INTEGER NOT NULL DEFAULT 0,
        source TEXT NOT NULL DEFAULT 'dir')
"""
_TOKENS = """
    CREATE TABLE tokens (
        token TEXT NOT NULL, event_id INTEGER NOT NULL, field TEXT NOT NULL,
        PRIMARY KEY (token, event_id, field)) WITHOUT ROWID
"""
_HOSTS = "CREATE TABLE hosts (host TEXT PRIMARY KEY) WITHOUT ROWID"

# Search text and context of an event: NOT NULL, empty when the event has none.
_EVENT_TEXT = ("page", "host", "path", "url", "method", "label", "selector", "target", "text")


def _events(db: sqlite_utils.Database) -> None:
    db.table("events").create(
        {
            "id": int,
            "sid": int,
            "seq": int,
            "t_ns": int,
            "kind": str,
            "action": str,
            "page": str,
            "host": str,
            "path": str,
            "url": str,
            "method": str,
            "status": int,  # HTTP status: NULL for everything but responses
            "label": str,
            "selector": str,
            "target": str,
            "text": str,
        },
        pk="id",
        not_null=("sid", "seq", "t_ns", "kind", "action", *_EVENT_TEXT),
        defaults=dict.fromkeys(_EVENT_TEXT, ""),
    )


def _schema_v1(db: sqlite_utils.Database) -> None:
    db.execute(_SESSIONS)
    db.table("sessions").create_index(["user", "start_ns"], index_name="sessions_user")
    db.table("sessions").create_index(["start_ns"], index_name="sessions_start")
    db.execute(_SEGMENTS)
    db.table("segments").create_index(["sid", "idx"], index_name="segments_sid")
    _events(db)
    db.table("events").create_index(["sid", "seq"], index_name="events_sid")
    db.table("events").create_index(["host", "t_ns"], index_name="events_host")
    db.table("events").create_index(["action", "t_ns"], index_name="events_action")
    db.execute(_TOKENS)
    db.execute(_HOSTS)
    db.table("events").enable_fts(["text", "url"], tokenize=FTS_TOKENIZER)


MIGRATIONS: list[Migration] = [_schema_v1]
SCHEMA_VERSION = len(MIGRATIONS)
