"""Facet counts on the PostgreSQL index: sessions, the hourly roll-up, or capped matches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.errors import UsageError
from agent.index import pgfacets
from agent.index.pgindex import PostgresIndex
from agent.index.query import parse
from tests.index.pgdata import fetch, load, open_pg
from tests.pg import PgServer


@pytest.fixture
def ix(pg_server: PgServer, pg_dsn: str) -> Iterator[PostgresIndex]:
    index = open_pg(pg_server, pg_dsn)
    load(index)
    yield index
    index.close()


def test_session_facets_count_sessions(ix: PostgresIndex) -> None:
    """With session filters only, user and workstation facets count sessions."""
    assert ix.facet_counts(parse("from:2026-11-01"), "user") == [
        ("alice", 1),
        ("bob", 1),
        ("carol", 1),
    ]
    assert ix.facet_counts(parse("held:no"), "workstation", limit=1) == [("ws-1", 2)]


def test_event_facets_come_from_the_hourly_rollup(ix: PostgresIndex) -> None:
    """host and kind facets count events through facet_hours, filters applied."""
    assert ix.facet_counts(parse("host:firm.example"), "host") == [
        ("oms.firm.example", 10),
        ("crm.firm.example", 5),
    ]
    assert ix.facet_counts(parse("user:alice kind:click"), "kind") == [("click", 2)]
    assert ix.facet_counts(parse("kind:console from:2026-11-17 to:2026-12-31"), "user") == [
        ("alice", 1),
        ("carol", 1),
    ]
    assert fetch(ix, "SELECT sum(n) FROM facet_hours") == [(20,)]


def test_text_facets_count_the_matching_events(ix: PostgresIndex) -> None:
    """With text or tokens, the matching events themselves are counted."""
    assert ix.facet_counts(parse('"send order"'), "user") == [
        ("alice", 2),
        ("bob", 1),
        ("carol", 1),
    ]
    with ix.connection() as con:
        got, capped = pgfacets.facet_counts_capped(
            con, ix.cipher, parse("token:tok_1b0291152bfb9d97"), "host"
        )
    assert got == [("oms.firm.example", 2), ("crm.firm.example", 1), ("news.example", 1)]
    assert capped is False


def test_counts_above_the_cap_say_so(ix: PostgresIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """More matches than the cap: the newest cap matches are counted and ``capped`` is set."""
    monkeypatch.setattr(pgfacets, "MATCH_CAP", 3)
    with ix.connection() as con:
        got, capped = pgfacets.facet_counts_capped(con, ix.cipher, parse("margin"), "user")
    assert capped is True
    assert got == [("alice", 1), ("bob", 1), ("carol", 1)]


def test_removed_session_leaves_the_rollup(ix: PostgresIndex) -> None:
    """Disposition removes a session's roll-up rows with its events."""
    ix.remove_session("20261201T090000Z-dddddddd")
    assert ("news.example", 5) not in ix.facet_counts(parse("kind:navigate"), "host")
    assert ix.facet_counts(parse("kind:navigate"), "host") == [
        ("oms.firm.example", 2),
        ("crm.firm.example", 1),
    ]


def test_unknown_facet_is_a_usage_error(ix: PostgresIndex) -> None:
    """A facet that is not user/workstation/host/kind is refused, naming the choices."""
    with pytest.raises(UsageError, match="unknown facet 'url'.*user, workstation, host, kind"):
        ix.facet_counts(parse("margin"), "url")
