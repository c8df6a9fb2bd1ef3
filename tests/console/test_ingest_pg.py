"""The ingestion worker over a real PostgreSQL index that goes down mid-ingest: the pass stops
with one line naming the server, nothing is marked done that was not indexed, and once the
server is back the next pass indexes the rest, each segment exactly once."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
import pytest

from agent.index.cipher import index_key
from agent.index.pgindex import PostgresIndex
from tests.console.fleet import Fleet
from tests.console.test_ingest_resume import _shipped_seals
from tests.pg import PgServer, running_server


@pytest.fixture
def own_pg() -> Iterator[PgServer]:
    """A private server this test alone may stop (the session's shared one must stay up),
    with durable commits: the worker marks a segment done once the index committed it, so a
    server that may lose acknowledged commits (synchronous_commit = off) would lose them."""
    with running_server(durable=True) as server:
        yield server


def _indexed_seals(server: PgServer) -> list[str]:
    with server.admin() as con:
        rows = con.execute("SELECT seal_hash FROM segments WHERE status = 'indexed'").fetchall()
    return sorted(str(r[0]) for r in rows)


def test_postgresql_down_during_ingestion_resumes_with_nothing_twice_or_skipped(
    fleet: Fleet, own_pg: PgServer
) -> None:
    ix = PostgresIndex(own_pg.dsn(), key=index_key(fleet.firm), password=own_pg.password)
    w = fleet.worker(ix)
    try:
        fleet.record_and_ship(fleet.add_agent(), 1)
        assert w.run_once().indexed == 1
        fleet.record_and_ship(fleet.add_agent(), 2, 1)
        own_pg.stop()
        rep = w.run_once()
        assert rep.indexed == 0 and rep.backlog == 3
        assert rep.error.startswith("index unavailable while indexing session ")
        assert f"port={own_pg.port}" in rep.error and own_pg.password not in rep.error
        assert w.state.counts() == {"indexed": 1}
        own_pg.start()
        rep = w.run_once()
        assert (rep.error, rep.indexed, rep.backlog) == ("", 3, 0)
    finally:
        w.close()
        with contextlib.suppress(psycopg.Error):
            ix.close()
    seals = _indexed_seals(own_pg)
    assert seals == sorted(_shipped_seals(fleet))
    assert len(seals) == len(set(seals)) == 4
