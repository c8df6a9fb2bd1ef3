"""The live feed over real segment files written by the journal while the session is open:
events as they become durable, checkpoints, rotation, the end, and tampering."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config
from agent.journal.recovery import recover_segment
from agent.keys import Keyring
from agent.replay import live
from agent.replay.live import LiveFeed
from agent.testing import FakeClock, make_event
from tests.journals import CHUNK_STEP_S, flip_byte, open_journal, rotate


def _ticks(j: object, clock: FakeClock, start: int, n: int) -> None:
    from agent.journal.journal import Journal

    assert isinstance(j, Journal)
    clock.advance_s(CHUNK_STEP_S)
    j.append_many(
        [
            make_event("clock.tick", {"n": i}, clock=clock, page="P1")
            for i in range(start, start + n)
        ]
    )


def test_feed_follows_checkpoints_rotation_and_the_end(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cfg = load_config(env={}, home=home)
    clock = FakeClock()
    j = open_journal(home, cfg, clock)
    feed = LiveFeed(home, j.session_id)
    assert [r.kind for r in feed.poll()] == ["session.start"]
    assert feed.status.state == "live"
    _ticks(j, clock, 0, 3)
    first = feed.poll()
    ticks = [r.payload["n"] for r in first if r.kind == "clock.tick"]
    assert ticks == [0, 1, 2]
    assert feed.status.state == "live"
    assert feed.status.checkpoint is None
    assert "no checkpoint yet" in feed.status.badge()
    j.checkpoint_now()
    _ticks(j, clock, 3, 2)
    recs = feed.poll()
    assert [r.payload["n"] for r in recs] == [3, 4]
    assert feed.status.checkpoint == 0
    assert feed.status.verified_seq == first[-1].seq
    assert feed.status.chain_only == 2
    assert (
        feed.status.badge() == "live, verified to checkpoint 0; 2 newer events chain-checked only"
    )
    j.checkpoint_now()
    feed.poll()
    assert feed.status.checkpoint == 1
    assert feed.status.chain_only == 0
    rotate(j, clock, cfg)
    _ticks(j, clock, 5, 2)
    recs = feed.poll()
    assert [r.payload["n"] for r in recs if r.kind == "clock.tick"] == [5, 6]
    assert feed.status.segment == 1
    assert feed.status.state == "live"
    j.close()
    tail = feed.poll()
    assert [r.kind for r in tail][-1] == "session.end"
    assert feed.status.state == "ended"
    assert feed.status.end_reason == "closed"
    assert feed.status.verified_seq == tail[-1].seq


def test_a_tampered_chunk_in_the_open_segment_stops_the_feed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cfg = load_config(env={}, home=home)
    clock = FakeClock()
    j = open_journal(home, cfg, clock)
    feed = LiveFeed(home, j.session_id)
    _ticks(j, clock, 0, 3)
    assert [r.payload["n"] for r in feed.poll() if r.kind == "clock.tick"] == [0, 1, 2]
    _ticks(j, clock, 3, 3)
    _ticks(j, clock, 6, 3)
    (seg,) = sorted((home / "journals" / j.session_id).glob("*.stj"))
    flip_byte(seg, "idx = (SELECT max(idx) - 1 FROM chunks)")
    assert feed.poll() == []  # nothing of or after the tampered chunk
    assert feed.status.state == "failed"
    assert "chain: leaf hash does not match" in feed.status.error
    assert "chunk 2" in feed.status.error
    assert feed.status.badge().startswith("FAILED: chain")
    _ticks(j, clock, 9, 1)
    assert feed.poll() == []  # a failed feed stays failed
    j.close()


def test_an_unsealed_segment_nobody_writes_is_shown_after_the_wait_and_sealed_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a journal that stopped without sealing leaves (``Journal.abandon``, its fatal
    paths): the writer's connection closed, so SQLite removed the WAL, on an unsealed
    segment. The feed first waits for a writer, then shows what the segment holds and says
    nobody writes it; the recovery's seal ends the session."""
    home = tmp_path / "home"
    cfg = load_config(env={}, home=home)
    clock = FakeClock()
    j = open_journal(home, cfg, clock)
    _ticks(j, clock, 0, 3)
    j.abandon()
    (seg,) = sorted((home / "journals" / j.session_id).glob("*.stj"))
    assert not Path(f"{seg}-wal").exists()
    feed = LiveFeed(home, j.session_id)
    assert feed.poll() == []  # within NOT_READY_S of first seeing it: a writer may be starting
    assert feed.status.state == "waiting"
    monkeypatch.setattr(live, "NOT_READY_S", 0.0)
    recs = feed.poll()
    assert [r.payload["n"] for r in recs if r.kind == "clock.tick"] == [0, 1, 2]
    assert feed.status.state == "live"
    assert "segment 0 is unsealed and no longer written" in feed.status.badge()
    assert recover_segment(seg, Keyring.load(home), clock) is not None
    tail = feed.poll()
    assert [(r.kind, r.payload["cause"]) for r in tail] == [("capture.gap", "agent_crash")]
    assert (feed.status.state, feed.status.end_reason, feed.status.stalled) == (
        "ended",
        "recovered",
        "",
    )
