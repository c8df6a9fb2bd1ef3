"""The audited search call: parse, search, write ``audit.search``, return the hits.

This is what ``sessiontape search`` (and the viewer, later) calls; nothing else should query
the index for a person, so every search reaches the access audit (FINRA 3110(b)(4) asks for
evidence of supervisory review; examiners ask for an access log of who looked at what).

``value:"ACCT-4417-2290"`` items are resolved here, never by a backend: each value is turned
into the token(s) masking gives it (:func:`agent.mask.lookup.lookup_tokens`, one
``audit.token`` record per value, as ``sessiontape token`` writes) and searched as
``token:``. A value no value pattern recognises may be recorded in clear (the default for
typed values) or tokenized by a field rule, so both are searched and the hits merged. The
``audit.search`` record holds the query with each value replaced by its tokens.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

from agent.audit import record_access
from agent.clock import Clock
from agent.config import Config
from agent.errors import UsageError
from agent.index.backend import open_index
from agent.index.base import Hit
from agent.index.query import Query, hide_values, parse

# value: items that may be in clear or tokenized each double the searches: bound them.
MAX_OPEN_VALUES = 4


def search(
    home: Path,
    config: Config,
    query: str,
    *,
    limit: int | None = None,
    note: str | None = None,
    clock: Clock | None = None,
) -> list[Hit]:
    """Hits for ``query`` (newest first); one ``audit.search`` record per call.

    The audit record (the OS account as actor, ``note`` beside it, query, result count) is
    sealed before the hits are returned; if it cannot be written the search fails rather
    than go unrecorded.
    """
    q = parse(query)
    n = int(limit if limit is not None else config.index.default_limit)
    shown: dict[str, str] = {}
    variants = [q]
    if q.values:
        variants = _resolve_values(home, config, q, shown, note=note, clock=clock)
    ix = open_index(home, config, readonly=True)
    try:
        hits = _merged([ix.search(v, n) for v in variants], n)
    finally:
        ix.close()
    record_access(
        home,
        config,
        "audit.search",
        {
            "query": _shown_query(query, shown),
            "result_count": len(hits),
            "limit": n,
        },
        note=note,
        clock=clock,
    )
    return hits


def _shown_query(query: str, shown: dict[str, str]) -> str:
    return hide_values(query, lambda v: shown.get(v.strip(), "(value)"))


def query_as_recorded(home: Path, config: Config, query: str) -> str:
    """``query`` as a record may hold it: each ``value:`` item replaced by its tokens, as the
    ``audit.search`` record of the search that ran it shows (computed again, not audited
    again: the search that used the query was)."""
    if "value:" not in query.lower():
        return query
    from agent.mask.lookup import load_lookup, token_answers

    rules, tokenizer = load_lookup(config.mask, home)
    shown: dict[str, str] = {}
    for value in parse(query).values:
        found = [a.token for a in token_answers(rules, tokenizer, value) if a.token]
        shown[value.strip()] = "(" + ("|".join(t for t in found if t) or "no token") + ")"
    return _shown_query(query, shown)


def _merged(results: list[list[Hit]], n: int) -> list[Hit]:
    """Hits of several searches: each event once, newest first, at most ``n``."""
    if len(results) == 1:
        return results[0]
    seen: dict[tuple[str, int], Hit] = {}
    for hits in results:
        for h in hits:
            seen.setdefault((h.session_id, h.seq), h)
    return sorted(seen.values(), key=lambda h: (-h.t_utc_ns, h.session_id, -h.seq))[:n]


def _resolve_values(
    home: Path,
    config: Config,
    q: Query,
    shown: dict[str, str],
    *,
    note: str | None,
    clock: Clock | None,
) -> list[Query]:
    """The queries to run for ``q``'s ``value:`` items (audited lookups); fills ``shown``
    with what the audit record says instead of each value."""
    from agent.mask.lookup import AUDIT_KIND, load_lookup, lookup_tokens, pattern_decides

    rules, tokenizer = load_lookup(config.mask, home)

    def audit(rec: dict[str, Any]) -> None:
        record_access(home, config, AUDIT_KIND, rec, note=note, clock=clock)

    tokens: list[str] = list(q.tokens)
    open_values: list[tuple[str, list[str]]] = []  # (value, its tokens): token or phrase
    for value in q.values:
        answers = lookup_tokens(rules, tokenizer, value, audit=audit, via="search")
        found = [a.token for a in answers if a.token is not None]
        shown[value.strip()] = "(" + ("|".join(found) or "no token") + ")"
        if pattern_decides(rules, value):
            if not found:
                raise UsageError(f"value:{value!r} cannot be searched: {answers[0].line()}")
            tokens.extend(found)
        else:
            open_values.append((value, found))
    if len(open_values) > MAX_OPEN_VALUES:
        raise UsageError(f"give at most {MAX_OPEN_VALUES} value: items no pattern recognises")
    base = dataclasses.replace(q, values=(), tokens=tuple(tokens))
    variants: list[Query] = []
    for choice in itertools.product((True, False), repeat=len(open_values)):
        toks, phrases = list(base.tokens), list(base.phrases)
        for as_token, (value, found) in zip(choice, open_values, strict=True):
            if as_token and not found:
                break
            if as_token:
                toks.extend(found)
            else:
                phrases.append(value.strip())
        else:
            variants.append(dataclasses.replace(base, tokens=tuple(toks), phrases=tuple(phrases)))
    return variants
