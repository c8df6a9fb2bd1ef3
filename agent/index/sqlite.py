"""The default :class:`~agent.index.base.SearchIndex`: one SQLite file with FTS5.

Schema (version in ``PRAGMA user_version``; ``_MIGRATIONS[i]`` brings version ``i`` to ``i+1``)::

    sessions    one row per session: who/where/when, retention, hold, shipped, verified
    segments    one row per sealed segment by seal hash: indexed | failed (+ why)
    events      one row per useful event: session, seq, time, kind, action, host, url,
                method, status, field label, selector, target text, search text
    tokens      (token, event, field) - masked values, exact lookup, WITHOUT ROWID
    hosts       distinct hosts (expands host:example.com to its subdomains)
    events_fts  FTS5 over events.text and events.url (external content: no second copy)

Writes happen one segment per transaction (``BEGIN IMMEDIATE``), so a crash leaves either the
whole segment indexed or none of it, and concurrent writers (CLI + scheduler job) serialise.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from agent.errors import InputError, UnknownVersion, UsageError
from agent.index.base import Hit, IndexStats, SegmentRecord, SessionMeta
from agent.index.extract import Facts, Row, norm_field
from agent.index.query import Query
from agent.migrations import apply_migrations

_MIGRATIONS = [
    """
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
    """,
]
SCHEMA_VERSION = len(_MIGRATIONS)
_EVENT_COLS = (
    "id",
    "sid",
    "seq",
    "t_ns",
    "kind",
    "action",
    "page",
    "host",
    "path",
    "url",
    "method",
    "status",
    "label",
    "selector",
    "target",
    "text",
)
_HIT_COLS = (
    "s.session_id, s.user, s.workstation, s.start_ns, e.seq, e.t_ns, e.kind, "
    "e.action, e.host, e.url, e.selector, e.target, e.label"
)


class SqliteIndex:
    """SQLite + FTS5 backend (``<home>/index.db`` by default)."""

    backend = "sqlite"

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        try:
            if readonly:
                if not self.path.exists():
                    raise UsageError(
                        f"no search index at {self.path}: run "
                        "`sessiontape index update` (or `index rebuild`) first"
                    )
                uri = "file:" + urllib.parse.quote(str(self.path.resolve())) + "?mode=ro"
                con = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                con = sqlite3.connect(
                    self.path, check_same_thread=False, isolation_level=None, timeout=60
                )
            con.execute("PRAGMA busy_timeout = 60000")
            if not readonly:
                con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = NORMAL")  # a cache: rebuildable from journals
            con.execute("PRAGMA cache_size = -65536")
            con.execute("PRAGMA mmap_size = 268435456")
            con.execute("PRAGMA temp_store = MEMORY")
        except sqlite3.Error as exc:
            raise InputError(f"{self.path}: cannot open search index: {exc}") from exc
        self.db = sqlite_utils.Database(con)
        self.con = con
        self._migrate(readonly)

    def _migrate(self, readonly: bool) -> None:
        ver = int(self.con.execute("PRAGMA user_version").fetchone()[0])
        if ver > SCHEMA_VERSION:
            raise UnknownVersion(
                f"{self.path}: index schema version {ver} is newer than this "
                f"build reads ({SCHEMA_VERSION}); rebuild it or upgrade"
            )
        if ver == SCHEMA_VERSION or readonly:
            return
        with self.tx() as con:
            apply_migrations(con, _MIGRATIONS, ver)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` … ``COMMIT``; rollback on error)."""
        self.con.execute("BEGIN IMMEDIATE")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # --- writes ----------------------------------------------------------------------------
    def has_segment(self, seal_hash: str) -> bool:
        return (
            self.con.execute(
                "SELECT 1 FROM segments WHERE seal_hash = ? AND status = 'indexed'", (seal_hash,)
            ).fetchone()
            is not None
        )

    def _sid(self, con: sqlite3.Connection, session_id: str) -> int:
        row = con.execute("SELECT sid FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
        if row is not None:
            return int(row[0])
        cur = con.execute("INSERT INTO sessions (session_id) VALUES (?)", (session_id,))
        return int(cur.lastrowid or 0)

    def upsert_session(self, meta: SessionMeta) -> None:
        with self.tx() as con:
            self._upsert_session(con, meta)

    def _upsert_session(self, con: sqlite3.Connection, m: SessionMeta) -> None:
        """Set the metadata; URLs, titles and hosts are merged with what is stored."""
        sid = self._sid(con, m.session_id)
        con.execute(
            "UPDATE sessions SET user = ?, workstation = ?, agent_id = ?, record_class = ?, "
            "start_ns = ?, end_ns = ?, duration_ms = ?, retain_until = ?, held = ?, "
            "shipped = ?, verified = ?, source = ? WHERE sid = ?",
            (
                m.user,
                m.workstation,
                m.agent_id,
                m.record_class,
                m.start_ns,
                m.end_ns,
                m.duration_ms,
                m.retain_until,
                int(m.held),
                int(m.shipped),
                m.verified,
                m.source,
                sid,
            ),
        )
        self._merge_facts(con, sid, Facts(urls=m.urls, titles=m.titles, hosts=m.hosts))

    def add_segment(self, seg: SegmentRecord, rows: Sequence[Row], facts: Facts) -> int:
        with self.tx() as con:
            if con.execute(
                "SELECT 1 FROM segments WHERE seal_hash = ? AND status = 'indexed'",
                (seg.seal_hash,),
            ).fetchone():
                return 0  # another writer got there first
            con.execute("DELETE FROM segments WHERE seal_hash = ?", (seg.seal_hash,))
            sid = self._sid(con, seg.session_id)
            first = int(con.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM events").fetchone()[0])
            ev: list[tuple[Any, ...]] = []
            fts: list[tuple[int, str, str]] = []
            toks: list[tuple[str, int, str]] = []
            hosts: set[str] = set()
            for i, r in enumerate(rows):
                eid = first + i
                ev.append(
                    (
                        eid,
                        sid,
                        r.seq,
                        r.t_ns,
                        r.kind,
                        r.action,
                        r.page,
                        r.host,
                        r.path,
                        r.url,
                        r.method,
                        r.status,
                        r.label,
                        r.selector,
                        r.target,
                        r.text,
                    )
                )
                fts.append((eid, r.text, r.url))
                toks.extend((t, eid, f) for t, f in set(r.tokens))
                if r.host:
                    hosts.add(r.host)
            con.executemany(
                f"INSERT INTO events ({', '.join(_EVENT_COLS)}) VALUES "
                f"({', '.join('?' * len(_EVENT_COLS))})",
                ev,
            )
            con.executemany("INSERT INTO events_fts (rowid, text, url) VALUES (?, ?, ?)", fts)
            con.executemany(
                "INSERT OR IGNORE INTO tokens (token, event_id, field) VALUES (?, ?, ?)", toks
            )
            con.executemany("INSERT OR IGNORE INTO hosts (host) VALUES (?)", [(h,) for h in hosts])
            con.execute(
                "INSERT INTO segments (seal_hash, segment_id, sid, idx, status, events, rows, "
                "id_lo, id_hi, t_first_ns, t_last_ns, source) "
                "VALUES (?, ?, ?, ?, 'indexed', ?, ?, ?, ?, ?, ?, ?)",
                (
                    seg.seal_hash,
                    seg.segment_id,
                    sid,
                    seg.index,
                    seg.events,
                    len(rows),
                    first,
                    first + len(rows) - 1,
                    seg.t_first_ns,
                    seg.t_last_ns,
                    seg.source,
                ),
            )
            self._merge_facts(con, sid, facts)
        return len(rows)

    def _merge_facts(self, con: sqlite3.Connection, sid: int, facts: Facts) -> None:
        row = con.execute(
            "SELECT urls, titles, hosts FROM sessions WHERE sid = ?", (sid,)
        ).fetchone()
        merged = []
        for old, new in zip(row, (facts.urls, facts.titles, facts.hosts), strict=True):
            vals: list[str] = json.loads(old)
            vals += [v for v in new if v not in vals]
            merged.append(json.dumps(vals[:500]))
        con.execute(
            "UPDATE sessions SET urls = ?, titles = ?, hosts = ? WHERE sid = ?", (*merged, sid)
        )

    def mark_segment_failed(self, seg: SegmentRecord, detail: str) -> None:
        with self.tx() as con:
            sid = self._sid(con, seg.session_id)
            con.execute(
                "INSERT OR REPLACE INTO segments (seal_hash, segment_id, sid, idx, status, "
                "detail, events, t_first_ns, t_last_ns, source) "
                "VALUES (?, ?, ?, ?, 'failed', ?, ?, ?, ?, ?)",
                (
                    seg.seal_hash,
                    seg.segment_id,
                    sid,
                    seg.index,
                    detail[:2000],
                    seg.events,
                    seg.t_first_ns,
                    seg.t_last_ns,
                    seg.source,
                ),
            )
            con.execute("UPDATE sessions SET verified = 'failed' WHERE sid = ?", (sid,))

    def remove_session(self, session_id: str) -> int:
        with self.tx() as con:
            row = con.execute(
                "SELECT sid FROM sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
            if row is None:
                return 0
            sid = int(row[0])
            con.execute(
                "INSERT INTO events_fts (events_fts, rowid, text, url) "
                "SELECT 'delete', id, text, url FROM events WHERE sid = ?",
                (sid,),
            )
            con.execute(
                "DELETE FROM tokens WHERE event_id IN (SELECT id FROM events WHERE sid = ?)", (sid,)
            )
            n = con.execute("DELETE FROM events WHERE sid = ?", (sid,)).rowcount
            con.execute("DELETE FROM segments WHERE sid = ?", (sid,))
            con.execute("DELETE FROM sessions WHERE sid = ?", (sid,))
            return int(n)

    def clear(self) -> None:
        with self.tx() as con:
            for t in ("tokens", "events", "segments", "sessions", "hosts"):
                con.execute(f"DELETE FROM {t}")
            con.execute("INSERT INTO events_fts (events_fts) VALUES ('delete-all')")

    def optimize(self) -> None:
        """Merge FTS segments and refresh planner statistics (after a bulk rebuild)."""
        with self.tx() as con:
            con.execute("INSERT INTO events_fts (events_fts) VALUES ('optimize')")
        self.con.execute("ANALYZE")

    # --- reads -----------------------------------------------------------------------------
    def search(self, query: Query, limit: int = 50) -> list[Hit]:
        from agent.index.sqlplan import plan_search

        sql, args, text_mode = plan_search(self, query, limit)
        try:
            rows = self.con.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            if "fts5" in str(exc).lower():
                raise UsageError(
                    f"full-text syntax not understood in {query.raw!r}: {exc}"
                ) from None
            raise InputError(f"{self.path}: search failed: {exc}") from exc
        return [_hit(r, text_mode) for r in rows]

    def session(self, session_id: str) -> SessionMeta | None:
        row = self.con.execute(
            "SELECT * FROM sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
        return _meta(row, self._cols("sessions")) if row else None

    def sessions(self) -> list[SessionMeta]:
        cols = self._cols("sessions")
        return [
            _meta(r, cols)
            for r in self.con.execute("SELECT * FROM sessions ORDER BY start_ns, session_id")
        ]

    def _cols(self, table: str) -> list[str]:
        return [r[1] for r in self.con.execute(f"PRAGMA table_info({table})")]

    def known_hosts(self, pattern: str) -> list[str]:
        """Hosts equal to ``pattern`` or its subdomains."""
        return [
            r[0]
            for r in self.con.execute(
                "SELECT host FROM hosts WHERE host = ? OR host LIKE ?", (pattern, "%." + pattern)
            )
        ]

    def failures(self, session_id: str | None = None) -> list[dict[str, Any]]:
        where, args = ("AND s.session_id = ?", (session_id,)) if session_id else ("", ())
        return [
            {"session_id": r[0], "segment_id": r[1], "index": r[2], "detail": r[3]}
            for r in self.con.execute(
                "SELECT s.session_id, g.segment_id, g.idx, g.detail FROM segments g "
                f"JOIN sessions s ON s.sid = g.sid WHERE g.status = 'failed' {where} "
                "ORDER BY s.session_id, g.idx",
                args,
            )
        ]

    def stats(self) -> IndexStats:
        q = self.con.execute
        size = sum(
            p.stat().st_size for p in (self.path, Path(str(self.path) + "-wal")) if p.exists()
        )
        failed = self.failures()
        return IndexStats(
            backend=self.backend,
            location=str(self.path),
            sessions=int(q("SELECT count(*) FROM sessions").fetchone()[0]),
            segments=int(q("SELECT count(*) FROM segments WHERE status = 'indexed'").fetchone()[0]),
            events=int(q("SELECT count(*) FROM events").fetchone()[0]),
            tokens=int(q("SELECT count(*) FROM tokens").fetchone()[0]),
            size_bytes=size,
            failed=failed,
            schema_version=int(q("PRAGMA user_version").fetchone()[0]),
        )

    def close(self) -> None:
        self.con.close()


def _hit(r: sqlite3.Row | tuple[Any, ...], text_mode: bool) -> Hit:
    (
        session_id,
        user,
        ws,
        start_ns,
        seq,
        t_ns,
        kind,
        action,
        host,
        url,
        selector,
        target,
        label,
        snippet,
    ) = r
    return Hit(
        session_id=session_id,
        seq=int(seq),
        t_utc_ns=int(t_ns),
        kind=kind,
        action=action,
        snippet=" ".join(str(snippet or "").split())[:300],
        user=user,
        workstation=ws,
        host=host or "",
        url=url or "",
        selector=selector or "",
        target=target or "",
        label=label or "",
        session_start_ns=int(start_ns),
    )


def _meta(row: tuple[Any, ...], cols: list[str]) -> SessionMeta:
    d = dict(zip(cols, row, strict=True))
    return SessionMeta(
        session_id=d["session_id"],
        user=d["user"],
        workstation=d["workstation"],
        agent_id=d["agent_id"],
        record_class=d["record_class"],
        start_ns=d["start_ns"],
        end_ns=d["end_ns"],
        retain_until=d["retain_until"],
        held=bool(d["held"]),
        shipped=bool(d["shipped"]),
        verified=d["verified"],
        source=d["source"],
        urls=json.loads(d["urls"]),
        titles=json.loads(d["titles"]),
        hosts=json.loads(d["hosts"]),
    )


__all__ = ["SCHEMA_VERSION", "SqliteIndex", "norm_field"]
