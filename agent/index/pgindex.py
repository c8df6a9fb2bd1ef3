"""The PostgreSQL :class:`~agent.index.base.SearchIndex`: a firm's index on a database server.

The schema (monthly partitions of ``events``, GIN full text over keyed word digests, trigram
indexes on clear metadata, the facet roll-up) is in :mod:`agent.index.pgschema`, the query
plans in :mod:`agent.index.pgplan`, connections and error translation in
:mod:`agent.index.pgconn`. It is the same blind index as the SQLite one
(:mod:`agent.index.cipher`): the server holds keyed digests of words and tokens and sealed
blobs, never a recorded value, and what a hit displays is opened here with the index key.

Writes are one transaction per segment. A segment is claimed with a transaction-scoped
advisory lock on its seal hash, so concurrent ingestion workers never index it twice; the
session row is locked (``FOR UPDATE``) while its URLs/titles/hosts are merged. Events and
tokens go in with ``COPY``. Each operation borrows a connection from a small pool
(:class:`~agent.index.pgconn.Connections`), so concurrent readers each run on their own
server connection and never queue behind one another in this process.

Differences from the SQLite backend: hits of event queries are ordered by event time
(``t_ns DESC, id DESC``), SQLite's by insertion order (the same order when sessions are
indexed as they are recorded); :meth:`facet_counts` reads an hourly roll-up, so a time bound
counts the hours at its edges whole.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

from agent.errors import KeyMaterialError
from agent.index import pgfacets, pgplan, pgrows, sqlrows
from agent.index.base import Hit, IndexStats, SegmentRecord, SessionMeta
from agent.index.cipher import IndexCipher
from agent.index.extract import Facts, Row
from agent.index.pgconn import Connection, Connections, pg_errors
from agent.index.pgschema import TABLES, Partitions, ensure_schema, schema_version
from agent.index.query import Query

_SESSION_COLS = (
    "session_id",
    "user",
    "workstation",
    "agent_id",
    "record_class",
    "start_ns",
    "end_ns",
    "retain_until",
    "held",
    "shipped",
    "verified",
    "source",
    "facts",
    "hosts",
)
Prepared = tuple[list[tuple[Any, ...]], list[tuple[str, str, int, int, int]], set[str]]
_SELECT_SESSION = "SELECT " + ", ".join(f'"{c}"' for c in _SESSION_COLS) + " FROM sessions"


class PostgresIndex:
    """PostgreSQL backend (``index.backend = "postgres"``)."""

    backend = "postgres"

    def __init__(
        self,
        dsn: str,
        *,
        key: bytes,
        password: str | None = None,
        readonly: bool = False,
        rekey: bool = False,
    ) -> None:
        """Connect to ``dsn`` (password apart), create the schema unless ``readonly``, and
        check the index key; ``rekey``: an index built under another key is emptied and taken
        over (a rebuild) instead of refused."""
        self.cipher = IndexCipher(key)
        self.pool = Connections(dsn, password)
        self.where = self.pool.where
        self._parts = Partitions()
        try:
            with self.connection() as con:
                ensure_schema(con, self.where, readonly=readonly)
                self._check_key(con, readonly, rekey)
        except BaseException:
            self.pool.close()
            raise

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """A pooled connection for one operation, psycopg errors translated."""
        with pg_errors(self.where), self.pool.connection() as con:
            yield con

    def _check_key(self, con: Connection, readonly: bool, rekey: bool) -> None:
        row = con.execute("SELECT check_id FROM keycheck").fetchone()
        if row is not None and row[0] == self.cipher.check:
            return
        if row is not None and not (rekey and not readonly):
            raise KeyMaterialError(
                f"PostgreSQL search index at {self.where} was built under another index "
                "key: run `sessiontape index rebuild`"
            )
        if readonly:
            return
        if row is not None:
            self.clear()
        with con.transaction():
            con.execute("DELETE FROM keycheck")
            con.execute("INSERT INTO keycheck (check_id) VALUES (%s)", (self.cipher.check,))

    # --- writes ----------------------------------------------------------------------------
    def has_segment(self, seal_hash: str) -> bool:
        with self.connection() as con:
            return self._has_segment(con, seal_hash)

    @staticmethod
    def _has_segment(con: Connection, seal_hash: str) -> bool:
        row = con.execute(
            "SELECT 1 FROM segments WHERE seal_hash = %s AND status = 'indexed'", (seal_hash,)
        ).fetchone()
        return row is not None

    @staticmethod
    def _sid(con: Connection, session_id: str) -> int:
        """The session's row id (created if new), its row locked until the transaction ends."""
        con.execute(
            "INSERT INTO sessions (session_id) VALUES (%s) ON CONFLICT (session_id) DO NOTHING",
            (session_id,),
        )
        row = con.execute(
            "SELECT sid FROM sessions WHERE session_id = %s FOR UPDATE", (session_id,)
        ).fetchone()
        assert row is not None  # inserted just above, in this transaction
        return int(row[0])

    def upsert_session(self, meta: SessionMeta) -> None:
        m = meta
        with self.connection() as con, con.transaction():
            sid = self._sid(con, m.session_id)
            con.execute(
                'UPDATE sessions SET "user" = %s, workstation = %s, agent_id = %s, '
                "record_class = %s, start_ns = %s, end_ns = %s, duration_ms = %s, "
                "retain_until = %s, held = %s, shipped = %s, verified = %s, source = %s "
                "WHERE sid = %s",
                (m.user, m.workstation, m.agent_id, m.record_class, m.start_ns, m.end_ns)
                + (m.duration_ms, m.retain_until, m.held, m.shipped, m.verified, m.source)
                + (sid,),
            )
            self._merge_facts(con, sid, Facts(urls=m.urls, titles=m.titles, hosts=m.hosts))

    def add_segment(self, seg: SegmentRecord, rows: Sequence[Row], facts: Facts) -> int:
        with self.connection() as con:
            if self._has_segment(con, seg.seal_hash):
                return 0
            self._parts.ensure(con, {r.t_ns for r in rows})
            # Sealing and digesting happen before the transaction, so the session row is
            # locked only while rows are copied in (ids come from a sequence: no lock).
            sid = self._session_sid(con, seg.session_id)
            prepared = self._prepare(con, sid, rows)
            with con.transaction():
                con.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (seg.seal_hash,)
                )
                if self._has_segment(con, seg.seal_hash):
                    return 0  # another writer got there first
                con.execute("DELETE FROM segments WHERE seal_hash = %s", (seg.seal_hash,))
                locked = self._sid(con, seg.session_id)
                if locked != sid:  # the session was removed meanwhile and is new again
                    prepared = self._prepare(con, locked, rows)
                self._copy_rows(con, locked, rows, prepared)
                con.execute(
                    "INSERT INTO segments (seal_hash, segment_id, sid, idx, status, events, rows, "
                    "t_first_ns, t_last_ns, source) VALUES (%s, %s, %s, %s, 'indexed', %s, %s, "
                    "%s, %s, %s)",
                    (seg.seal_hash, seg.segment_id, locked, seg.index, seg.events, len(rows))
                    + (seg.t_first_ns, seg.t_last_ns, seg.source),
                )
                self._merge_facts(con, locked, facts)
        return len(rows)

    @staticmethod
    def _session_sid(con: Connection, session_id: str) -> int:
        """The session's row id, created if new (autocommit: no lock held afterwards)."""
        con.execute(
            "INSERT INTO sessions (session_id) VALUES (%s) ON CONFLICT (session_id) DO NOTHING",
            (session_id,),
        )
        row = con.execute("SELECT sid FROM sessions WHERE session_id = %s", (session_id,))
        got = row.fetchone()
        return int(got[0]) if got else 0

    def _prepare(self, con: Connection, sid: int, rows: Sequence[Row]) -> Prepared:
        """Event ids from the sequence, and the sealed event, token and host rows."""
        if not rows:
            return [], [], set()
        ids = [
            int(r[0])
            for r in con.execute(
                "SELECT nextval('event_ids') FROM generate_series(1, %s)", (len(rows),)
            ).fetchall()
        ]
        return pgrows.event_rows(self.cipher, sid, ids, rows)

    @staticmethod
    def _copy_rows(con: Connection, sid: int, rows: Sequence[Row], prepared: Prepared) -> None:
        ev, toks, hosts = prepared
        if not ev:
            return
        with con.cursor() as cur:
            with cur.copy(f"COPY events ({', '.join(pgrows.EVENT_COLUMNS)}) FROM STDIN") as cp:
                for e in ev:
                    cp.write_row(e)
            with cur.copy("COPY tokens (token, field, event_id, t_ns, sid) FROM STDIN") as cp:
                for t in set(toks):
                    cp.write_row(t)
            cur.executemany(
                "INSERT INTO hosts (host) VALUES (%s) ON CONFLICT DO NOTHING",
                [(h,) for h in sorted(hosts)],
            )
            cur.executemany(
                "INSERT INTO facet_hours (sid, hour, host, action, n) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (hour, sid, host, action) DO UPDATE SET n = facet_hours.n + "
                "excluded.n",
                pgrows.facet_rows(sid, rows),
            )

    def _merge_facts(self, con: Connection, sid: int, facts: Facts) -> None:
        row = con.execute(
            "SELECT session_id, facts, hosts FROM sessions WHERE sid = %s", (sid,)
        ).fetchone()
        assert row is not None  # locked by _sid in this transaction
        session_id, blob, stored_hosts = row
        urls, titles = sqlrows.open_facts(self.cipher, session_id, blob)
        hosts: list[str] = json.loads(stored_hosts)
        for vals, new in ((urls, facts.urls), (titles, facts.titles), (hosts, facts.hosts)):
            vals += [v for v in new if v not in vals]
        sealed = sqlrows.seal_facts(self.cipher, session_id, urls[:500], titles[:500])
        con.execute(
            "UPDATE sessions SET facts = %s, hosts = %s WHERE sid = %s",
            (sealed, json.dumps(hosts[:500]), sid),
        )

    def mark_segment_failed(self, seg: SegmentRecord, detail: str) -> None:
        with self.connection() as con, con.transaction():
            sid = self._sid(con, seg.session_id)
            con.execute(
                "INSERT INTO segments (seal_hash, segment_id, sid, idx, status, detail, "
                "events, t_first_ns, t_last_ns, source) VALUES (%s, %s, %s, %s, 'failed', "
                "%s, %s, %s, %s, %s) ON CONFLICT (seal_hash) DO UPDATE SET "
                "segment_id = excluded.segment_id, sid = excluded.sid, idx = excluded.idx, "
                "status = 'failed', detail = excluded.detail, events = excluded.events, "
                "rows = 0, t_first_ns = excluded.t_first_ns, t_last_ns = excluded.t_last_ns, "
                "source = excluded.source",
                (seg.seal_hash, seg.segment_id, sid, seg.index, detail[:2000], seg.events)
                + (seg.t_first_ns, seg.t_last_ns, seg.source),
            )
            con.execute("UPDATE sessions SET verified = 'failed' WHERE sid = %s", (sid,))

    def remove_session(self, session_id: str) -> int:
        with self.connection() as con, con.transaction():
            row = con.execute(
                "SELECT sid FROM sessions WHERE session_id = %s FOR UPDATE", (session_id,)
            ).fetchone()
            if row is None:
                return 0
            sid = int(row[0])
            for table in ("tokens", "facet_hours", "segments"):
                con.execute(f"DELETE FROM {table} WHERE sid = %s", (sid,))
            n = con.execute("DELETE FROM events WHERE sid = %s", (sid,)).rowcount
            con.execute("DELETE FROM sessions WHERE sid = %s", (sid,))
            return int(n)

    def clear(self) -> None:
        with self.connection() as con:
            con.execute(f"TRUNCATE {', '.join(TABLES)}")

    def optimize(self) -> None:
        """Refresh planner statistics (after a bulk rebuild)."""
        with self.connection() as con:
            con.execute("ANALYZE")

    # --- reads -----------------------------------------------------------------------------
    def search(self, query: Query, limit: int = 50) -> list[Hit]:
        with self.connection() as con:
            sql, args, phrases = pgplan.plan_search(con, self.cipher, query, limit)
            rows = con.execute(sql, args).fetchall()
        return [sqlrows.hit(self.cipher, r, phrases) for r in rows]

    def facet_counts(self, query: Query, facet: str, limit: int = 10) -> list[tuple[str, int]]:
        """The ``limit`` most frequent values of ``facet`` (user, workstation, host, kind)
        among what ``query`` selects, with their counts (see :mod:`agent.index.pgfacets`)."""
        with self.connection() as con:
            return pgfacets.facet_counts(con, self.cipher, query, facet, limit)

    def session(self, session_id: str) -> SessionMeta | None:
        with self.connection() as con:
            row = con.execute(_SELECT_SESSION + " WHERE session_id = %s", (session_id,)).fetchone()
        return self._meta(row) if row is not None else None

    def sessions(self) -> list[SessionMeta]:
        with self.connection() as con:
            rows = con.execute(_SELECT_SESSION + " ORDER BY start_ns, session_id")
            return [self._meta(r) for r in rows.fetchall()]

    def _meta(self, row: tuple[Any, ...]) -> SessionMeta:
        return sqlrows.meta(self.cipher, dict(zip(_SESSION_COLS, row, strict=True)))

    def known_hosts(self, pattern: str) -> list[str]:
        """Hosts equal to ``pattern`` or its subdomains."""
        with self.connection() as con:
            return pgplan.known_hosts(con, (pattern,))

    def failures(self, session_id: str | None = None) -> list[dict[str, Any]]:
        where, args = ("AND s.session_id = %s", (session_id,)) if session_id else ("", ())
        with self.connection() as con:
            rows = con.execute(
                "SELECT s.session_id, g.segment_id, g.idx, g.detail FROM segments g "
                f"JOIN sessions s ON s.sid = g.sid WHERE g.status = 'failed' {where} "
                "ORDER BY s.session_id, g.idx",
                args,
            )
            return [
                {"session_id": r[0], "segment_id": r[1], "index": r[2], "detail": r[3]}
                for r in rows.fetchall()
            ]

    def stats(self) -> IndexStats:
        with self.connection() as con:

            def count(sql: str) -> int:
                row = con.execute(sql).fetchone()
                return int(row[0]) if row and row[0] is not None else 0

            return IndexStats(
                backend=self.backend,
                location=f"postgresql {self.where} schema={current_schema_name(con)}",
                sessions=count("SELECT count(*) FROM sessions"),
                segments=count("SELECT count(*) FROM segments WHERE status = 'indexed'"),
                events=count("SELECT count(*) FROM events"),
                tokens=count("SELECT count(*) FROM tokens"),
                size_bytes=count(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN "
                    "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = "
                    "current_schema() AND c.relkind IN ('r', 'S')"
                ),
                failed=self.failures(),
                schema_version=schema_version(con) or 0,
            )

    def close(self) -> None:
        self.pool.close()


def current_schema_name(con: Connection) -> str:
    """The schema the index lives in (the first of the connection's search path)."""
    row = con.execute("SELECT current_schema()").fetchone()
    return str(row[0]) if row else ""


__all__ = ["PostgresIndex"]
