"""The search index's schema and its migrations (version in ``PRAGMA user_version``).

Version 2 (current) is a blind index (:mod:`agent.index.cipher`)::

    sessions    one row per session: who/where/when, retention, hold, shipped, verified,
                hosts; URLs and titles sealed (``facts``)
    segments    one row per sealed segment by seal hash: indexed | failed (+ why)
    events      one row per useful event: session, seq, time, kind, action, page, host,
                method, status; path, URL, field label, selector, target and text sealed
    tokens      (blinded token, event, field) - masked values, exact lookup, WITHOUT ROWID
    hosts       distinct hosts (expands host:example.com to its subdomains)
    events_fts  contentless FTS5 over the keyed digests of the text's and URL's words
    keycheck    an identifier of the index key, so another key is refused, not misread

Version 1 held every column in clear; migrating drops it (the index is a cache).

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


_SESSIONS_V2 = """
    CREATE TABLE sessions (
        sid INTEGER PRIMARY KEY, session_id TEXT NOT NULL UNIQUE,
        user TEXT NOT NULL DEFAULT '' COLLATE NOCASE, workstation TEXT NOT NULL DEFAULT '',
        agent_id TEXT NOT NULL DEFAULT '', record_class TEXT NOT NULL DEFAULT 'default',
        start_ns INTEGER NOT NULL DEFAULT 0, end_ns INTEGER NOT NULL DEFAULT 0,
        duration_ms INTEGER NOT NULL DEFAULT 0, retain_until TEXT NOT NULL DEFAULT '',
        held INTEGER NOT NULL DEFAULT 0, shipped INTEGER NOT NULL DEFAULT 0,
        verified TEXT NOT NULL DEFAULT 'pending', source TEXT NOT NULL DEFAULT 'dir',
        facts BLOB, hosts TEXT NOT NULL DEFAULT '[]')
"""
_EVENTS_V2 = """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY, sid INTEGER NOT NULL, seq INTEGER NOT NULL,
        t_ns INTEGER NOT NULL, kind TEXT NOT NULL, action TEXT NOT NULL,
        page TEXT NOT NULL DEFAULT '', host TEXT NOT NULL DEFAULT '',
        method TEXT NOT NULL DEFAULT '', status INTEGER, sealed BLOB NOT NULL)
"""
# Contentless: the table keeps only the digests' index, never a copy of any text.
_FTS_V2 = "CREATE VIRTUAL TABLE events_fts USING fts5(text, url, content='', tokenize='ascii')"
_KEYCHECK = "CREATE TABLE keycheck (check_id TEXT NOT NULL)"


def _schema_v2(db: sqlite_utils.Database) -> None:
    """The blind index: the clear-text tables of version 1 are dropped (the index is a cache;
    ``index update`` fills the new ones from the journals)."""
    for table in ("events_fts", "tokens", "hosts", "events", "segments", "sessions"):
        db.execute(f"DROP TABLE IF EXISTS {table}")
    db.execute(_SESSIONS_V2)
    db.table("sessions").create_index(["user", "start_ns"], index_name="sessions_user")
    db.table("sessions").create_index(["start_ns"], index_name="sessions_start")
    db.execute(_SEGMENTS)
    db.table("segments").create_index(["sid", "idx"], index_name="segments_sid")
    db.execute(_EVENTS_V2)
    db.table("events").create_index(["sid", "seq"], index_name="events_sid")
    db.table("events").create_index(["host", "t_ns"], index_name="events_host")
    db.table("events").create_index(["action", "t_ns"], index_name="events_action")
    db.execute(_TOKENS)
    db.execute(_HOSTS)
    db.execute(_FTS_V2)
    db.execute(_KEYCHECK)


MIGRATIONS: list[Migration] = [_schema_v1, _schema_v2]
SCHEMA_VERSION = len(MIGRATIONS)
