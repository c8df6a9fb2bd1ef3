"""The default :class:`~agent.index.base.SearchIndex`: one SQLite file with FTS5.

The schema and its migrations are in :mod:`agent.index.schema`. Writes happen one segment
per transaction (:func:`agent.db.transaction`, ``BEGIN IMMEDIATE``), so a crash leaves either
the whole segment indexed or none of it, and concurrent writers (CLI + scheduler job)
serialise.

Session and segment rows go through sqlite-utils (``insert``, ``update``, ``rows_where``,
``count_where``, ``delete_where``). The bulk rows of a segment - events, tokens and their FTS
entries - are written with ``executemany`` on prepared tuples: sqlite-utils' ``insert_all``
batches rows into multi-row statements of at most 999 parameters, which measured two to four
times slower (list or dict rows) for the tens of thousands of rows a segment yields. Hosts
and tokens also stay explicit because they are ``WITHOUT ROWID`` tables: sqlite-utils'
``insert(..., ignore=True)`` looks up the rowid of a row that was already there, and fails.

The file is a blind index (:mod:`agent.index.cipher`): it and its ``-wal``/``-shm`` are
created 0600, words are stored as keyed digests, and what a hit displays is sealed under the
index key given to the constructor (:func:`agent.index.cipher.index_key`). An index built
under another key is refused (``keycheck``), and a version-1 index (clear text) is dropped
when opened for writing, its freed pages wiped (``VACUUM``).

A write that SQLite refuses (a full disk above all) is a :class:`~agent.errors.StorageError`
naming the index file; its transaction was rolled back, so the index holds what it held
before and the next ``index update`` redoes the segment.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.db import refused_writes, transaction
from agent.errors import (
    InputError,
    KeyMaterialError,
    UnknownVersion,
    UsageError,
    is_disk_full,
    storage_error,
)
from agent.index import sqlrows
from agent.index.base import Hit, IndexStats, SegmentRecord, SessionMeta
from agent.index.cipher import IndexCipher
from agent.index.extract import Facts, Row, norm_field
from agent.index.query import Query
from agent.index.schema import MIGRATIONS, SCHEMA_VERSION
from agent.migrations import apply_migrations, utils_db

_SIDE_FILES = ("-wal", "-shm", "-journal")
_READ_CACHE_KIB = 65536
_READ_MMAP_BYTES = 268_435_456
_WRITE_CACHE_KIB = 8192


class SqliteIndex:
    """SQLite + FTS5 backend (``<home>/index.db`` by default)."""

    backend = "sqlite"

    def __init__(
        self, path: Path, *, key: bytes, readonly: bool = False, rekey: bool = False
    ) -> None:
        """Open (creating 0600) the index at ``path`` under ``key``; ``rekey``: an index built
        under another key is emptied and taken over (a rebuild), instead of refused."""
        self.path = Path(path)
        self.cipher = IndexCipher(key)
        try:
            con = self._connect(readonly)
            con.execute("PRAGMA busy_timeout = 60000")
            if not readonly:
                con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = NORMAL")  # a cache: rebuildable from journals
            # Searches read at random: a large page cache and memory-mapped reads. Writers
            # (the agent's periodic update, ingestion) append: a small cache does, and keeps
            # the long-running agent's memory from growing with the index it opens each pass.
            con.execute(f"PRAGMA cache_size = -{_READ_CACHE_KIB if readonly else _WRITE_CACHE_KIB}")
            con.execute(f"PRAGMA mmap_size = {_READ_MMAP_BYTES if readonly else 0}")
            con.execute("PRAGMA temp_store = MEMORY")
        except (sqlite3.Error, OSError) as exc:
            if is_disk_full(exc) or isinstance(exc, OSError):
                raise storage_error(self.path, "search index", exc) from exc
            raise InputError(f"{self.path}: cannot open search index: {exc}") from exc
        self.con = con
        self.db = utils_db(con)
        try:
            self._migrate(readonly)
            self._check_key(readonly, rekey)
        except BaseException:
            con.close()  # refused (version, key): leave no connection behind
            raise

    def _connect(self, readonly: bool) -> sqlite3.Connection:
        if readonly:
            if not self.path.exists():
                raise UsageError(
                    f"no search index at {self.path}: run "
                    "`sessiontape index update` (or `index rebuild`) first"
                )
            uri = "file:" + urllib.parse.quote(str(self.path.resolve())) + "?mode=ro"
            return sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _private_files(self.path)
        return sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=60)

    @refused_writes("search index")
    def _migrate(self, readonly: bool) -> None:
        ver = int(self.con.execute("PRAGMA user_version").fetchone()[0])
        if ver > SCHEMA_VERSION:
            raise UnknownVersion(
                f"{self.path}: index schema version {ver} is newer than this "
                f"build reads ({SCHEMA_VERSION}); rebuild it or upgrade"
            )
        if ver == SCHEMA_VERSION:
            return
        if readonly:
            raise UsageError(
                f"{self.path}: search index format {ver} is older than this build reads "
                f"({SCHEMA_VERSION}): run `sessiontape index update` to rebuild it"
            )
        with transaction(self.con) as con:
            apply_migrations(con, MIGRATIONS, ver)
        if ver:  # an older index held clear text: wipe the pages it freed
            self.con.execute("VACUUM")
            self.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @refused_writes("search index")
    def _check_key(self, readonly: bool, rekey: bool) -> None:
        row = self.con.execute("SELECT check_id FROM keycheck").fetchone()
        if row is not None and row[0] == self.cipher.check:
            return
        if row is not None and not (rekey and not readonly):
            raise KeyMaterialError(
                f"{self.path}: the search index was built under another index key: "
                "run `sessiontape index rebuild`"
            )
        if readonly:
            return  # an index that was never written to: nothing to read
        if row is not None:
            self.clear()  # rows under the old key cannot be read: a rebuild starts empty
        with transaction(self.con) as con:
            con.execute("DELETE FROM keycheck")
            con.execute("INSERT INTO keycheck (check_id) VALUES (?)", (self.cipher.check,))

    # --- writes ----------------------------------------------------------------------------
    def has_segment(self, seal_hash: str) -> bool:
        return bool(
            self.db.table("segments").count_where(
                "seal_hash = ? AND status = 'indexed'", [seal_hash]
            )
        )

    def _sid(self, session_id: str) -> int:
        row = self.con.execute(
            "SELECT sid FROM sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
        if row is not None:
            return int(row[0])
        return int(self.db.table("sessions").insert({"session_id": session_id}).last_rowid or 0)

    @refused_writes("search index")
    def upsert_session(self, meta: SessionMeta) -> None:
        with transaction(self.con):
            self._upsert_session(meta)

    def _upsert_session(self, m: SessionMeta) -> None:
        """Set the metadata; URLs, titles and hosts are merged with what is stored."""
        sid = self._sid(m.session_id)
        self.db.table("sessions").update(
            sid,
            {
                "user": m.user,
                "workstation": m.workstation,
                "agent_id": m.agent_id,
                "record_class": m.record_class,
                "start_ns": m.start_ns,
                "end_ns": m.end_ns,
                "duration_ms": m.duration_ms,
                "retain_until": m.retain_until,
                "held": int(m.held),
                "shipped": int(m.shipped),
                "verified": m.verified,
                "source": m.source,
            },
        )
        self._merge_facts(sid, Facts(urls=m.urls, titles=m.titles, hosts=m.hosts))

    @refused_writes("search index")
    def add_segment(self, seg: SegmentRecord, rows: Sequence[Row], facts: Facts) -> int:
        with transaction(self.con) as con:
            if self.has_segment(seg.seal_hash):
                return 0  # another writer got there first
            con.execute("DELETE FROM segments WHERE seal_hash = ?", (seg.seal_hash,))
            sid = self._sid(seg.session_id)
            first = int(con.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM events").fetchone()[0])
            ev, fts, toks, hosts = sqlrows.event_rows(self.cipher, sid, first, rows)
            con.executemany(sqlrows.EVENT_INSERT, ev)
            con.executemany(sqlrows.FTS_INSERT, fts)
            con.executemany(
                "INSERT OR IGNORE INTO tokens (token, event_id, field) VALUES (?, ?, ?)", toks
            )
            con.executemany("INSERT OR IGNORE INTO hosts (host) VALUES (?)", [(h,) for h in hosts])
            self.db.table("segments").insert(
                {
                    **sqlrows.segment_fields(seg, sid),
                    "status": "indexed",
                    "rows": len(rows),
                    "id_lo": first,
                    "id_hi": first + len(rows) - 1,
                }
            )
            self._merge_facts(sid, facts)
        return len(rows)

    def _merge_facts(self, sid: int, facts: Facts) -> None:
        stored = self.db.table("sessions").get(sid)
        urls, titles = sqlrows.open_facts(self.cipher, stored["session_id"], stored["facts"])
        hosts: list[str] = json.loads(stored["hosts"])
        for vals, new in ((urls, facts.urls), (titles, facts.titles), (hosts, facts.hosts)):
            vals += [v for v in new if v not in vals]
        sealed = sqlrows.seal_facts(self.cipher, stored["session_id"], urls[:500], titles[:500])
        self.db.table("sessions").update(sid, {"facts": sealed, "hosts": json.dumps(hosts[:500])})

    @refused_writes("search index")
    def mark_segment_failed(self, seg: SegmentRecord, detail: str) -> None:
        with transaction(self.con):
            sid = self._sid(seg.session_id)
            self.db.table("segments").insert(
                {**sqlrows.segment_fields(seg, sid), "status": "failed", "detail": detail[:2000]},
                replace=True,
            )
            self.db.table("sessions").update(sid, {"verified": "failed"})

    @refused_writes("search index")
    def remove_session(self, session_id: str) -> int:
        with transaction(self.con) as con:
            row = con.execute(
                "SELECT sid FROM sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
            if row is None:
                return 0
            sid = int(row[0])
            con.executemany(
                sqlrows.FTS_DELETE,
                [
                    sqlrows.fts_entry(self.cipher, eid, blob)
                    for eid, blob in con.execute(
                        "SELECT id, sealed FROM events WHERE sid = ?", (sid,)
                    ).fetchall()
                ],
            )
            con.execute(
                "DELETE FROM tokens WHERE event_id IN (SELECT id FROM events WHERE sid = ?)", (sid,)
            )
            n = con.execute("DELETE FROM events WHERE sid = ?", (sid,)).rowcount
            self.db.table("segments").delete_where("sid = ?", [sid])
            self.db.table("sessions").delete_where("sid = ?", [sid])
            return int(n)

    @refused_writes("search index")
    def clear(self) -> None:
        with transaction(self.con) as con:
            for t in ("tokens", "events", "segments", "sessions", "hosts"):
                self.db.table(t).delete_where()
            con.execute("INSERT INTO events_fts (events_fts) VALUES ('delete-all')")

    @refused_writes("search index")
    def optimize(self) -> None:
        """Merge FTS segments and refresh planner statistics (after a bulk rebuild)."""
        with transaction(self.con) as con:
            con.execute("INSERT INTO events_fts (events_fts) VALUES ('optimize')")
        self.con.execute("ANALYZE")

    # --- reads -----------------------------------------------------------------------------
    def search(self, query: Query, limit: int = 50) -> list[Hit]:
        from agent.index.sqlplan import plan_search

        sql, args, phrases = plan_search(self, query, limit)
        try:
            rows = self.con.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            if "fts5" in str(exc).lower():
                raise UsageError(
                    f"full-text syntax not understood in {query.raw!r}: {exc}"
                ) from None
            raise InputError(f"{self.path}: search failed: {exc}") from exc
        return [sqlrows.hit(self.cipher, r, phrases) for r in rows]

    def facet_counts(self, query: Query, facet: str, limit: int = 10) -> list[tuple[str, int]]:
        """The most frequent values of ``facet`` among what ``query`` selects
        (:mod:`agent.index.sqlfacets`)."""
        from agent.index.sqlfacets import facet_counts

        return facet_counts(self, query, facet, limit)

    def session(self, session_id: str) -> SessionMeta | None:
        rows = self.db.table("sessions").rows_where("session_id = ?", [session_id])
        return next((sqlrows.meta(self.cipher, r) for r in rows), None)

    def sessions(self) -> list[SessionMeta]:
        return [
            sqlrows.meta(self.cipher, r)
            for r in self.db.table("sessions").rows_where(order_by="start_ns, session_id")
        ]

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
        size = sum(
            p.stat().st_size for p in (self.path, Path(str(self.path) + "-wal")) if p.exists()
        )
        return IndexStats(
            backend=self.backend,
            location=str(self.path),
            sessions=self.db.table("sessions").count,
            segments=self.db.table("segments").count_where("status = 'indexed'"),
            events=self.db.table("events").count,
            tokens=self.db.table("tokens").count,
            size_bytes=size,
            failed=self.failures(),
            schema_version=int(self.con.execute("PRAGMA user_version").fetchone()[0]),
        )

    def close(self) -> None:
        self.con.close()


def _private_files(path: Path) -> None:
    """Create the index file 0600 (SQLite gives its -wal/-shm the same mode), and take
    group/other access away from an existing one and its side files."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for p in (path, *(Path(str(path) + s) for s in _SIDE_FILES)):
        if p.exists() and p.stat().st_mode & 0o077:
            p.chmod(0o600)


__all__ = ["SCHEMA_VERSION", "SqliteIndex", "norm_field"]
