"""Rows of the PostgreSQL blind index: what is written for an event, and the text queries.

The same at-rest property as the SQLite index (:mod:`agent.index.cipher`): an event row keeps
in clear only what filters need; its path, URL, label, selector, target and text travel as
one AES-GCM blob bound to the row id, and its words reach the server only as keyed digests.

The ``fts`` tsvector is built here, not by ``to_tsvector``: the URL's word digests take
positions 1.. with weight A, the text's follow after a gap with the default weight D, so a
phrase never spans URL and text (as in the SQLite index, whose URL and text are two columns)
and ``url:`` matches weight A only. PostgreSQL keeps positions up to 16383 and at most 256
per lexeme: a word beyond position 16383 is still found, but a phrase there may be missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.errors import UsageError
from agent.index.cipher import IndexCipher, words
from agent.index.query import Query
from agent.index.rows import Row
from agent.index.sqlrows import event_aad

MAX_POS = 16383
MAX_POSITIONS = 256
HOUR_NS = 3_600 * 1_000_000_000
EVENT_COLUMNS = (
    "id",
    "sid",
    "seq",
    "t_ns",
    "kind",
    "action",
    "page",
    "host",
    "method",
    "status",
    "sealed",
    "fts",
)


def tsvector(c: IndexCipher, url: str, text: str) -> str:
    """The ``fts`` value (tsvector text form) of an event's URL and text."""
    pos: dict[str, list[str]] = {}

    def blind(w: str) -> str:
        return digest(c, w)

    url_words = words(url)[: MAX_POS // 2]
    for n, w in enumerate(url_words, start=1):
        pos.setdefault(blind(w), []).append(f"{n}A")
    first = len(url_words) + 2  # a gap: no phrase spans the URL and the text
    text_words = words(text)
    for n, w in enumerate(text_words[: MAX_POS - first + 1], start=first):
        pos.setdefault(blind(w), []).append(str(n))
    for w in text_words[MAX_POS - first + 1 :]:
        got = pos.setdefault(blind(w), [])
        if not got or got[-1] != str(MAX_POS):
            got.append(str(MAX_POS))  # PostgreSQL's last position: still found as a word
    return " ".join(f"'{d}':{','.join(p[:MAX_POSITIONS])}" for d, p in pos.items())


def digest(c: IndexCipher, word: str) -> str:
    """A folded word's stored form: its keyed digest without base32 padding."""
    return c.blind_word(word).rstrip("=")


def event_rows(
    c: IndexCipher, sid: int, ids: Sequence[int], rows: Sequence[Row]
) -> tuple[list[tuple[Any, ...]], list[tuple[str, str, int, int, int]], set[str]]:
    """(events, blinded tokens, hosts) of a segment's rows, ids given."""
    ev: list[tuple[Any, ...]] = []
    toks: list[tuple[str, str, int, int, int]] = []
    hosts: set[str] = set()
    for eid, r in zip(ids, rows, strict=True):
        blob = c.seal([r.path, r.url, r.label, r.selector, r.target, r.text], event_aad(eid))
        fts = tsvector(c, r.url, r.text)
        ev.append(
            (eid, sid, r.seq, r.t_ns, r.kind, r.action, r.page, r.host, r.method, r.status)
            + (blob, fts)
        )
        toks.extend((c.blind_token(t), f, eid, r.t_ns, sid) for t, f in set(r.tokens))
        if r.host:
            hosts.add(r.host)
    return ev, toks, hosts


def facet_rows(sid: int, rows: Sequence[Row]) -> list[tuple[int, int, str, str, int]]:
    """(session, UTC hour, host, action, events) roll-up rows of a segment."""
    counts: dict[tuple[int, str, str], int] = {}
    for r in rows:
        k = (r.t_ns // HOUR_NS, r.host, r.action)
        counts[k] = counts.get(k, 0) + 1
    return [(sid, h, host, act, n) for (h, host, act), n in sorted(counts.items())]


def blind_tsquery(c: IndexCipher, q: Query) -> str | None:
    """The tsquery (text form) over word digests for the query's text part, or None.

    Words of a term or phrase must follow each other (``<->``); terms are ANDed; ``url:``
    items match URL words only (weight A). A prefix (``acc*``) cannot be matched: the index
    keeps digests of whole words.
    """
    parts: list[str] = []
    for t in q.terms:
        if t.endswith("*") and len(t) > 1:
            raise UsageError(
                f"prefix search {t!r} is not available: the index keeps keyed digests of whole "
                f"words (masked at rest); search the whole word, e.g. {t[:-1]!r}"
            )
        parts.append(_phrase(c, t, ""))
    parts.extend(_phrase(c, p, "") for p in q.phrases)
    parts.extend(_phrase(c, u, ":A") for u in q.urls)
    return " & ".join(parts) if parts else None


def _phrase(c: IndexCipher, text: str, weight: str) -> str:
    ws = words(text)
    if not ws:
        raise UsageError(f"{text!r} has no word to search for (letters or digits)")
    inner = " <-> ".join(f"'{digest(c, w)}'{weight}" for w in ws)
    return f"({inner})" if len(ws) > 1 else inner
