"""Facet counts on the SQLite index (:class:`~agent.index.base.FacetIndex`).

One machine's index is small enough to count from ``events`` directly: session-only queries
count sessions (``user``/``workstation``) or their events in the time range (``host``/
``kind``); host/kind/time/session filters count the matching events exactly; text and token
queries count the newest :data:`~agent.index.base.FACET_MATCH_CAP` matches, through the same
plan as the search. (The PostgreSQL backend reads an hourly roll-up instead, so its time
bounds count the edge hours whole.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.index.base import FACET_MATCH_CAP, facet_column
from agent.index.query import Query
from agent.index.sqlplan import _session_conds, host_kind_time_conds, plan_search

if TYPE_CHECKING:
    from agent.index.sqlite import SqliteIndex

COLUMNS = {"user": "user", "workstation": "workstation", "host": "host", "kind": "action"}


def facet_counts(ix: SqliteIndex, q: Query, facet: str, limit: int = 10) -> list[tuple[str, int]]:
    """(value, count) of the ``limit`` most frequent values of ``facet`` for ``q``."""
    col = facet_column(facet, COLUMNS)
    limit = max(1, int(limit))
    if q.has_text or q.tokens or q.field_tokens:
        sql, args, _ = plan_search(ix, q, FACET_MATCH_CAP)
        sql = f"SELECT m.{col}, count(*) FROM ({sql}) m GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?"
        return _rows(ix, sql, [*args, limit])
    conds: list[str] = []
    args = []
    if not q.has_event_filters and facet in ("user", "workstation"):
        _session_conds(q, conds, args)
        sql = f"SELECT s.{col}, count(*) FROM sessions s WHERE {' AND '.join(conds) or '1'} "
        return _rows(ix, sql + "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?", [*args, limit])
    host_kind_time_conds(ix, q, conds, args)
    _session_conds(Query(raw=q.raw, users=q.users, sessions=q.sessions, held=q.held), conds, args)
    value = f"s.{col}" if facet in ("user", "workstation") else f"e.{col}"
    sql = (
        f"SELECT {value}, count(*) FROM events e JOIN sessions s ON s.sid = e.sid "
        f"WHERE {' AND '.join(conds) or '1'} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?"
    )
    return _rows(ix, sql, [*args, limit])


def _rows(ix: SqliteIndex, sql: str, args: list[Any]) -> list[tuple[str, int]]:
    return [(str(v), int(n)) for v, n in ix.con.execute(sql, args).fetchall()]
