"""A small corpus for the PostgreSQL-specific tests: sessions in different months, written
through ``add_segment`` as the indexer writes them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.clock import dt_to_ns
from agent.index.base import SearchIndex, SegmentRecord, SessionMeta
from agent.index.extract import Facts, Row
from agent.index.pgindex import PostgresIndex
from tests.pg import PgServer

KEY = b"\x0d" * 32
TOKEN = "tok_1b0291152bfb9d97"
# (session id, user, workstation, host, UTC start): three months, two users, three hosts.
SESSIONS = [
    ("20261015T090000Z-aaaaaaaa", "alice", "ws-1", "oms.firm.example", "2026-10-15T09:00Z"),
    ("20261116T090000Z-bbbbbbbb", "bob", "ws-2", "crm.firm.example", "2026-11-16T09:00Z"),
    ("20261117T090000Z-cccccccc", "alice", "ws-1", "oms.firm.example", "2026-11-17T09:00Z"),
    ("20261201T090000Z-dddddddd", "carol", "ws-3", "news.example", "2026-12-01T09:00Z"),
]
S = 1_000_000_000


def start_ns(iso: str) -> int:
    """UTC ns of ``2026-10-15T09:00Z``."""
    import datetime as dt

    return dt_to_ns(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")))


def rows(base: int, host: str) -> list[Row]:
    """Five events: a navigation, a click, a typed account, an order request, a console error."""
    url = f"https://{host}/orders/new"
    return [
        Row(1, base, "page.navigate", "navigate", host=host, url=url, text="New order"),
        Row(2, base + S, "rrweb.mouse_interaction", "click", host=host, text="click Send order"),
        Row(3, base + 2 * S, "rrweb.input", "input", host=host, tokens=[(TOKEN, "account")]),
        Row(
            4,
            base + 3 * S,
            "net.request",
            "request",
            host=host,
            url=f"https://{host}/api/orders",
            text="order_id ORD-77 quantity",
        ),
        Row(5, base + 4 * S, "page.console", "console", host=host, text="margin check failed"),
    ]


def load(ix: SearchIndex) -> None:
    """Index :data:`SESSIONS` (one segment each) and their metadata."""
    for i, (sid, user, ws, host, iso) in enumerate(SESSIONS):
        base = start_ns(iso)
        rs = rows(base, host)
        seg = SegmentRecord(f"seg{i}", sid, 0, f"hash{i}", len(rs), base, base + 4 * S)
        ix.add_segment(seg, rs, Facts(urls=[rs[0].url], titles=["New order"], hosts=[host]))
        meta = SessionMeta(sid, user=user, workstation=ws, start_ns=base, end_ns=base + 4 * S)
        ix.upsert_session(meta)


def open_pg(server: PgServer, dsn: str, **kw: bool) -> PostgresIndex:
    """A :class:`PostgresIndex` on ``dsn`` under :data:`KEY`."""
    return PostgresIndex(dsn, key=KEY, password=server.password, **kw)


def fetch(ix: PostgresIndex, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
    """The rows of one statement run on a connection of ``ix``'s pool."""
    with ix.connection() as con:
        return con.execute(sql, args).fetchall()
