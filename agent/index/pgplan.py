"""Turning a parsed :class:`~agent.index.query.Query` into one PostgreSQL statement.

Two shapes, as in the SQLite plans:

* **event hits** (text, ``url:``, ``token:``, ``host:``, ``kind:``): ``events`` joined to
  ``sessions``, newest first (``ORDER BY t_ns DESC, id DESC LIMIT n``). The planner picks
  between the GIN index on ``fts`` (a rare word), a backward scan of the ``(t_ns, id)``
  primary key that stops after ``n`` hits (a common word), the token primary key, or the
  ``(host, t_ns)`` / ``(action, t_ns)`` B-trees; a ``from:``/``to:`` bound prunes the
  monthly partitions outside it at plan time. ``user:``/``session:`` filters are resolved to
  the selected session ids first (a few hundred at most), so the text match runs as a bitmap
  AND of the GIN index and ``(sid, seq)``, and a ``kind:`` filter probes ``(sid, action,
  t_ns)`` per session, instead of walking everyone's events newest first until enough of
  the selected sessions' turn up.
* **session hits** (``user:``, ``session:``, ``held:``, ``from:``/``to:`` only): one hit per
  session, at its first indexed event inside the time range (a LATERAL probe of
  ``(sid, seq)``), newest session first.

Values are always bound parameters; identifiers and operators are constants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.index.extract import actions_for, norm_field
from agent.index.highlight import query_phrases
from agent.index.pgrows import blind_tsquery
from agent.index.query import Query

if TYPE_CHECKING:
    from agent.index.cipher import IndexCipher
    from agent.index.pgconn import Connection

HIT = (
    's.session_id, s."user", s.workstation, s.start_ns, e.seq, e.t_ns, e.kind, e.action, '
    "e.host, e.id, e.sealed, NULL"
)
MAX_SESSIONS = 500  # user:/session: selections larger than this join instead of listing ids


def like_prefix(s: str) -> str:
    """``s`` as a LIKE prefix pattern (its wildcards escaped; backslash is the escape)."""
    return escape_like(s) + "%"


def escape_like(s: str) -> str:
    """``s`` with LIKE's wildcards and escape character escaped."""
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def session_conds(q: Query, conds: list[str], args: list[Any]) -> None:
    """Conditions on ``sessions s`` for ``user:``, ``session:``, ``held:`` and the time span."""
    if q.users:
        parts = []
        for u in q.users:
            if u.endswith("*"):
                parts.append('lower(s."user") LIKE lower(%s)')
                args.append(like_prefix(u[:-1]))
            else:
                parts.append('lower(s."user") = lower(%s)')
                args.append(u)
        conds.append("(" + " OR ".join(parts) + ")")
    if q.sessions:
        conds.append("(" + " OR ".join("s.session_id LIKE %s" for _ in q.sessions) + ")")
        args.extend(like_prefix(s) for s in q.sessions)
    if q.held is not None:
        conds.append("s.held = %s")
        args.append(q.held)
    time_conds(q, conds, args, start="s.start_ns", end="s.end_ns")


def time_conds(
    q: Query, conds: list[str], args: list[Any], *, start: str = "e.t_ns", end: str = "e.t_ns"
) -> None:
    """Keep rows whose span ``start``..``end`` (one instant by default) meets the query's."""
    if q.t_from is not None:
        conds.append(f"{end} >= %s")
        args.append(q.t_from)
    if q.t_to is not None:
        conds.append(f"{start} <= %s")
        args.append(q.t_to)


def token_cond(c: IndexCipher, q: Query, args: list[Any]) -> str | None:
    """A ``(e.t_ns, e.id) IN (...)`` condition for token:/field:token items (ORed)."""
    parts: list[str] = []
    for t in q.tokens:
        parts.append("token = %s")
        args.append(c.blind_token(t))
    for fld, t in q.field_tokens:
        w = norm_field(fld)
        parts.append("(token = %s AND (field = %s OR '_' || field || '_' LIKE %s))")
        args.extend([c.blind_token(t), w, "%\\_" + w.replace("_", "\\_") + "\\_%"])
    if not parts:
        return None
    return "(e.t_ns, e.id) IN (SELECT t_ns, event_id FROM tokens WHERE " + " OR ".join(parts) + ")"


def known_hosts(con: Connection, patterns: tuple[str, ...]) -> list[str]:
    """Hosts equal to one of ``patterns`` or a subdomain of it (trigram-indexed LIKE)."""
    found: set[str] = set()
    for p in patterns:
        rows = con.execute(
            "SELECT host FROM hosts WHERE host = %s OR host LIKE %s", (p, "%." + escape_like(p))
        ).fetchall()
        found.update(str(r[0]) for r in rows)
    return sorted(found)


def selected_sids(con: Connection, q: Query) -> list[int] | None:
    """Ids of the sessions ``user:``/``session:``/``held:`` select (None: no such filter, or
    more than :data:`MAX_SESSIONS`)."""
    if not (q.users or q.sessions):
        return None
    conds: list[str] = []
    args: list[Any] = []
    session_conds(q, conds, args)
    rows = con.execute(
        f"SELECT s.sid FROM sessions s WHERE {' AND '.join(conds)} LIMIT {MAX_SESSIONS + 1}",
        args,
    ).fetchall()
    if len(rows) > MAX_SESSIONS:
        return None
    return [int(r[0]) for r in rows]


def event_where(con: Connection, c: IndexCipher, q: Query) -> tuple[str, list[Any], bool]:
    """(WHERE clause over ``events e`` joined to ``sessions s``, its args, has text)."""
    where, args, text, _ = _event_conds(con, c, q)
    return where, args, text


def _event_conds(con: Connection, c: IndexCipher, q: Query) -> tuple[str, list[Any], bool, bool]:
    """(WHERE clause, args, has text, needs ``sessions s``)."""
    conds: list[str] = []
    args: list[Any] = []
    tsq = blind_tsquery(c, q)
    if tsq is not None:
        conds.append("e.fts @@ %s::tsquery")
        args.append(tsq)
    tok = token_cond(c, q, args)
    if tok:
        conds.append(tok)
    if q.hosts:
        conds.append("e.host = ANY(%s)")
        args.append(known_hosts(con, q.hosts))
    if q.kinds:
        conds.append("e.action = ANY(%s)")
        args.append(list(actions_for(q.kinds)))
    time_conds(q, conds, args)
    sids = selected_sids(con, q)
    if sids is not None:
        # the session conditions are in the ids already: repeating them on the join made
        # the planner scan ``sessions`` for them instead of probing it by id
        conds.append("e.sid = ANY(%s)")
        args.append(sids)
    n = len(conds)
    if sids is None:
        session_conds(q, conds, args)
    return " AND ".join(conds) or "true", args, tsq is not None, len(conds) > n


def plan_search(
    con: Connection, c: IndexCipher, q: Query, limit: int
) -> tuple[str, list[Any], list[tuple[str, ...]] | None]:
    """(SQL, args, phrases to highlight) for a query; phrases None for session hits.

    Without conditions on the session, the newest ``limit`` events are chosen first and only
    they are joined to their sessions (otherwise the planner may hash all of ``sessions``).
    """
    limit = max(1, int(limit))
    if not q.has_event_filters:
        return plan_sessions(q, limit)
    per_session = _per_session(con, q, limit)
    if per_session is not None:
        return per_session
    where, args, text, joined = _event_conds(con, c, q)
    order = "ORDER BY e.t_ns DESC, e.id DESC"
    if joined:
        sql = (
            f"SELECT {HIT} FROM events e JOIN sessions s ON s.sid = e.sid "
            f"WHERE {where} {order} LIMIT %s"
        )
    else:
        sql = (
            f"SELECT {HIT} FROM (SELECT * FROM events e WHERE {where} {order} LIMIT %s) e "
            f"JOIN sessions s ON s.sid = e.sid {order}"
        )
    return sql, [*args, limit], query_phrases(q) if text else []


def _per_session(con: Connection, q: Query, limit: int) -> tuple[str, list[Any], list[Any]] | None:
    """``kind:`` within the sessions ``user:``/``session:`` select (no text, no token): the
    newest ``limit`` events of each (session, action) from the ``(sid, action, t_ns)`` index,
    then the newest ``limit`` of those. Walking everyone's events newest first until enough
    of the selected sessions' turn up (what the planner picks for a LIMIT) took 130 ms at 100k
    sessions for a user whose sessions were sparse among the newest."""
    if not q.kinds or q.has_text or q.tokens or q.field_tokens or q.values:
        return None
    sids = selected_sids(con, q)
    if sids is None:
        return None
    conds = ["e.sid = u.sid", "e.action = a.action"]
    args: list[Any] = [sids, list(actions_for(q.kinds))]
    if q.hosts:
        conds.append("e.host = ANY(%s)")
        args.append(known_hosts(con, q.hosts))
    time_conds(q, conds, args)
    order = "ORDER BY e.t_ns DESC, e.id DESC"
    sql = (
        f"SELECT {HIT} FROM (SELECT e.* FROM unnest(%s::bigint[]) AS u(sid) "
        "CROSS JOIN unnest(%s::text[]) AS a(action) CROSS JOIN LATERAL "
        f"(SELECT * FROM events e WHERE {' AND '.join(conds)} {order} LIMIT %s) e "
        f"{order} LIMIT %s) e JOIN sessions s ON s.sid = e.sid {order}"
    )
    return sql, [*args, limit, limit], []


def plan_sessions(q: Query, limit: int) -> tuple[str, list[Any], None]:
    """Session hits: each at its first event inside the time range, newest session first."""
    conds: list[str] = []
    args: list[Any] = []
    session_conds(q, conds, args)
    inner: list[str] = ["e.sid = s.sid"]
    inner_args: list[Any] = []
    time_conds(q, inner, inner_args)
    snippet = (
        "'session of ' || s.\"user\" || ' on ' || s.workstation || ' (' || "
        "(s.duration_ms / 1000) || ' s, ' || s.verified || "
        "CASE WHEN s.held THEN ', held' ELSE '' END || ')'"
    )
    cols = (
        's.session_id, s."user", s.workstation, s.start_ns, COALESCE(e.seq, 0), '
        "COALESCE(e.t_ns, s.start_ns), COALESCE(e.kind, 'session.start'), "
        "COALESCE(e.action, 'session'), COALESCE(e.host, ''), e.id, e.sealed"
    )
    first = (
        "SELECT e.seq, e.t_ns, e.kind, e.action, e.host, e.id, e.sealed FROM events e "
        f"WHERE {' AND '.join(inner)} ORDER BY e.seq LIMIT 1"
    )
    sql = (
        f"SELECT {cols}, {snippet} FROM sessions s LEFT JOIN LATERAL ({first}) e ON true "
        f"WHERE {' AND '.join(conds) or 'true'} ORDER BY s.start_ns DESC, s.session_id DESC "
        "LIMIT %s"
    )
    return sql, [*inner_args, *args, limit], None
