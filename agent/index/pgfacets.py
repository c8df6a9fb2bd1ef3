"""Facet counts for the console's filters: the most frequent users, workstations, hosts or
kinds (actions) among what a query selects, without scanning every event.

Three sources, by what the query has:

* **session filters only**, facet ``user``/``workstation``: sessions counted, from the
  ``sessions`` table (one row per session).
* **no text and no token** (``host:``, ``kind:``, time and session filters): events counted
  from ``facet_hours``, the per-(session, UTC hour, host, action) roll-up written with each
  segment - a few rows per session-hour instead of every event. Time bounds are applied by
  whole UTC hours: the hours a ``from:``/``to:`` falls in are counted whole.
* **text or tokens**: the newest :data:`MATCH_CAP` matching events counted (the same plan as
  the search, its ``LIMIT`` raised): above the cap a count covers the newest matches only,
  which ``capped`` in the answer of :func:`facet_counts_capped` says.
"""

from __future__ import annotations

from typing import Any

from agent.index.base import FACET_MATCH_CAP, facet_column
from agent.index.cipher import IndexCipher
from agent.index.extract import actions_for
from agent.index.pgconn import Connection
from agent.index.pgplan import event_where, known_hosts, selected_sids, session_conds
from agent.index.pgrows import HOUR_NS
from agent.index.query import Query

COLUMNS = {"user": 's."user"', "workstation": "s.workstation", "host": "host", "kind": "action"}
MATCH_CAP = FACET_MATCH_CAP


def facet_counts(
    con: Connection, c: IndexCipher, q: Query, facet: str, limit: int = 10
) -> list[tuple[str, int]]:
    """(value, count) of the ``limit`` most frequent values of ``facet``, most frequent first
    (ties by value)."""
    return facet_counts_capped(con, c, q, facet, limit)[0]


def facet_counts_capped(
    con: Connection, c: IndexCipher, q: Query, facet: str, limit: int = 10
) -> tuple[list[tuple[str, int]], bool]:
    """:func:`facet_counts` and whether the counts cover only the newest :data:`MATCH_CAP`
    matches of a text or token query."""
    col = facet_column(facet, COLUMNS)
    limit = max(1, int(limit))
    if q.has_text or q.tokens or q.field_tokens:
        return _from_matches(con, c, q, col, limit)
    if not q.has_event_filters and facet in ("user", "workstation"):
        conds: list[str] = []
        args: list[Any] = []
        session_conds(q, conds, args)
        sql = (
            f"SELECT {col}, count(*) FROM sessions s WHERE {' AND '.join(conds) or 'true'} "
            "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %s"
        )
        return _rows(con, sql, [*args, limit]), False
    return _from_rollup(con, q, col, limit), False


def _from_rollup(con: Connection, q: Query, col: str, limit: int) -> list[tuple[str, int]]:
    conds: list[str] = []
    args: list[Any] = []
    if q.hosts:
        conds.append("f.host = ANY(%s)")
        args.append(known_hosts(con, q.hosts))
    if q.kinds:
        conds.append("f.action = ANY(%s)")
        args.append(list(actions_for(q.kinds)))
    if q.t_from is not None:
        conds.append("f.hour >= %s")
        args.append(q.t_from // HOUR_NS)
    if q.t_to is not None:
        conds.append("f.hour <= %s")
        args.append(q.t_to // HOUR_NS)
    sids = selected_sids(con, q)
    if sids is not None:
        conds.append("f.sid = ANY(%s)")
        args.append(sids)
    scope = Query(raw=q.raw, users=q.users, sessions=q.sessions, held=q.held)
    session_conds(scope, conds, args)
    value = col if col.startswith("s.") else f"f.{col}"
    sql = (
        f"SELECT {value}, sum(f.n)::bigint FROM facet_hours f JOIN sessions s ON s.sid = f.sid "
        f"WHERE {' AND '.join(conds) or 'true'} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %s"
    )
    return _rows(con, sql, [*args, limit])


def _from_matches(
    con: Connection, c: IndexCipher, q: Query, col: str, limit: int
) -> tuple[list[tuple[str, int]], bool]:
    where, args, _ = event_where(con, c, q)
    value = col if col.startswith("s.") else f"m.{col}"
    sql = (
        f"SELECT {value}, count(*) FROM (SELECT e.sid, e.host, e.action FROM events e "
        f"JOIN sessions s ON s.sid = e.sid WHERE {where} ORDER BY e.t_ns DESC, e.id DESC "
        "LIMIT %s) m JOIN sessions s ON s.sid = m.sid GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %s"
    )
    rows = _rows(con, sql, [*args, MATCH_CAP, limit])
    total_sql = (
        f"SELECT count(*) FROM (SELECT 1 FROM events e JOIN sessions s ON s.sid = e.sid "
        f"WHERE {where} LIMIT %s) m"
    )
    row = con.execute(total_sql, [*args, MATCH_CAP + 1]).fetchone()
    capped = bool(row and int(row[0]) > MATCH_CAP)
    return rows, capped


def _rows(con: Connection, sql: str, args: list[Any]) -> list[tuple[str, int]]:
    return [(str(v), int(n)) for v, n in con.execute(sql, args).fetchall()]
