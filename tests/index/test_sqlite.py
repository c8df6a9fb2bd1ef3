"""The SearchIndex contract, run against every backend (SQLite, PostgreSQL; a new backend adds
its factory to ``BACKENDS``).

Rows are written exactly as the indexer writes them (``add_segment`` per sealed segment) and
queried through the query language.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.errors import KeyMaterialError, UnknownVersion, UsageError
from agent.index.base import FacetIndex, SearchIndex, SegmentRecord, SessionMeta
from agent.index.extract import Facts, Row
from agent.index.pgindex import PostgresIndex
from agent.index.query import parse
from agent.index.schema import MIGRATIONS
from agent.index.sqlite import SqliteIndex
from agent.migrations import apply_migrations
from tests.pg import PgServer

H = 3_600_000_000_000
T0 = 1_795_651_200_000_000_000  # 2026-11-26T00:00:00Z
TOK_A = "tok_1b0291152bfb9d97"
TOK_B = "tok_3f976b5bcfce2c06"
KEY = b"\x0b" * 32


def _postgres(request: pytest.FixtureRequest, _: Path) -> SearchIndex:
    server: PgServer = request.getfixturevalue("pg_server")
    return PostgresIndex(request.getfixturevalue("pg_dsn"), key=KEY, password=server.password)


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], SearchIndex]] = {
    "sqlite": lambda _, p: SqliteIndex(p / "index.db", key=KEY),
    "postgres": _postgres,
}


@pytest.fixture(params=sorted(BACKENDS))
def ix(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchIndex]:
    index = BACKENDS[request.param](request, tmp_path)
    _load(index)
    yield index
    index.close()


def _rows(base: int, host: str) -> list[Row]:
    return [
        Row(0, base, "session.start", "session", text="session start"),
        Row(
            5,
            base + 60 * 10**9,
            "page.navigate",
            "navigate",
            host=host,
            url=f"https://{host}/orders/new",
            path="/orders/new",
            text=f"https {host} orders new",
        ),
        Row(
            9,
            base + 61 * 10**9,
            "rrweb.mouse_interaction",
            "click",
            host=host,
            url=f"https://{host}/orders/new",
            selector="button#send",
            target="Send order",
            text="click Send order",
        ),
        Row(
            12,
            base + 62 * 10**9,
            "rrweb.input",
            "input",
            host=host,
            label="Account",
            selector="input#acct",
            text="typed Account",
            tokens=[(TOK_A, "account")],
        ),
        Row(
            15,
            base + 63 * 10**9,
            "net.request",
            "request",
            host=host,
            method="POST",
            url=f"https://{host}/api/orders",
            path="/api/orders",
            text=f"POST https {host} api orders order_id ORD-00000042 account",
            tokens=[(TOK_A, "account"), (TOK_B, "ssn")],
        ),
        Row(
            16,
            base + 64 * 10**9,
            "page.console",
            "console",
            host=host,
            target="error",
            text="console error margin check failed",
        ),
    ]


def _load(ix: SearchIndex) -> None:
    for i, (user, host, held) in enumerate(
        [
            ("alice", "oms.firm.example", False),
            ("bob", "crm.firm.example", True),
            ("alice", "other.example", False),
        ]
    ):
        sid = f"2026112{6 + i}T100000Z-0000000{i}"
        base = T0 + i * 24 * H + 10 * H
        rows = _rows(base, host)
        ix.add_segment(
            SegmentRecord(f"seg{i}", sid, 0, f"hash{i}", 400, base, base + H),
            rows,
            Facts(urls=[rows[1].url], titles=["New order"], hosts=[host]),
        )
        ix.upsert_session(
            SessionMeta(
                sid,
                user=user,
                workstation=f"ws-{user}",
                start_ns=base,
                end_ns=base + H,
                held=held,
                verified="verified",
            )
        )


def _sessions(ix: SearchIndex, q: str) -> list[str]:
    return sorted({h.session_id[-1] for h in ix.search(parse(q), 100)})


def test_session_only_queries_give_one_hit_per_session(ix: SearchIndex) -> None:
    """user: / held: / time filters alone return sessions, each at its first event."""
    hits = ix.search(parse("user:alice"), 10)
    assert [(h.session_id[-1], h.seq, h.kind) for h in hits] == [
        ("2", 0, "session.start"),
        ("0", 0, "session.start"),
    ]
    assert _sessions(ix, "held:yes") == ["1"] and _sessions(ix, "held:no") == ["0", "2"]
    assert _sessions(ix, "user:ALICE from:2026-11-28") == ["2"]
    assert _sessions(ix, "user:al*") == ["0", "2"]


def test_time_range_seq_points_inside_the_range(ix: SearchIndex) -> None:
    """With from:, a session hit opens at its first event inside the range."""
    hits = ix.search(parse("user:bob from:2026-11-27T10:01:01Z"), 10)
    assert [(h.seq, h.kind) for h in hits] == [(9, "rrweb.mouse_interaction")]


def test_text_phrase_and_words(ix: SearchIndex) -> None:
    """Words and phrases hit the right events with a highlighted snippet."""
    hits = ix.search(parse('"send order"'), 10)
    assert {(h.seq, h.target) for h in hits} == {(9, "Send order")}
    assert "«Send order»" in hits[0].snippet
    assert _sessions(ix, "ORD-00000042") == ["0", "1", "2"]
    assert _sessions(ix, "MARGIN") == ["0", "1", "2"]
    assert ix.search(parse("nonexistentword"), 10) == []


def test_prefix_search_is_refused_with_the_reason(ix: SearchIndex) -> None:
    """The index keeps keyed digests of whole words: a prefix query says so (usage error)."""
    with pytest.raises(UsageError, match=r"prefix search 'marg\*' is not available"):
        ix.search(parse("marg*"), 10)


def test_host_matches_subdomains(ix: SearchIndex) -> None:
    """host:firm.example matches oms.firm.example and crm.firm.example, not other.example."""
    assert _sessions(ix, "host:firm.example") == ["0", "1"]
    assert _sessions(ix, "host:oms.firm.example kind:click") == ["0"]


def test_url_kind_and_time(ix: SearchIndex) -> None:
    """url: searches URL words; kind: by action or journal kind or family; to: bounds."""
    assert {h.seq for h in ix.search(parse("url:/api/orders"), 10)} == {15}
    assert {h.kind for h in ix.search(parse("kind:net"), 10)} == {"net.request"}
    assert {h.seq for h in ix.search(parse("kind:page.console"), 10)} == {16}
    assert _sessions(ix, "kind:console to:2026-11-26") == ["0"]


def test_tokens_unscoped_and_field_scoped(ix: SearchIndex) -> None:
    """token: finds every use; account:tok finds it only where the field is account."""
    assert {h.seq for h in ix.search(parse(f"token:{TOK_A}"), 10)} == {12, 15}
    assert {h.seq for h in ix.search(parse(f"account:{TOK_A}"), 10)} == {12, 15}
    assert {h.seq for h in ix.search(parse(f"ssn:{TOK_B}"), 10)} == {15}
    assert ix.search(parse(f"account:{TOK_B}"), 10) == []


def test_limit_and_newest_first(ix: SearchIndex) -> None:
    """Hits are newest first and at most ``limit``."""
    hits = ix.search(parse("click"), 2)
    assert [h.session_id[-1] for h in hits] == ["2", "1"]


def test_failed_segment_is_metadata_only(ix: SearchIndex) -> None:
    """A failed segment is listed with its reason and marks the session failed."""
    seg = SegmentRecord("segX", "20261126T100000Z-00000000", 1, "hashX", 10)
    ix.mark_segment_failed(seg, "chain: leaf mismatch at chunk 3")
    assert ix.failures() == [
        {
            "session_id": "20261126T100000Z-00000000",
            "segment_id": "segX",
            "index": 1,
            "detail": "chain: leaf mismatch at chunk 3",
        }
    ]
    assert not ix.has_segment("hashX")
    meta = ix.session("20261126T100000Z-00000000")
    assert meta is not None and meta.verified == "failed"


def test_duplicate_segment_is_not_indexed_twice(ix: SearchIndex) -> None:
    """add_segment with a seal hash already indexed stores nothing."""
    before = ix.stats().events
    assert ix.add_segment(SegmentRecord("seg0", "x", 0, "hash0"), _rows(T0, "h"), Facts()) == 0
    assert ix.stats().events == before


def test_remove_session_and_clear(ix: SearchIndex) -> None:
    """Removing a session removes its rows from text and token search."""
    assert ix.remove_session("20261126T100000Z-00000000") == 6
    assert _sessions(ix, "ORD-00000042") == ["1", "2"]
    assert _sessions(ix, f"token:{TOK_A}") == ["1", "2"]
    ix.clear()
    st = ix.stats()
    assert (st.sessions, st.events, st.tokens) == (0, 0, 0)
    assert ix.search(parse("click"), 10) == []


def test_session_metadata_round_trip(ix: SearchIndex) -> None:
    """Per-session facts (URLs, titles, hosts) accumulate across segments."""
    meta = ix.session("20261127T100000Z-00000001")
    assert meta is not None
    assert (meta.user, meta.held, meta.urls, meta.titles, meta.duration_ms) == (
        "bob",
        True,
        ["https://crm.firm.example/orders/new"],
        ["New order"],
        3_600_000,
    )
    assert [m.user for m in ix.sessions()] == ["alice", "bob", "alice"]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """An index written by a newer build is an UnknownVersion error, not a guess."""
    p = tmp_path / "index.db"
    SqliteIndex(p, key=KEY).close()
    con = sqlite3.connect(p)
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    with pytest.raises(UnknownVersion, match="99"):
        SqliteIndex(p, key=KEY)


def test_missing_index_read_only_is_a_usage_error(tmp_path: Path) -> None:
    """Searching before any indexing says how to build the index."""
    with pytest.raises(UsageError, match="index update"):
        SqliteIndex(tmp_path / "none.db", key=KEY, readonly=True)


def test_text_within_selected_sessions(ix: SearchIndex) -> None:
    """user: + words searches only that user's sessions (the per-segment range plan)."""
    assert _sessions(ix, 'user:alice "send order"') == ["0", "2"]
    assert _sessions(ix, "user:bob margin kind:console") == ["1"]
    assert _sessions(ix, "user:nobody click") == []
    hits = ix.search(parse("session:20261127 click"), 10)
    assert [(h.session_id[-1], h.seq, "«click»" in h.snippet) for h in hits] == [("1", 9, True)]


def test_index_built_under_another_key_is_refused(tmp_path: Path) -> None:
    """Opening an index with another index key is an error saying to rebuild, not garbage."""
    p = tmp_path / "index.db"
    SqliteIndex(p, key=KEY).close()
    with pytest.raises(KeyMaterialError, match="built under another index key: run `sessiontape"):
        SqliteIndex(p, key=b"\x0c" * 32)


def test_clear_text_v1_index_is_dropped_and_its_pages_wiped(tmp_path: Path) -> None:
    """A version-1 index (clear text) is refused read-only; opened for writing it is migrated
    and vacuumed, so no byte of its text stays in the file."""
    p = tmp_path / "index.db"
    con = sqlite3.connect(p, isolation_level=None)
    con.execute("BEGIN")
    apply_migrations(con, MIGRATIONS[:1], 0)
    con.executemany(
        "INSERT INTO events (id, sid, seq, t_ns, kind, action, text) VALUES (?, 1, ?, 0, 'k', "
        "'text', ?)",
        [(i, i, f"client Jane Q. Sample balance {i}") for i in range(1, 500)],
    )
    con.execute("COMMIT")
    con.close()
    assert b"Jane Q. Sample" in p.read_bytes()
    with pytest.raises(UsageError, match="format 1 is older .* run `sessiontape index update`"):
        SqliteIndex(p, key=KEY, readonly=True)
    ix = SqliteIndex(p, key=KEY)
    assert ix.stats().schema_version == 2 and ix.stats().events == 0
    ix.close()
    assert b"Jane Q. Sample" not in p.read_bytes()


def test_rebuild_takes_over_an_index_built_under_another_key(tmp_path: Path) -> None:
    """With ``rekey`` (what `index rebuild` passes) the old key's rows are dropped and the
    index is usable under the new key; opened normally afterwards it is accepted."""
    p = tmp_path / "index.db"
    old = SqliteIndex(p, key=KEY)
    _load(old)
    old.close()
    new_key = b"\x0c" * 32
    ix = SqliteIndex(p, key=new_key, rekey=True)
    assert ix.stats().events == 0 and ix.search(parse("click"), 10) == []
    ix.close()
    SqliteIndex(p, key=new_key).close()
    with pytest.raises(KeyMaterialError, match="another index key"):
        SqliteIndex(p, key=KEY)


def test_facet_counts_agree_on_both_backends(ix: SearchIndex) -> None:
    """Facets count sessions (session-only user/workstation) or events (everything else),
    most frequent first, ties by value; an unknown facet is a usage error."""
    assert isinstance(ix, FacetIndex)
    assert ix.facet_counts(parse("held:no"), "user") == [("alice", 2)]
    assert ix.facet_counts(parse("user:alice"), "host") == [
        ("oms.firm.example", 5),
        ("other.example", 5),
        ("", 2),
    ]
    assert ix.facet_counts(parse("host:firm.example"), "workstation") == [
        ("ws-alice", 5),
        ("ws-bob", 5),
    ]
    assert ix.facet_counts(parse("kind:click from:2026-11-27 to:2026-11-28"), "user") == [
        ("alice", 1),
        ("bob", 1),
    ]
    assert ix.facet_counts(parse("ORD-00000042"), "kind") == [("request", 3)]
    assert ix.facet_counts(parse(f"token:{TOK_A}"), "kind", limit=1) == [("input", 3)]
    with pytest.raises(UsageError, match="unknown facet 'url'"):
        ix.facet_counts(parse("click"), "url")
