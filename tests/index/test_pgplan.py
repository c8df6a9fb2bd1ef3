"""PostgreSQL query plans: full text over word digests in the GIN index, trigram-indexed
metadata matches, session filters resolved to session ids."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from agent.index.base import SegmentRecord
from agent.index.extract import Facts, Row
from agent.index.pgindex import PostgresIndex
from agent.index.pgplan import known_hosts, plan_search
from agent.index.query import parse
from tests.index.pgdata import fetch, load, open_pg, start_ns
from tests.pg import PgServer


@pytest.fixture
def ix(pg_server: PgServer, pg_dsn: str) -> Iterator[PostgresIndex]:
    index = open_pg(pg_server, pg_dsn)
    load(index)
    index.optimize()
    yield index
    index.close()


def _explain(ix: PostgresIndex, sql: str, args: list[object]) -> str:
    """The plan with only bitmap index scans allowed: what an index can answer, as on a
    table too big to scan (a toy table is otherwise read whole)."""
    with ix.connection() as con, con.transaction():
        for scan in ("seqscan", "indexscan", "indexonlyscan"):
            con.execute(f"SET LOCAL enable_{scan} = off")
        rows = con.execute("EXPLAIN (FORMAT JSON) " + sql, args).fetchall()
    return json.dumps(rows[0][0])


def _sessions(ix: PostgresIndex, q: str) -> list[str]:
    return sorted({h.session_id[-1] for h in ix.search(parse(q), 100)})


def test_full_text_is_answered_by_the_gin_index(ix: PostgresIndex) -> None:
    """A word query can run as a bitmap scan of each partition's GIN index on ``fts``."""
    with ix.connection() as con:
        sql, args, _ = plan_search(con, ix.cipher, parse("margin"), 50)
    plan = _explain(ix, sql, args)
    assert "Bitmap Index Scan" in plan and "fts_idx" in plan
    assert _sessions(ix, "margin") == ["a", "b", "c", "d"]


def test_phrases_need_adjacent_words_and_url_matches_url_words_only(ix: PostgresIndex) -> None:
    """The phrase "send order" is in the click text, "order send" nowhere; url: is the URL's."""
    assert {h.seq for h in ix.search(parse('"send order"'), 10)} == {2}
    assert ix.search(parse('"order send"'), 10) == []
    assert {h.seq for h in ix.search(parse("url:/api/orders"), 10)} == {4}
    assert ix.search(parse("url:margin"), 10) == []
    assert {h.seq for h in ix.search(parse("ORD-77"), 10)} == {4}


def test_a_phrase_never_spans_the_url_and_the_text(ix: PostgresIndex) -> None:
    """The URL's last word and the text's first word are not adjacent (two fields, as in
    SQLite's two FTS columns)."""
    assert {h.seq for h in ix.search(parse('"new new order"'), 10)} == set()
    assert {h.seq for h in ix.search(parse('"new order"'), 10)} == {1}


def test_no_clear_word_reaches_the_server(ix: PostgresIndex) -> None:
    """The stored tsvector holds keyed digests, not the words of the text."""
    stored = str(fetch(ix, "SELECT string_agg(fts::text, ' ') FROM events")[0][0])
    assert "margin" not in stored and "order" not in stored and "ord" not in stored
    assert ix.cipher.blind_word("margin").rstrip("=") in stored


def test_host_subdomains_are_found_through_the_trigram_index(ix: PostgresIndex) -> None:
    """host:firm.example is a ``LIKE '%.firm.example'`` the hosts trigram index serves."""
    with ix.connection() as con:
        assert known_hosts(con, ("firm.example",)) == ["crm.firm.example", "oms.firm.example"]
    plan = _explain(ix, "SELECT host FROM hosts WHERE host LIKE %s", ["%.firm.example"])
    assert "hosts_trgm" in plan
    assert _sessions(ix, "host:firm.example kind:click") == ["a", "b", "c"]


def test_user_prefix_is_served_by_the_trigram_index(ix: PostgresIndex) -> None:
    """user:ali* (any case) is a LIKE on lower(user) the trigram index answers."""
    plan = _explain(ix, 'SELECT sid FROM sessions s WHERE lower(s."user") LIKE %s', ["ali%"])
    assert "sessions_user" in plan
    assert _sessions(ix, "user:ALI*") == ["a", "c"]
    assert _sessions(ix, "user:Alice margin") == ["a", "c"]


def test_tokens_join_their_events_by_time_and_id(ix: PostgresIndex) -> None:
    """token: and field-scoped tokens find the typed account in every session."""
    assert _sessions(ix, "token:tok_1b0291152bfb9d97") == ["a", "b", "c", "d"]
    assert _sessions(ix, "account:tok_1b0291152bfb9d97 from:2026-12-01") == ["d"]
    assert ix.search(parse("ssn:tok_1b0291152bfb9d97"), 10) == []


def test_hits_are_newest_event_first(ix: PostgresIndex) -> None:
    """Event hits come in event-time order, newest first, at most ``limit``."""
    hits = ix.search(parse("kind:click"), 3)
    assert [h.session_id[-1] for h in hits] == ["d", "c", "b"]
    assert hits == sorted(hits, key=lambda h: -h.t_utc_ns)


def test_a_word_past_the_last_tsvector_position_is_still_found(ix: PostgresIndex) -> None:
    """Text longer than PostgreSQL's 16383 positions keeps its later words searchable."""
    long_text = " ".join(f"filler{i}" for i in range(17_000)) + " zebraword"
    base = start_ns("2026-11-20T09:00Z")
    ix.add_segment(
        SegmentRecord("long", "20261120T090000Z-eeeeeeee", 0, "hash-long", 1, base, base),
        [Row(1, base, "rrweb.full_snapshot", "keyframe", text=long_text)],
        Facts(),
    )
    assert {h.session_id[-1] for h in ix.search(parse("zebraword"), 10)} == {"e"}
    assert {h.session_id[-1] for h in ix.search(parse("filler16999"), 10)} == {"e"}
    assert {h.session_id[-1] for h in ix.search(parse('"filler5 filler6"'), 10)} == {"e"}


def test_user_and_kind_take_each_selected_sessions_newest_events_by_its_index(
    ix: PostgresIndex,
) -> None:
    """user: + kind: reads the newest events of each selected session and action from the
    (sid, action, t_ns) index (never a walk of everyone's events), and finds exactly the
    selected users' events of that kind, newest first, up to the limit."""
    query = parse("user:alice kind:click")
    with ix.connection() as con:
        sql, args, _ = plan_search(con, ix.cipher, query, 50)
    assert "sid_action" in _explain(ix, sql, args)
    assert '"user"' not in sql.split("WHERE", 1)[1]
    want = fetch(
        ix,
        "SELECT s.session_id, e.seq FROM events e JOIN sessions s ON s.sid = e.sid "
        "WHERE s.\"user\" = 'alice' AND e.action = 'click' ORDER BY e.t_ns DESC, e.id DESC",
    )
    assert want  # the fixture has alice's clicks
    for limit in (1, 50):
        got = [(h.session_id, h.seq) for h in ix.search(query, limit)]
        assert got == [(str(a), int(b)) for a, b in want[:limit]]
