"""The session journal: durability, sequence numbers, rotation, clocks, append-only files."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from agent.config import Config, load_config
from agent.errors import InvalidEvent, JournalClosed
from agent.journal.journal import Journal
from agent.journal.reader import SegmentFile, iter_records
from agent.journal.store import list_sessions
from agent.keys import Keyring
from agent.testing import FakeClock, make_event
from tests.journals import write_session


def _cfg(**env: str) -> Config:
    return load_config(env={f"SESSIONTAPE_{k.upper()}": v for k, v in env.items()})


def test_append_returns_only_after_events_are_readable_by_another_connection(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """What append_many returned is committed: a fresh reader sees every acknowledged seq."""
    j = Journal.open(home, cfg, clock=clock)
    seqs = j.append_many([make_event(clock=clock, payload={"i": i}) for i in range(10)])
    assert seqs == list(range(1, 11))  # seq 0 is session.start
    seg = j.segments[0]
    recs = list(iter_records(seg, Keyring.load(home)))
    assert [r.seq for r in recs] == list(range(0, 11))
    assert recs[0].kind == "session.start" and recs[5].payload == {"i": 4}
    j.close()


def test_sequence_numbers_are_dense_across_rotated_segments(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """Each segment continues the previous one's seqs and commits to its seal hash."""
    j = write_session(home, cfg, clock, segments=3)
    kr = Keyring.load(home)
    all_seqs = [r.seq for p in j.segments for r in iter_records(p, kr)]
    assert all_seqs == list(range(len(all_seqs)))
    assert len(j.segments) == 3
    for prev_hash, path in zip(j.seal_hashes, j.segments[1:], strict=False):
        seg = SegmentFile(path)
        assert seg.genesis["prev_seal_hash"] == prev_hash
        seg.close()


def test_rotation_by_size_starts_a_new_segment(home: Path, clock: FakeClock) -> None:
    """A segment past rotate_bytes is sealed as rotated and a new one opened."""
    cfg = _cfg(journal_rotate_bytes="70000")
    j = Journal.open(home, cfg, clock=clock)
    for _i in range(6):
        j.append_many([make_event(clock=clock, payload={"blob": random.randbytes(20_000).hex()})])
    j.close()
    infos = list_sessions(home)[0].segments
    assert len(infos) >= 2
    assert [s.seal_reason for s in infos[:-1]] == ["rotated"] * (len(infos) - 1)
    assert infos[-1].seal_reason == "closed"


def test_agent_counter_increments_per_segment_across_sessions(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """Segments carry a per-agent counter that never repeats, even across sessions."""
    write_session(home, cfg, clock, segments=2)
    write_session(home, cfg, clock, segments=2)
    counters = [s.agent_counter for sess in list_sessions(home) for s in sess.segments]
    assert sorted(counters) == list(range(4))


def test_wall_clock_jump_backwards_is_recorded_as_an_event(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """A backwards step of the wall clock becomes a clock.jump event with its delta."""
    j = Journal.open(home, cfg, clock=clock)
    j.append_many([make_event(clock=clock)])
    clock.jump_wall(-5_000_000_000)
    j.append_many([make_event(clock=clock)])
    clock.advance_s(1)
    j.append_many([make_event(clock=clock)])  # no new jump
    j.close()
    recs = [r for p in j.segments for r in iter_records(p, Keyring.load(home))]
    jumps = [r for r in recs if r.kind == "clock.jump"]
    assert len(jumps) == 1
    assert jumps[0].payload == {"delta_ns": -5_000_000_000, "direction": "backward"}


def test_wall_clock_jump_forward_beyond_threshold_is_recorded(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """A forward step larger than clock_jump_threshold_ms is recorded; a small one is not."""
    j = Journal.open(home, cfg, clock=clock)
    clock.jump_wall(500_000_000)  # 0.5 s < 1 s threshold
    j.append_many([make_event(clock=clock)])
    clock.jump_wall(3_000_000_000)
    j.append_many([make_event(clock=clock)])
    j.close()
    recs = [r for p in j.segments for r in iter_records(p, Keyring.load(home))]
    jumps = [r.payload["delta_ns"] for r in recs if r.kind == "clock.jump"]
    assert jumps == [3_500_000_000]


def test_checkpoints_every_2s_while_active_and_every_30s_while_idle(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """Checkpoint cadence follows seal.checkpoint_active_seconds / _idle_seconds."""
    j = Journal.open(home, cfg, clock=clock)
    for _ in range(20):  # 10 s of activity, an event every 0.5 s
        clock.advance_s(0.5)
        j.append_many([make_event(clock=clock)])
    active = SegmentFile(j.segments[0]).checkpoints()
    assert 4 <= len(active) <= 6
    for _ in range(120):  # 60 s idle, ticking every 0.5 s
        clock.advance_s(0.5)
        j.tick()
    idle = SegmentFile(j.segments[0]).checkpoints()
    assert len(idle) - len(active) == 2
    j.close()


def test_unknown_kind_and_float_clock_are_refused_before_anything_is_written(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """An invalid event raises InvalidEvent and consumes no seq."""
    j = Journal.open(home, cfg, clock=clock)
    with pytest.raises(InvalidEvent, match="unknown event kind 'nope.nope'"):
        j.append_many([make_event("nope.nope", clock=clock)])
    bad = make_event(clock=clock)
    bad.t_utc_ns = 1.5  # type: ignore[assignment]  # a float on purpose: it must be refused
    with pytest.raises(InvalidEvent, match="integers"):
        j.append_many([bad])
    assert j.append_many([make_event(clock=clock)]) == [1]
    j.close()
    with pytest.raises(JournalClosed):
        j.append_many([make_event(clock=clock)])


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE chunks SET ciphertext = x'00' WHERE idx = 0",
        "DELETE FROM chunks WHERE idx = 0",
        "DELETE FROM checkpoints",
        "UPDATE seal SET tst = x'00'",
        "UPDATE segment SET genesis = x'00'",
    ],
)
def test_triggers_refuse_update_and_delete_of_sealed_content(
    home: Path, cfg: Config, clock: FakeClock, sql: str
) -> None:
    """The SQLite file itself refuses UPDATE and DELETE on every table."""
    j = write_session(home, cfg, clock, segments=1)
    con = sqlite3.connect(j.segments[0])
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute(sql)
    con.close()


def test_payloads_are_encrypted_at_rest(home: Path, cfg: Config, clock: FakeClock) -> None:
    """Event text never appears in the segment file bytes."""
    j = Journal.open(home, cfg, clock=clock)
    j.append_many([make_event(clock=clock, payload={"note": "CANARY-7f3a-plaintext"})])
    j.close()
    raw = b"".join(p.read_bytes() for p in j.segments)
    assert b"CANARY-7f3a" not in raw
    recs = list(iter_records(j.segments[0], Keyring.load(home)))
    assert recs[1].payload == {"note": "CANARY-7f3a-plaintext"}
