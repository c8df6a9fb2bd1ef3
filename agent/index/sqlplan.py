"""Turning a parsed :class:`~agent.index.query.Query` into one SQLite statement.

Three shapes, chosen by what the query has:

* **text** (free words, phrases, ``url:``): driven by the FTS5 table, newest rowid first, so a
  broad word stops after ``limit`` matches instead of ranking millions; other filters join in.
* **event filters** without text (``token:``, ``host:``, ``kind:``): driven by the token
  primary key or the ``(host, t_ns)`` / ``(action, t_ns)`` indexes.
* **session filters only** (``user:``, ``session:``, ``held:``, ``from:``/``to:``): one hit per
  session, at its first indexed event inside the time range.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.index.extract import actions_for, field_match, norm_field
from agent.index.query import Query

if TYPE_CHECKING:
    from agent.index.sqlite import SqliteIndex

_HIT = (
    "s.session_id, s.user, s.workstation, s.start_ns, e.seq, e.t_ns, e.kind, e.action, "
    "e.host, e.url, e.selector, e.target, e.label"
)


def _like_prefix(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _session_conds(q: Query, conds: list[str], args: list[Any]) -> None:
    if q.users:
        parts = []
        for u in q.users:
            if u.endswith("*"):
                parts.append("s.user LIKE ?")
                args.append(_like_prefix(u[:-1]))
            else:
                parts.append("s.user = ?")
                args.append(u)
        conds.append(
            "(" + " OR ".join(p + (r" ESCAPE '\'" if "LIKE" in p else "") for p in parts) + ")"
        )
    if q.sessions:
        conds.append("(" + " OR ".join(r"s.session_id LIKE ? ESCAPE '\'" for _ in q.sessions) + ")")
        args.extend(_like_prefix(s) for s in q.sessions)
    if q.held is not None:
        conds.append("s.held = ?")
        args.append(int(q.held))
    _time_conds(q, conds, args, start="s.start_ns", end="s.end_ns")


def _time_conds(
    q: Query, conds: list[str], args: list[Any], *, start: str = "e.t_ns", end: str = "e.t_ns"
) -> None:
    """Keep rows whose span ``start``..``end`` (one instant by default) meets the query's."""
    if q.t_from is not None:
        conds.append(f"{end} >= ?")
        args.append(q.t_from)
    if q.t_to is not None:
        conds.append(f"{start} <= ?")
        args.append(q.t_to)


def _token_sql(q: Query, args: list[Any]) -> str | None:
    """An ``e.id IN (...)`` clause for token:/field:token items (ORed)."""
    parts: list[str] = []
    for t in q.tokens:
        parts.append("token = ?")
        args.append(t)
    for fld, t in q.field_tokens:
        w = norm_field(fld)
        parts.append("(token = ? AND (field = ? OR '_' || field || '_' LIKE ? ESCAPE '\\'))")
        args.extend([t, w, "%\\_" + w.replace("_", "\\_") + "\\_%"])
    if not parts:
        return None
    return "e.id IN (SELECT event_id FROM tokens WHERE " + " OR ".join(parts) + ")"


def plan_search(ix: SqliteIndex, q: Query, limit: int) -> tuple[str, list[Any], bool]:
    """(SQL, args, text_mode) for a query."""
    limit = max(1, int(limit))
    if not q.has_event_filters:
        return _plan_sessions(q, limit)
    conds: list[str] = []
    args: list[Any] = []
    fts = q.fts_expr()
    ranges = _segment_ranges(ix, q) if fts is not None else None
    if fts is not None and ranges is None:
        conds.append("events_fts MATCH ?")
        args.append(fts)
    tok = _token_sql(q, args)
    if tok:
        conds.append(tok)
    if q.hosts:
        hosts = sorted({h for pat in q.hosts for h in ix.known_hosts(pat)}) or ["-none-"]
        conds.append(f"e.host IN ({', '.join('?' * len(hosts))})")
        args.extend(hosts)
    if q.kinds:
        acts = actions_for(q.kinds)
        conds.append(f"e.action IN ({', '.join('?' * len(acts))})")
        args.extend(acts)
    _time_conds(q, conds, args)
    _session_conds(q, conds, args)
    where = " AND ".join(conds) or "1"
    if fts is not None and ranges is not None:
        if not ranges:
            ranges = [(0, -1)]
        parts = " UNION ALL ".join(
            "SELECT rowid AS id, snippet(events_fts, 0, '«', '»', '…', 16) AS snip "
            "FROM events_fts WHERE events_fts MATCH ? AND rowid BETWEEN ? AND ?"
            for _ in ranges
        )
        sql = (
            f"SELECT {_HIT}, m.snip FROM ({parts}) m JOIN events e ON e.id = m.id "
            f"JOIN sessions s ON s.sid = e.sid WHERE {where} ORDER BY e.id DESC LIMIT ?"
        )
        args = [x for lo, hi in ranges for x in (fts, lo, hi)] + args
    elif fts is not None:
        sql = (
            f"SELECT {_HIT}, snippet(events_fts, 0, '«', '»', '…', 16) "
            "FROM events_fts JOIN events e ON e.id = events_fts.rowid "
            f"JOIN sessions s ON s.sid = e.sid WHERE {where} "
            "ORDER BY events_fts.rowid DESC LIMIT ?"
        )
    else:
        sql = (
            f"SELECT {_HIT}, substr(e.text, 1, 200) FROM events e "
            f"JOIN sessions s ON s.sid = e.sid WHERE {where} ORDER BY e.id DESC LIMIT ?"
        )
    args.append(limit)
    return sql, args, fts is not None


MAX_RANGES = 200


def _segment_ranges(ix: SqliteIndex, q: Query) -> list[tuple[int, int]] | None:
    """Row-id ranges of the segments of the sessions a query's session filters select.

    When ``user:``/``session:`` narrow the query to a few sessions, the full-text match is
    run inside each of their segments' (contiguous) row-id ranges instead of over the whole
    index; None when there is no such filter or it selects too many segments.
    """
    if not (q.users or q.sessions):
        return None
    conds: list[str] = ["g.status = 'indexed'"]
    args: list[Any] = []
    _session_conds(q, conds, args)
    rows = ix.con.execute(
        f"SELECT g.id_lo, g.id_hi FROM segments g JOIN sessions s ON s.sid = g.sid "
        f"WHERE {' AND '.join(conds)} AND g.id_lo IS NOT NULL LIMIT {MAX_RANGES + 1}",
        args,
    ).fetchall()
    if len(rows) > MAX_RANGES:
        return None
    return [(int(lo), int(hi)) for lo, hi in rows]


def _plan_sessions(q: Query, limit: int) -> tuple[str, list[Any], bool]:
    conds: list[str] = []
    args: list[Any] = []
    _session_conds(q, conds, args)
    inner: list[str] = ["e.sid = s.sid"]
    inner_args: list[Any] = []
    _time_conds(q, inner, inner_args)
    first = f"(SELECT e.id FROM events e WHERE {' AND '.join(inner)} ORDER BY e.seq LIMIT 1)"
    where = " AND ".join(conds) if conds else "1"
    snippet = (
        "'session of ' || s.user || ' on ' || s.workstation || ' (' || "
        "(s.duration_ms / 1000) || ' s, ' || s.verified || "
        "CASE WHEN s.held THEN ', held' ELSE '' END || ')'"
    )
    cols = (
        "s.session_id, s.user, s.workstation, s.start_ns, COALESCE(e.seq, 0), "
        "COALESCE(e.t_ns, s.start_ns), COALESCE(e.kind, 'session.start'), "
        "COALESCE(e.action, 'session'), COALESCE(e.host, ''), COALESCE(e.url, ''), "
        "'', '', ''"
    )
    sql = (
        f"SELECT {cols}, {snippet} FROM sessions s LEFT JOIN events e ON e.id = {first} "
        f"WHERE {where} ORDER BY s.start_ns DESC LIMIT ?"
    )
    return sql, [*inner_args, *args, limit], False


__all__ = ["field_match", "plan_search"]
