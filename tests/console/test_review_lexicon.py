"""Lexicon matches found through a real SQLite search index built from real sealed sessions:
each match is queued with the entry that matched and the hit (session, seq) to open."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from agent.config import Config
from agent.console.review import ReviewQueue
from agent.console.review_config import ReviewConfig
from agent.console.review_sampling import plan_day
from agent.index.indexer import index_new_segments, open_index
from agent.journal.reader import iter_records
from agent.journal.session import SessionMeta
from agent.journal.store import find_session
from agent.keys import Keyring
from agent.rrweb import NodeType
from agent.testing import FakeClock
from tests.console.reviewkit import DAY, KEY, SYSTEM, AuditLog, console_db
from tests.index.payloads import el, full_snapshot, meta, tx
from tests.journals import EventSpec, write_scripted_session

LEXICON = ReviewConfig(
    sample_percent=0,
    lexicon_terms=["guaranteed returns", "off channel"],
    lexicon_urls=["dropbox.test"],
    lexicon_applications=["personal.test"],
)


def _session(home: Path, cfg: Config, clock: FakeClock, user: str, events: list[EventSpec]) -> str:
    meta = SessionMeta(user=user, workstation="ws-1")
    return write_scripted_session(home, cfg, clock, [events], meta=meta).session_id


def _chat(url: str, message: str) -> list[EventSpec]:
    """A page showing one chat message: navigation, meta and its keyframe."""
    body = el(2, "html", {}, el(3, "body", {}, el(4, "p", {"class": "msg"}, tx(5, message))))
    dom = {"type": NodeType.DOCUMENT, "id": 1, "childNodes": [body]}
    return [
        ("page.navigate", {"url": url, "main_frame": True}, "P"),
        ("rrweb.meta", meta(url), "F"),
        ("rrweb.full_snapshot", full_snapshot(dom), "F"),
    ]


def _seq(home: Path, sid: str, kind: str) -> int:
    keyring = Keyring.load(home)
    return next(
        r.seq
        for seg in find_session(home, sid).segments
        for r in iter_records(seg.path, keyring)
        if r.kind == kind
    )


def _day(home: Path, cfg: Config, clock: FakeClock) -> dict[str, str]:
    """Four traders' sealed sessions of one day, indexed: who did what."""
    sids = {
        "bob": _session(
            home,
            cfg,
            clock,
            "bob",
            _chat("https://chat.firm.test/", "We can offer Guaranteed returns on this one"),
        ),
        "ann": _session(
            home,
            cfg,
            clock,
            "ann",
            [
                (
                    "page.navigate",
                    {"url": "https://mail.personal.test/inbox", "main_frame": True},
                    "P",
                )
            ],
        ),
        "cy": _session(
            home,
            cfg,
            clock,
            "cy",
            [
                (
                    "page.navigate",
                    {"url": "https://www.dropbox.test/upload", "main_frame": True},
                    "P",
                )
            ],
        ),
        "dee": _session(
            home,
            cfg,
            clock,
            "dee",
            _chat("https://chat.firm.test/", "returns are never guaranteed"),
        ),
    }
    assert index_new_segments(home, cfg).ok
    return sids


def test_lexicon_terms_urls_and_applications_queue_matching_sessions_with_their_hit(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """A phrase (case-folded) in page text, a URL and an application host each queue their
    session with the entry and the event to open; words out of phrase order do not match."""
    sids = _day(home, cfg, clock)
    ix = open_index(home, cfg, readonly=True)
    try:
        plan = plan_day(ix, dt.date.fromisoformat(DAY), LEXICON, KEY)
    finally:
        ix.close()
    got = {
        plan.traders[sid]: [(r.reason, r.value, r.hit_session, r.hit_seq) for r in reasons]
        for sid, reasons in plan.reasons.items()
    }
    assert got == {
        "bob": [
            (
                "term",
                "guaranteed returns",
                sids["bob"],
                _seq(home, sids["bob"], "rrweb.full_snapshot"),
            )
        ],
        "ann": [
            ("application", "personal.test", sids["ann"], _seq(home, sids["ann"], "page.navigate"))
        ],
        "cy": [("url", "dropbox.test", sids["cy"], _seq(home, sids["cy"], "page.navigate"))],
    }


def test_lexicon_items_land_in_the_queue_once_with_the_hit_to_open(
    home: Path, cfg: Config, clock: FakeClock, tmp_path: Path
) -> None:
    """sample_day with the lexicon policy queues the three matching sessions with their
    reasons; re-running adds nothing."""
    sids = _day(home, cfg, clock)
    con = console_db(tmp_path / "console.db")
    q = ReviewQueue(con, LEXICON, AuditLog(), clock=clock)
    ix = open_index(home, cfg, readonly=True)
    try:
        run = q.sample_day(DAY, ix, KEY, SYSTEM)
        again = q.sample_day(DAY, ix, KEY, SYSTEM)
    finally:
        ix.close()
    assert (run.considered, run.items_added, again.items_added) == (4, 3, 0)
    (bob,) = [i for i in q.queue() if i.trader == "bob"]
    (reason,) = bob.reasons
    assert (reason.hit_session, reason.hit_seq) == (
        sids["bob"],
        _seq(home, sids["bob"], "rrweb.full_snapshot"),
    )
    assert reason.detail.startswith("term 'guaranteed returns' matched at seq")


def test_a_session_crowded_out_by_the_hit_limit_is_still_found(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """With one hit read per search, both sessions holding the word are still queued."""
    _day(home, cfg, clock)
    policy = ReviewConfig(sample_percent=0, lexicon_terms=["returns"], lexicon_max_hits=1)
    ix = open_index(home, cfg, readonly=True)
    try:
        plan = plan_day(ix, dt.date.fromisoformat(DAY), policy, KEY)
    finally:
        ix.close()
    assert sorted(plan.traders[s] for s in plan.reasons) == ["bob", "dee"]
