"""Rows of the SQLite blind index: what is written for an event, read back as a hit.

An event row keeps in clear only what filters need (session, seq, time, kind, action, page,
host, method, status); its path, URL, label, selector, target and text travel as one sealed
blob bound to the row id (:meth:`~agent.index.cipher.IndexCipher.seal`), and its text and URL
reach the full-text table only as keyed word digests.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from agent.index.base import Hit, SegmentRecord, SessionMeta
from agent.index.cipher import IndexCipher
from agent.index.highlight import snippet
from agent.index.rows import Row

EVENT_INSERT = (
    "INSERT INTO events (id, sid, seq, t_ns, kind, action, page, host, method, status, sealed) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
FTS_INSERT = "INSERT INTO events_fts (rowid, text, url) VALUES (?, ?, ?)"
FTS_DELETE = "INSERT INTO events_fts (events_fts, rowid, text, url) VALUES ('delete', ?, ?, ?)"
# Sealed fields of an event, in blob order.
SEALED = ("path", "url", "label", "selector", "target", "text")


def event_aad(eid: int) -> str:
    """What an event's sealed blob is bound to: its row id."""
    return f"event:{eid}"


def facts_aad(session_id: str) -> str:
    """What a session's sealed URLs and titles are bound to."""
    return f"session:{session_id}:facts"


def event_rows(
    c: IndexCipher, sid: int, first: int, rows: Sequence[Row]
) -> tuple[list[tuple[Any, ...]], list[tuple[int, str, str]], list[tuple[str, int, str]], set[str]]:
    """(events, FTS entries, blinded tokens, hosts) of a segment's rows, ids from ``first``."""
    ev: list[tuple[Any, ...]] = []
    fts: list[tuple[int, str, str]] = []
    toks: list[tuple[str, int, str]] = []
    hosts: set[str] = set()
    for eid, r in enumerate(rows, start=first):
        blob = c.seal([r.path, r.url, r.label, r.selector, r.target, r.text], event_aad(eid))
        ev.append((eid, sid, r.seq, r.t_ns, r.kind, r.action, r.page, r.host, r.method, r.status))
        ev[-1] += (blob,)
        fts.append((eid, c.blind_text(r.text), c.blind_text(r.url)))
        toks.extend((c.blind_token(t), eid, f) for t, f in set(r.tokens))
        if r.host:
            hosts.add(r.host)
    return ev, fts, toks, hosts


def fts_entry(c: IndexCipher, eid: int, blob: bytes) -> tuple[int, str, str]:
    """The FTS values an event was indexed with (a contentless table needs them to delete)."""
    fields = dict(zip(SEALED, c.open(blob, event_aad(eid)), strict=True))
    return eid, c.blind_text(fields["text"]), c.blind_text(fields["url"])


def segment_fields(seg: SegmentRecord, sid: int) -> dict[str, Any]:
    """The ``segments`` columns a record fills, indexed or failed alike."""
    return {
        "seal_hash": seg.seal_hash,
        "segment_id": seg.segment_id,
        "sid": sid,
        "idx": seg.index,
        "events": seg.events,
        "t_first_ns": seg.t_first_ns,
        "t_last_ns": seg.t_last_ns,
        "source": seg.source,
    }


def hit(
    c: IndexCipher, r: sqlite3.Row | tuple[Any, ...], phrases: list[tuple[str, ...]] | None
) -> Hit:
    """A result row as a :class:`Hit`, its sealed fields opened.

    ``phrases`` None: the row's last column is the snippet (a session hit); else the snippet
    is cut from the decrypted text around those phrases (an empty list: the text's start).
    """
    (session_id, user, ws, start_ns, seq, t_ns, kind, action, host, eid, sealed, given) = r
    fields = dict.fromkeys(SEALED, "")
    if eid is not None and sealed is not None:
        fields.update(zip(SEALED, c.open(sealed, event_aad(int(eid))), strict=True))
    if phrases is None:
        text = str(given or "")
    else:
        text = snippet(fields["text"], phrases) if phrases else fields["text"][:200]
    return Hit(
        session_id=session_id,
        seq=int(seq),
        t_utc_ns=int(t_ns),
        kind=kind,
        action=action,
        snippet=" ".join(text.split())[:300],
        user=user,
        workstation=ws,
        host=host or "",
        url=fields["url"],
        selector=fields["selector"],
        target=fields["target"],
        label=fields["label"],
        session_start_ns=int(start_ns),
    )


def open_facts(c: IndexCipher, session_id: str, blob: bytes | None) -> tuple[list[str], list[str]]:
    """A session's (URLs, titles) from its sealed ``facts`` column."""
    vals = c.open(blob, facts_aad(session_id))
    if not vals:
        return [], []
    return list(json.loads(vals[0])), list(json.loads(vals[1]))


def seal_facts(c: IndexCipher, session_id: str, urls: list[str], titles: list[str]) -> bytes:
    """A session's URLs and titles, sealed."""
    return c.seal([json.dumps(urls), json.dumps(titles)], facts_aad(session_id))


def meta(c: IndexCipher, d: dict[str, Any]) -> SessionMeta:
    """A ``sessions`` row as :class:`SessionMeta` (URLs and titles opened)."""
    urls, titles = open_facts(c, d["session_id"], d["facts"])
    return SessionMeta(
        session_id=d["session_id"],
        user=d["user"],
        workstation=d["workstation"],
        agent_id=d["agent_id"],
        record_class=d["record_class"],
        start_ns=d["start_ns"],
        end_ns=d["end_ns"],
        retain_until=d["retain_until"],
        held=bool(d["held"]),
        shipped=bool(d["shipped"]),
        verified=d["verified"],
        source=d["source"],
        urls=urls,
        titles=titles,
        hosts=json.loads(d["hosts"]),
    )
