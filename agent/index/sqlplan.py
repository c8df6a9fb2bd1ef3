"""Turning a parsed :class:`~agent.index.query.Query` into one SQLite statement.

Three shapes, chosen by what the query has:

* **text** (free words, phrases, ``url:``): driven by the FTS5 table, newest rowid first, so a
  broad word stops after ``limit`` matches instead of ranking millions; other filters join in.
  The table holds keyed word digests (:mod:`agent.index.cipher`): every word of the query is
  blinded the same way, each term becomes a phrase of its words' digests, and a prefix
  (``acc*``) cannot be matched - it is a usage error saying so.
* **event filters** without text (``token:``, ``host:``, ``kind:``): driven by the token
  primary key or the ``(host, t_ns)`` / ``(action, t_ns)`` indexes.
* **session filters only** (``user:``, ``session:``, ``held:``, ``from:``/``to:``): one hit per
  session, at its first indexed event inside the time range.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.errors import UsageError
from agent.index.cipher import IndexCipher, words
from agent.index.extract import actions_for, field_match, norm_field
from agent.index.highlight import query_phrases
from agent.index.query import Query

if TYPE_CHECKING:
    from agent.index.sqlite import SqliteIndex

_HIT = (
    "s.session_id, s.user, s.workstation, s.start_ns, e.seq, e.t_ns, e.kind, e.action, "
    "e.host, e.id, e.sealed, NULL"
)


def blind_fts_expr(c: IndexCipher, q: Query) -> str | None:
    """The FTS5 MATCH expression over word digests for the query's text part, or None."""
    parts: list[str] = []
    for t in q.terms:
        if t.endswith("*") and len(t) > 1:
            raise UsageError(
                f"prefix search {t!r} is not available: the index keeps keyed digests of whole "
                f"words (masked at rest); search the whole word, e.g. {t[:-1]!r}"
            )
        parts.append(_blind_phrase(c, t))
    parts.extend(_blind_phrase(c, p) for p in q.phrases)
    parts.extend("url : " + _blind_phrase(c, u) for u in q.urls)
    return " AND ".join(parts) if parts else None


def _blind_phrase(c: IndexCipher, text: str) -> str:
    ws = words(text)
    if not ws:
        raise UsageError(f"{text!r} has no word to search for (letters or digits)")
    return '"' + " ".join(c.blind_word(w) for w in ws) + '"'


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


def _token_sql(c: IndexCipher, q: Query, args: list[Any]) -> str | None:
    """An ``e.id IN (...)`` clause for token:/field:token items (ORed), tokens blinded."""
    parts: list[str] = []
    for t in q.tokens:
        parts.append("token = ?")
        args.append(c.blind_token(t))
    for fld, t in q.field_tokens:
        w = norm_field(fld)
        parts.append("(token = ? AND (field = ? OR '_' || field || '_' LIKE ? ESCAPE '\\'))")
        args.extend([c.blind_token(t), w, "%\\_" + w.replace("_", "\\_") + "\\_%"])
    if not parts:
        return None
    return "e.id IN (SELECT event_id FROM tokens WHERE " + " OR ".join(parts) + ")"


def host_kind_time_conds(ix: SqliteIndex, q: Query, conds: list[str], args: list[Any]) -> None:
    """Conditions on ``events e`` for ``host:``, ``kind:`` and ``from:``/``to:``."""
    if q.hosts:
        hosts = sorted({h for pat in q.hosts for h in ix.known_hosts(pat)}) or ["-none-"]
        conds.append(f"e.host IN ({', '.join('?' * len(hosts))})")
        args.extend(hosts)
    if q.kinds:
        acts = actions_for(q.kinds)
        conds.append(f"e.action IN ({', '.join('?' * len(acts))})")
        args.extend(acts)
    _time_conds(q, conds, args)


def plan_search(
    ix: SqliteIndex, q: Query, limit: int
) -> tuple[str, list[Any], list[tuple[str, ...]] | None]:
    """(SQL, args, phrases to highlight) for a query; phrases None for session hits."""
    limit = max(1, int(limit))
    if not q.has_event_filters:
        return _plan_sessions(q, limit)
    conds: list[str] = []
    args: list[Any] = []
    fts = blind_fts_expr(ix.cipher, q)
    ranges = _segment_ranges(ix, q) if fts is not None else None
    if fts is not None and ranges is None:
        conds.append("events_fts MATCH ?")
        args.append(fts)
    tok = _token_sql(ix.cipher, q, args)
    if tok:
        conds.append(tok)
    host_kind_time_conds(ix, q, conds, args)
    _session_conds(q, conds, args)
    where = " AND ".join(conds) or "1"
    if fts is not None and ranges is not None:
        if not ranges:
            ranges = [(0, -1)]
        parts = " UNION ALL ".join(
            "SELECT rowid AS id FROM events_fts WHERE events_fts MATCH ? AND rowid BETWEEN ? AND ?"
            for _ in ranges
        )
        sql = (
            f"SELECT {_HIT} FROM ({parts}) m JOIN events e ON e.id = m.id "
            f"JOIN sessions s ON s.sid = e.sid WHERE {where} ORDER BY e.id DESC LIMIT ?"
        )
        args = [x for lo, hi in ranges for x in (fts, lo, hi)] + args
    elif fts is not None:
        sql = (
            f"SELECT {_HIT} FROM events_fts JOIN events e ON e.id = events_fts.rowid "
            f"JOIN sessions s ON s.sid = e.sid WHERE {where} "
            "ORDER BY events_fts.rowid DESC LIMIT ?"
        )
    else:
        sql = (
            f"SELECT {_HIT} FROM events e "
            f"JOIN sessions s ON s.sid = e.sid WHERE {where} ORDER BY e.id DESC LIMIT ?"
        )
    args.append(limit)
    return sql, args, query_phrases(q) if fts is not None else []


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


def _plan_sessions(q: Query, limit: int) -> tuple[str, list[Any], None]:
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
        "COALESCE(e.action, 'session'), COALESCE(e.host, ''), e.id, e.sealed"
    )
    sql = (
        f"SELECT {cols}, {snippet} FROM sessions s LEFT JOIN events e ON e.id = {first} "
        f"WHERE {where} ORDER BY s.start_ns DESC LIMIT ?"
    )
    return sql, [*inner_args, *args, limit], None


__all__ = ["field_match", "plan_search"]
