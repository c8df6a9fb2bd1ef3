"""The PostgreSQL index's schema, its version, and the monthly partitions of ``events``.

Version 2 (current; version 1 lacked the ``(sid, action, t_ns)`` index: a writer adds it and
moves the schema to 2, a read-only opener reads version 1 as it is), in the schema the
connection's ``search_path`` names first::

    index_schema  one row: the schema version (another version is refused, never guessed)
    keycheck      an identifier of the index key, so another key is refused, not misread
    sessions      one row per session: who/where/when, retention, hold, shipped, verified,
                  hosts; URLs and titles sealed (``facts``)
    segments      one row per sealed segment by seal hash: indexed | failed (+ why)
    events        one row per useful event, RANGE-partitioned by month on ``t_ns`` (UTC ns):
                  session, seq, time, kind, action, page, host, method, status in clear;
                  path, URL, label, selector, target and text sealed; ``fts`` a tsvector of
                  the keyed digests of the URL's words (weight A) and the text's (weight D)
    tokens        (blinded token, field, event, its time, session): exact masked-value lookup
    hosts         distinct hosts (host:example.com expands to its subdomains)
    facet_hours   events per (session, UTC hour, host, action): facet counts read this
                  small roll-up instead of the events

Indexes: GIN on ``events.fts`` (full text), ``pg_trgm`` GIN on ``hosts.host`` and
``lower(sessions.user)`` (suffix and prefix matches on clear metadata, ``LIKE '%.x'``),
B-trees on events ``(t_ns, id)`` (the primary key, newest-first scans), ``(sid, seq)``,
``(host, t_ns)``, ``(action, t_ns)``, ``(sid, action, t_ns)`` (``kind:`` within selected
sessions), and on sessions ``(lower(user), start_ns)``,
``(workstation)``, ``(start_ns)``. An index declared on the partitioned ``events`` is created
on every partition, present and future.
"""

from __future__ import annotations

import datetime as dt
import threading

from agent.clock import dt_to_ns, ns_to_dt
from agent.errors import IndexServerError, UnknownVersion, UsageError
from agent.index.pgconn import Connection

SCHEMA_VERSION = 2
_UPGRADES = {1: ("CREATE INDEX IF NOT EXISTS events_sid_action ON events (sid, action, t_ns)",)}
_LOCK = 7_461_515_107_140_125  # advisory lock: schema creation and partition creation

_DDL = (
    "CREATE TABLE index_schema (version integer NOT NULL)",
    "CREATE TABLE keycheck (check_id text NOT NULL)",
    """CREATE TABLE sessions (
        sid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_id text COLLATE "C" NOT NULL UNIQUE,
        "user" text NOT NULL DEFAULT '', workstation text NOT NULL DEFAULT '',
        agent_id text NOT NULL DEFAULT '', record_class text NOT NULL DEFAULT 'default',
        start_ns bigint NOT NULL DEFAULT 0, end_ns bigint NOT NULL DEFAULT 0,
        duration_ms bigint NOT NULL DEFAULT 0, retain_until text NOT NULL DEFAULT '',
        held boolean NOT NULL DEFAULT false, shipped boolean NOT NULL DEFAULT false,
        verified text NOT NULL DEFAULT 'pending', source text NOT NULL DEFAULT 'dir',
        facts bytea, hosts text NOT NULL DEFAULT '[]')""",
    'CREATE INDEX sessions_user ON sessions (lower("user"), start_ns)',
    'CREATE INDEX sessions_user_trgm ON sessions USING gin (lower("user") gin_trgm_ops)',
    "CREATE INDEX sessions_start ON sessions (start_ns)",
    "CREATE INDEX sessions_workstation ON sessions (workstation)",
    """CREATE TABLE segments (
        seal_hash text PRIMARY KEY, segment_id text NOT NULL, sid bigint NOT NULL,
        idx integer NOT NULL,
        status text NOT NULL CHECK (status IN ('indexed', 'failed')),
        detail text NOT NULL DEFAULT '', events integer NOT NULL DEFAULT 0,
        rows integer NOT NULL DEFAULT 0, t_first_ns bigint NOT NULL DEFAULT 0,
        t_last_ns bigint NOT NULL DEFAULT 0, source text NOT NULL DEFAULT 'dir')""",
    "CREATE INDEX segments_sid ON segments (sid, idx)",
    "CREATE SEQUENCE event_ids AS bigint",
    """CREATE TABLE events (
        id bigint NOT NULL, sid bigint NOT NULL, seq bigint NOT NULL, t_ns bigint NOT NULL,
        kind text NOT NULL, action text NOT NULL, page text NOT NULL DEFAULT '',
        host text NOT NULL DEFAULT '', method text NOT NULL DEFAULT '', status integer,
        sealed bytea NOT NULL, fts tsvector NOT NULL,
        PRIMARY KEY (t_ns, id)) PARTITION BY RANGE (t_ns)""",
    "CREATE INDEX events_sid ON events (sid, seq)",
    "CREATE INDEX events_host ON events (host, t_ns)",
    "CREATE INDEX events_action ON events (action, t_ns)",
    "CREATE INDEX events_sid_action ON events (sid, action, t_ns)",
    "CREATE INDEX events_fts ON events USING gin (fts)",
    """CREATE TABLE tokens (
        token text NOT NULL, field text NOT NULL, event_id bigint NOT NULL,
        t_ns bigint NOT NULL, sid bigint NOT NULL,
        PRIMARY KEY (token, event_id, field))""",
    "CREATE INDEX tokens_sid ON tokens (sid)",
    "CREATE TABLE hosts (host text PRIMARY KEY)",
    "CREATE INDEX hosts_trgm ON hosts USING gin (host gin_trgm_ops)",
    """CREATE TABLE facet_hours (
        sid bigint NOT NULL, hour bigint NOT NULL, host text NOT NULL, action text NOT NULL,
        n integer NOT NULL, PRIMARY KEY (hour, sid, host, action))""",
    "CREATE INDEX facet_hours_sid ON facet_hours (sid)",
)
TABLES = ("facet_hours", "tokens", "events", "segments", "sessions", "hosts")


def schema_version(con: Connection) -> int | None:
    """The stored schema version; None when the schema was never created here."""
    if not _exists(con, "index_schema"):
        return None
    row = con.execute("SELECT max(version) FROM index_schema").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _exists(con: Connection, name: str) -> bool:
    """True when the first schema of the search path holds a table named ``name``."""
    return (
        con.execute(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relname = %s",
            (name,),
        ).fetchone()
        is not None
    )


def ensure_schema(con: Connection, where: str, *, readonly: bool = False) -> int:
    """Create the schema if there is none (not when ``readonly``); return its version.

    A schema of another version is :class:`~agent.errors.UnknownVersion`; ``pg_trgm`` must be
    creatable (a trusted extension: the database owner may create it) or already there.
    """
    ver = schema_version(con)
    if ver is None and readonly:
        raise UsageError(
            f"no search index in the PostgreSQL database at {where}: run "
            "`sessiontape index update` (or `index rebuild`) first"
        )
    if ver is None:
        with con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            ver = schema_version(con)
            if ver is None:
                _create(con, where)
                ver = SCHEMA_VERSION
    if ver in _UPGRADES and not readonly:
        with con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            ver = schema_version(con) or 0
            while ver in _UPGRADES:
                for stmt in _UPGRADES[ver]:
                    con.execute(stmt)
                ver += 1
                con.execute("UPDATE index_schema SET version = %s", (ver,))
    if ver != SCHEMA_VERSION and not (readonly and ver in _UPGRADES):
        raise UnknownVersion(
            f"PostgreSQL search index at {where}: schema version {ver} is not the one this "
            f"build reads ({SCHEMA_VERSION}); drop the schema and run `sessiontape index rebuild`"
        )
    return ver


def _create(con: Connection, where: str) -> None:
    if con.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").fetchone() is None:
        try:
            with con.transaction():
                con.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as exc:
            raise IndexServerError(
                f"PostgreSQL search index at {where}: the pg_trgm extension is missing and "
                f"cannot be created here ({exc}); a superuser or the database owner runs "
                "CREATE EXTENSION pg_trgm",
                retryable=False,
            ) from exc
    for stmt in _DDL:
        con.execute(stmt)
    con.execute("INSERT INTO index_schema (version) VALUES (%s)", (SCHEMA_VERSION,))


def month_bounds(t_ns: int) -> tuple[str, int, int]:
    """(partition name, first ns, first ns of the next month) of the UTC month of ``t_ns``."""
    d = ns_to_dt(t_ns)
    start = dt.datetime(d.year, d.month, 1, tzinfo=dt.UTC)
    nxt = dt.datetime(d.year + (d.month == 12), d.month % 12 + 1, 1, tzinfo=dt.UTC)
    return f"events_{d.year:04d}_{d.month:02d}", dt_to_ns(start), dt_to_ns(nxt)


class Partitions:
    """Creates the monthly partitions rows need, once each (remembered per process)."""

    def __init__(self) -> None:
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def ensure(self, con: Connection, times: set[int]) -> None:
        """Create the partitions for the months of ``times`` that do not exist yet, each in
        its own short transaction (before the rows' transaction, so readers wait at most for
        a catalog change)."""
        months = {month_bounds(t) for t in times}
        with self._lock:
            todo = sorted(m for m in months if m[0] not in self._known)
        for name, lo, hi in todo:
            with con.transaction():
                con.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
                if not _exists(con, name):
                    con.execute(
                        f"CREATE TABLE {name} PARTITION OF events FOR VALUES FROM ({lo}) TO ({hi})"
                    )
            with self._lock:
                self._known.add(name)

    def forget(self) -> None:
        """Forget what was created (after the tables were dropped)."""
        with self._lock:
            self._known.clear()
