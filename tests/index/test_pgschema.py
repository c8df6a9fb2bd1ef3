"""The PostgreSQL index's schema: versioned, partitioned by month, pruned by time."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest

from agent.errors import KeyMaterialError, UnknownVersion, UsageError
from agent.index.pgindex import PostgresIndex
from agent.index.pgplan import plan_search
from agent.index.pgschema import SCHEMA_VERSION, month_bounds
from agent.index.query import parse
from tests.index.pgdata import KEY, fetch, load, open_pg, start_ns
from tests.pg import PgServer


@pytest.fixture
def ix(pg_server: PgServer, pg_dsn: str) -> Iterator[PostgresIndex]:
    index = open_pg(pg_server, pg_dsn)
    load(index)
    yield index
    index.close()


def _partitions(ix: PostgresIndex) -> list[str]:
    rows = fetch(
        ix,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'events'::regclass ORDER BY 1",
    )
    return [str(r[0]) for r in rows]


def _plan(ix: PostgresIndex, query: str) -> str:
    with ix.connection() as con:
        sql, args, _ = plan_search(con, ix.cipher, parse(query), 50)
        rows = con.execute("EXPLAIN (FORMAT JSON) " + sql, args).fetchall()
    return json.dumps(rows[0][0])


def test_rows_of_each_month_land_in_that_months_partition(ix: PostgresIndex) -> None:
    """Partitions are created on demand, one per UTC month that has rows, and hold them."""
    assert _partitions(ix) == ["events_2026_10", "events_2026_11", "events_2026_12"]
    counts = fetch(
        ix, "SELECT tableoid::regclass::text, count(*) FROM events GROUP BY 1 ORDER BY 1"
    )
    assert counts == [
        ("events_2026_10", 5),
        ("events_2026_11", 10),
        ("events_2026_12", 5),
    ]


def test_month_bounds_cover_the_month_exactly() -> None:
    """December's partition ends where January's starts (year rollover)."""
    name, lo, hi = month_bounds(start_ns("2026-12-31T23:59Z"))
    assert (name, lo, hi) == (
        "events_2026_12",
        start_ns("2026-12-01T00:00Z"),
        start_ns("2027-01-01T00:00Z"),
    )
    assert month_bounds(hi)[1] == hi


def test_time_bounded_query_scans_only_the_months_it_covers(ix: PostgresIndex) -> None:
    """EXPLAIN of a November query names the November partition and no other."""
    for query in ("margin from:2026-11-01 to:2026-11-30", "kind:click from:2026-11-16T00:00Z"):
        plan = _plan(ix, query)
        assert "events_2026_11" in plan, query
        assert "events_2026_10" not in plan, query
    plan = _plan(ix, "margin from:2026-11-01 to:2026-11-30")
    assert "events_2026_12" not in plan
    unbounded = _plan(ix, "margin")
    assert all(f"events_2026_{m}" in unbounded for m in ("10", "11", "12"))
    hits = ix.search(parse("margin from:2026-11-01 to:2026-11-30"), 10)
    assert sorted(h.session_id[-1] for h in hits) == ["b", "c"]


def test_another_schema_version_is_refused(pg_server: PgServer, pg_dsn: str) -> None:
    """A schema whose version this build does not read is UnknownVersion, naming both."""
    open_pg(pg_server, pg_dsn).close()
    with psycopg.connect(pg_dsn, password=pg_server.password, autocommit=True) as con:
        con.execute("UPDATE index_schema SET version = 99")
    with pytest.raises(UnknownVersion, match=f"schema version 99 .* reads \\({SCHEMA_VERSION}\\)"):
        open_pg(pg_server, pg_dsn)


def test_readonly_open_of_an_empty_database_says_what_to_run(
    pg_server: PgServer, pg_dsn: str
) -> None:
    """Searching before any indexing creates nothing and names `index update`."""
    with pytest.raises(UsageError, match="no search index in the PostgreSQL database at host="):
        open_pg(pg_server, pg_dsn, readonly=True)
    with psycopg.connect(pg_dsn, password=pg_server.password) as con:
        tables = con.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchone()
    assert tables == (0,)


def test_index_built_under_another_key_is_refused_and_rekey_takes_it_over(
    ix: PostgresIndex, pg_server: PgServer, pg_dsn: str
) -> None:
    """Another index key is refused; a rebuild (rekey) empties the index and takes it over."""
    other = b"\x0e" * 32
    with pytest.raises(KeyMaterialError, match="built under another index key"):
        PostgresIndex(pg_dsn, key=other, password=pg_server.password)
    taken = PostgresIndex(pg_dsn, key=other, password=pg_server.password, rekey=True)
    assert taken.stats().events == 0
    taken.close()
    with pytest.raises(KeyMaterialError):
        PostgresIndex(pg_dsn, key=KEY, password=pg_server.password)


def test_a_version_1_schema_is_read_as_it_is_and_upgraded_by_a_writer(
    pg_server: PgServer, pg_dsn: str
) -> None:
    """Version 1 lacked the (sid, action, t_ns) index: a read-only opener searches it as it
    is; the next writer adds the index on every partition and moves the schema to 2."""
    index = open_pg(pg_server, pg_dsn)
    load(index)
    index.close()
    with psycopg.connect(pg_dsn, password=pg_server.password, autocommit=True) as con:
        con.execute("DROP INDEX events_sid_action")
        con.execute("UPDATE index_schema SET version = 1")
    reader = open_pg(pg_server, pg_dsn, readonly=True)
    assert len(reader.search(parse("kind:click"), 50)) > 0
    reader.close()
    writer = open_pg(pg_server, pg_dsn)
    assert fetch(writer, "SELECT version FROM index_schema") == [(2,)]
    indexed = fetch(
        writer,
        "SELECT tablename FROM pg_indexes WHERE strpos(indexdef, '(sid, action, t_ns)') > 0 "
        "AND starts_with(tablename, 'events') ORDER BY 1",
    )
    assert [r[0] for r in indexed] == ["events", *_partitions(writer)]
    writer.close()
