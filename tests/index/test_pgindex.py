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
from agent.index.query import parse
from tests.index.pgdata import SESSIONS, load, open_pg, rows, start_ns
from tests.pg import PgServer
from tests.waiting import wait_until

QUERIES = ("margin", "user:alice", "host:firm.example kind:click", "token:tok_1b0291152bfb9d97")


@pytest.fixture
def ix(pg_server: PgServer, pg_dsn: str) -> Iterator[PostgresIndex]:
    index = open_pg(pg_server, pg_dsn)
    load(index)
    yield index
    index.close()


def _backend_pid(ix: PostgresIndex) -> int:
    row = ix.pool.get().execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


def test_eight_concurrent_readers_get_the_serial_answers_on_their_own_connections(
    ix: PostgresIndex,
) -> None:
    """8 threads searching at once each use their own server connection and get exactly the
    hits a single reader gets."""
    expected = {q: ix.search(parse(q), 50) for q in QUERIES}
    barrier = threading.Barrier(8)

    def reader(_: int) -> tuple[int, dict[str, list[Hit]]]:
        barrier.wait(timeout=60)
        got = {q: ix.search(parse(q), 50) for q in QUERIES * 3}
        return _backend_pid(ix), got

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(reader, range(8)))
    assert len({pid for pid, _ in results}) == 8
    for _, got in results:
        assert got == expected
    assert all(expected[q] for q in QUERIES)


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
    assert st.size_bytes > 0 and st.schema_version == 1
    assert (
        st.location.startswith("postgresql host=/tmp/") and "dbname=sessiontape_test" in st.location
    )


def test_closed_index_releases_every_threads_connection(
    ix: PostgresIndex, pg_server: PgServer
) -> None:
    """close() closes the server connections opened by every thread that used the index."""
    with ThreadPoolExecutor(3) as pool:
        pids = set(pool.map(lambda _: _backend_pid(ix), range(3))) | {_backend_pid(ix)}
    assert len(pids) >= 2

    def alive() -> set[int]:
        with pg_server.admin() as con:
            rows = con.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)])
            return {int(str(r[0])) for r in rows.fetchall()}

    assert alive() == pids
    ix.close()
    wait_until(lambda: not alive(), what="the index's server connections to end")
