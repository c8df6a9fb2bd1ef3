"""The PostgreSQL backend under concurrency: readers on their own connections, writers that
race for one segment."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from agent.index.base import Hit, SegmentRecord
from agent.index.extract import Facts
from agent.index.pgindex import PostgresIndex
from agent.index.pgschema import SCHEMA_VERSION
from agent.index.query import parse
from tests.index.pgdata import SESSIONS, load, open_pg, rows, start_ns
from tests.pg import ROLE, PgServer
from tests.waiting import wait_until

QUERIES = ("margin", "user:alice", "host:firm.example kind:click", "token:tok_1b0291152bfb9d97")


@pytest.fixture
def ix(pg_server: PgServer, pg_dsn: str) -> Iterator[PostgresIndex]:
    index = open_pg(pg_server, pg_dsn)
    load(index)
    yield index
    index.close()


def _role_connections(server: PgServer) -> int:
    """Server connections of the test role (only this test's index uses it now)."""
    with server.admin() as con:
        row = con.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (ROLE,)
        ).fetchone()
    return int(str(row[0])) if row else 0


def test_eight_concurrent_readers_get_the_serial_answers_on_their_own_connections(
    ix: PostgresIndex, pg_server: PgServer
) -> None:
    """8 threads searching at once (three rounds of new threads) get exactly the hits a
    single reader gets, each inside a connection no other thread uses meanwhile; the pool
    keeps at most ``max_idle`` connections open afterwards, however many threads came."""
    expected = {q: ix.search(parse(q), 50) for q in QUERIES}
    barrier = threading.Barrier(8)
    in_use: set[int] = set()
    clash = threading.Event()
    lock = threading.Lock()

    def reader(_: int) -> dict[str, list[Hit]]:
        barrier.wait(timeout=60)
        with ix.connection() as con:
            with lock:
                if id(con) in in_use:
                    clash.set()
                in_use.add(id(con))
            barrier.wait(timeout=60)  # all 8 hold a connection at the same time
            with lock:
                in_use.discard(id(con))
        return {q: ix.search(parse(q), 50) for q in QUERIES * 2}

    for _ in range(3):
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(reader, range(8)))
        assert all(got == expected for got in results)
    assert not clash.is_set()
    assert all(expected[q] for q in QUERIES)
    assert ix.pool.idle() <= ix.pool.max_idle
    assert _role_connections(pg_server) <= ix.pool.max_idle


def test_writers_racing_for_one_segment_index_it_once(ix: PostgresIndex) -> None:
    """Two writers adding the same sealed segment at once: one stores its rows, one stores
    nothing."""
    sid, *_ = SESSIONS[0]
    base = start_ns("2026-10-16T09:00Z")
    seg = SegmentRecord("segN", sid, 1, "hash-new", 5, base, base)
    barrier = threading.Barrier(2)

    def writer(_: int) -> int:
        barrier.wait(timeout=60)
        return ix.add_segment(seg, rows(base, "oms.firm.example"), Facts())

    with ThreadPoolExecutor(2) as pool:
        stored = sorted(pool.map(writer, range(2)))
    assert stored == [0, 5]
    assert ix.stats().events == 25


def test_stats_name_the_server_and_count_what_is_stored(ix: PostgresIndex) -> None:
    """stats() gives counts, a size from the server, and where the index lives (no password)."""
    st = ix.stats()
    assert (st.backend, st.sessions, st.segments, st.events, st.tokens) == (
        "postgres",
        4,
        4,
        20,
        4,
    )
    assert st.size_bytes > 0 and st.schema_version == SCHEMA_VERSION == 2
    assert (
        st.location.startswith("postgresql host=/tmp/") and "dbname=sessiontape_test" in st.location
    )


def test_closed_index_releases_its_connections(ix: PostgresIndex, pg_server: PgServer) -> None:
    """close() ends every server connection the index kept open."""
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: ix.search(parse("margin"), 5), range(6)))
    assert _role_connections(pg_server) >= 1
    ix.close()
    wait_until(lambda: _role_connections(pg_server) == 0, what="the index's connections to end")
