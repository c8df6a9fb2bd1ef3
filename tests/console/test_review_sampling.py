"""The sampling rule: deterministic, keyed, close to the percentage, at least one per
trader-day, and re-derivable from the documented formula."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
from pathlib import Path

import pytest

from agent.console.review_config import ReviewConfig
from agent.console.review_sampling import (
    SAMPLE_RULE,
    is_picked,
    load_or_create_sampling_key,
    plan_day,
    sample_score,
)
from agent.errors import KeyMaterialError
from tests.console.reviewkit import DAY, DAY_START_NS, KEY, metadata_index

HOUR = 3600 * 10**9
D = dt.date.fromisoformat(DAY)


def _sessions(traders: int, per_trader: int) -> list[tuple[str, str, int]]:
    return [
        (f"s-{t:02d}-{i:03d}", f"trader{t}", DAY_START_NS + (i % 20) * HOUR)
        for t in range(traders)
        for i in range(per_trader)
    ]


def test_same_inputs_give_the_same_picks_and_another_key_gives_others(tmp_path: Path) -> None:
    """Two runs over the same sessions with the same key pick the same sessions, with the
    same recorded scores; a different firm key picks a different set."""
    ix = metadata_index(tmp_path / "ix.db", _sessions(3, 100))
    cfg = ReviewConfig(sample_percent=10)
    a = plan_day(ix, D, cfg, KEY)
    b = plan_day(ix, D, cfg, KEY)
    assert a.reasons == b.reasons and len(a.reasons) > 10
    other = plan_day(ix, D, cfg, bytes(32))
    assert set(other.reasons) != set(a.reasons)


def test_picks_are_close_to_the_percentage_over_many_sessions() -> None:
    """Over 4000 sessions, a 10 % policy picks between 9 % and 11 %."""
    picked = sum(
        is_picked(sample_score(KEY, DAY, "trader1", f"s-{i:05d}"), 10.0) for i in range(4000)
    )
    assert 360 <= picked <= 440


def test_every_trader_day_with_sessions_gets_at_least_one(tmp_path: Path) -> None:
    """At 0.5 %, most traders' sessions fall above the threshold: each trader still has
    exactly one sampled session, the lowest-scored, recorded as the floor."""
    sessions = _sessions(12, 3)
    ix = metadata_index(tmp_path / "ix.db", sessions)
    plan = plan_day(ix, D, ReviewConfig(sample_percent=0.5), KEY)
    by_trader: dict[str, list[str]] = {}
    for sid in plan.reasons:
        by_trader.setdefault(plan.traders[sid], []).append(sid)
    assert sorted(by_trader) == sorted({u for _, u, _ in sessions})
    floors = [r for rs in plan.reasons.values() for r in rs if r.detail.startswith("floor")]
    assert floors, "the floor rule never applied"
    for trader, sids in by_trader.items():
        ids = [s for s, u, _ in sessions if u == trader]
        lowest = min(ids, key=lambda s: (sample_score(KEY, DAY, trader, s), s))
        if any(r.detail.startswith("floor") for s in sids for r in plan.reasons[s]):
            assert sids == [lowest]


def test_a_trader_already_sampled_that_day_gets_no_floor_pick(tmp_path: Path) -> None:
    """The floor applies once per trader-day: a trader named in sampled_traders gets none."""
    ix = metadata_index(tmp_path / "ix.db", _sessions(1, 2))
    cfg = ReviewConfig(sample_percent=0.01)
    assert len(plan_day(ix, D, cfg, KEY).reasons) == 1
    assert plan_day(ix, D, cfg, KEY, sampled_traders={"trader0"}).reasons == {}


def test_zero_percent_samples_nothing(tmp_path: Path) -> None:
    """sample_percent = 0 turns sampling off (only the lexicon queues sessions)."""
    ix = metadata_index(tmp_path / "ix.db", _sessions(3, 5))
    assert plan_day(ix, D, ReviewConfig(sample_percent=0), KEY).reasons == {}


def test_only_the_days_sessions_in_the_review_zone_are_considered(tmp_path: Path) -> None:
    """A session belongs to the day it started on in console.review.timezone: 02:00Z on
    1 January is still 31 December in New York."""
    ix = metadata_index(
        tmp_path / "ix.db",
        [("early", "t1", DAY_START_NS + 2 * HOUR), ("late", "t1", DAY_START_NS + 20 * HOUR)],
    )
    utc = plan_day(ix, D, ReviewConfig(sample_percent=100), KEY)
    assert utc.considered == {"t1": ["early", "late"]}
    ny = plan_day(ix, D, ReviewConfig(sample_percent=100, timezone="America/New_York"), KEY)
    assert ny.considered == {"t1": ["late"]}


def test_score_is_the_documented_hmac_so_an_examiner_can_rederive_it(tmp_path: Path) -> None:
    """The recorded score is the first 8 bytes of HMAC-SHA256(key, prefix LF day LF trader LF
    session id), and it is below the threshold the detail names."""
    ix = metadata_index(tmp_path / "ix.db", [("sess-1", "trader9", DAY_START_NS)])
    (reason,) = plan_day(ix, D, ReviewConfig(sample_percent=100), KEY).reasons["sess-1"]
    msg = b"sessiontape-review-sample-v1\n2026-01-01\ntrader9\nsess-1"
    expected = int.from_bytes(hmac.new(KEY, msg, hashlib.sha256).digest()[:8], "big")
    assert (reason.reason, reason.value) == ("sample", SAMPLE_RULE)
    assert reason.detail == f"score {expected:016x} < 100.0%"


def test_sampling_key_is_made_private_and_refused_when_others_can_read_it(tmp_path: Path) -> None:
    """The key is created 0600 once and read back the same; a readable one is refused."""
    path = tmp_path / "console" / "review-sampling.key"
    key = load_or_create_sampling_key(path)
    assert len(key) == 32 and os.stat(path).st_mode & 0o777 == 0o600
    assert load_or_create_sampling_key(path) == key
    os.chmod(path, 0o644)
    with pytest.raises(KeyMaterialError, match="review sampling key"):
        load_or_create_sampling_key(path)
