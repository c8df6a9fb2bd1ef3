"""Which sessions of a day go to supervisory review, and why: reproducible by an examiner.

**The sampling rule** (version ``sample-v1``). Sessions belong to the calendar day (in
``console.review.timezone``) on which they started, and to their recorded user (the trader).
For each session::

    message = "sessiontape-review-sample-v1" LF day LF trader LF session_id   (UTF-8, LF = 0x0a)
    score   = first 8 bytes, big-endian, of HMAC-SHA256(sampling key, message)
    picked  <=>  score * 10000 < round(sample_percent * 100) * 2**64

so each session is picked with probability ``sample_percent`` %, independently of the others
and of the order in which sessions are seen. Floor: when ``sample_percent`` > 0 and none of a
trader's sessions of the day is picked, and that trader-day has no sampled item yet, the
session with the lowest score (ties: the smaller session id) is picked. The key is a per-firm
secret (32 random bytes, 0600 in the firm home) so that a trader cannot predict which sessions
will be read; its fingerprint is recorded with each run, and each picked session records its
score, so anyone holding the key re-derives every pick from the run's list of sessions.

**The lexicon.** Every session of the day with at least one hit for a lexicon entry is queued:
``lexicon_terms`` are searched as phrases, ``lexicon_urls`` as the search ``url:`` operator
matches, ``lexicon_applications`` as ``host:`` (the host and its subdomains), all through the
:class:`~agent.index.base.SearchIndex` query API, so any backend gives the same answers. Each
match records the entry and one hit (session, seq: the earliest the search returned) where the
reviewer's replay opens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agent.canonical import sha256_hex
from agent.clock import dt_to_ns
from agent.console.review_config import ReviewConfig
from agent.console.review_schema import Reason
from agent.index.base import Hit, SearchIndex, SessionMeta
from agent.index.query import Query
from agent.mask.tokens import load_or_create_secret

SAMPLE_RULE = "sample-v1"
_PREFIX = b"sessiontape-review-sample-v1"
_BATCH = 50  # sessions per lexicon search
_SKIPPED_CLASSES = ("audit",)  # the console's own access audit is not a trader's activity
UNKNOWN_TRADER = "(unknown)"


def load_or_create_sampling_key(path: Path) -> bytes:
    """The firm's sampling key at ``path`` (created, 32 random bytes, 0600, if absent); a key
    file the group or others could read is refused."""
    return load_or_create_secret(path, "review sampling key")


def key_fingerprint(key: bytes) -> str:
    """What a run records to name the key it used (never the key)."""
    return "sha256:" + sha256_hex(key)[:16]


def sample_score(key: bytes, day: str, trader: str, session_id: str) -> int:
    """The session's 64-bit sampling score under ``key``."""
    msg = b"\n".join([_PREFIX, day.encode(), trader.encode(), session_id.encode()])
    return int.from_bytes(hmac.new(key, msg, hashlib.sha256).digest()[:8], "big")


def is_picked(score: int, sample_percent: float) -> bool:
    """True when ``score`` falls below the ``sample_percent`` threshold."""
    return score * 10_000 < round(sample_percent * 100) * 2**64


def day_bounds(day: dt.date, config: ReviewConfig) -> tuple[int, int]:
    """UTC ns of the start of ``day`` and of the next day, in the review time zone."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=config.zone())
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=config.zone())
    return dt_to_ns(start), dt_to_ns(end)


def trader_of(meta: SessionMeta) -> str:
    return meta.user or UNKNOWN_TRADER


@dataclass
class DayPlan:
    """A sampling run's inputs and picks: ``considered`` (trader → session ids, sorted) is
    what the run record keeps so the picks can be derived again."""

    day: str
    considered: dict[str, list[str]]
    traders: dict[str, str] = field(default_factory=dict)  # session id -> trader
    reasons: dict[str, list[Reason]] = field(default_factory=dict)  # session id -> why

    def add(self, session_id: str, reason: Reason) -> None:
        self.reasons.setdefault(session_id, []).append(reason)


def day_sessions(index: SearchIndex, day: dt.date, config: ReviewConfig) -> list[SessionMeta]:
    """The recorded sessions that started on ``day`` (review time zone)."""
    lo, hi = day_bounds(day, config)
    return [
        m
        for m in index.sessions()
        if lo <= m.start_ns < hi and m.record_class not in _SKIPPED_CLASSES
    ]


def plan_day(
    index: SearchIndex,
    day: dt.date,
    config: ReviewConfig,
    key: bytes,
    *,
    sampled_traders: Iterable[str] = (),
) -> DayPlan:
    """The sessions of ``day`` to queue and why. ``sampled_traders``: traders that already
    have a sampled item that day (the floor is then met)."""
    sessions = day_sessions(index, day, config)
    plan = DayPlan(day=day.isoformat(), considered={})
    for m in sessions:
        plan.considered.setdefault(trader_of(m), []).append(m.session_id)
        plan.traders[m.session_id] = trader_of(m)
    for ids in plan.considered.values():
        ids.sort()
    _sample(plan, config.sample_percent, key, set(sampled_traders))
    _lexicon(plan, index, config)
    return plan


def _sample(plan: DayPlan, percent: float, key: bytes, already: set[str]) -> None:
    if percent <= 0:
        return
    for trader, ids in sorted(plan.considered.items()):
        scored = sorted((sample_score(key, plan.day, trader, s), s) for s in ids)
        picked = [(sc, s) for sc, s in scored if is_picked(sc, percent)]
        for sc, s in picked:
            plan.add(s, Reason("sample", SAMPLE_RULE, f"score {sc:016x} < {percent}%"))
        if not picked and trader not in already and scored:
            sc, s = scored[0]
            detail = f"floor: lowest score {sc:016x} of {len(ids)} session(s), none < {percent}%"
            plan.add(s, Reason("sample", SAMPLE_RULE, detail))


def _lexicon(plan: DayPlan, index: SearchIndex, config: ReviewConfig) -> None:
    ids = sorted(plan.traders)
    entries: list[tuple[str, str, Query]] = []
    entries += [("term", t, Query(raw=f'"{t}"', phrases=(t,))) for t in config.lexicon_terms]
    entries += [("url", u, Query(raw=f'url:"{u}"', urls=(u,))) for u in config.lexicon_urls]
    entries += [
        ("application", a, Query(raw=f"host:{a}", hosts=(a.lower(),)))
        for a in config.lexicon_applications
    ]
    for reason, value, query in entries:
        for sid, hit in sorted(_first_hits(index, query, ids, config.lexicon_max_hits).items()):
            detail = f"{reason} {value!r} matched at seq {hit.seq}"
            plan.add(sid, Reason(reason, value, detail, hit.session_id, hit.seq))


def _first_hits(
    index: SearchIndex, query: Query, session_ids: Sequence[str], limit: int
) -> dict[str, Hit]:
    """Per session of ``session_ids``, the earliest hit of ``query`` the searches returned.
    A batch whose search hit ``limit`` is searched again session by session, so a session
    crowded out by another's many hits is still found."""
    found: dict[str, Hit] = {}
    for i in range(0, len(session_ids), _BATCH):
        batch = session_ids[i : i + _BATCH]
        hits = _in_sessions(index, query, batch, limit)
        _keep_earliest(found, hits, batch)
        if len(hits) >= limit:
            for sid in batch:
                if sid not in found:
                    _keep_earliest(found, _in_sessions(index, query, [sid], limit), [sid])
    return found


def _in_sessions(index: SearchIndex, query: Query, ids: Sequence[str], limit: int) -> list[Hit]:
    q = Query(
        raw=query.raw,
        phrases=query.phrases,
        urls=query.urls,
        hosts=query.hosts,
        sessions=tuple(ids),
    )
    return index.search(q, limit)


def _keep_earliest(found: dict[str, Hit], hits: Iterable[Hit], batch: Sequence[str]) -> None:
    wanted = set(batch)  # session: filters match by prefix; keep exact ids only
    for h in hits:
        if h.session_id in wanted:
            best = found.get(h.session_id)
            if best is None or h.seq < best.seq:
                found[h.session_id] = h
