"""A full disk under the journal, on a real tmpfs: no hung waiter, no silent loss, no unsealed
session once space returns."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.config import Config, load_config
from agent.errors import JournalError
from agent.events import Event, Record
from agent.journal import journal as journal_mod
from agent.journal.journal import Journal
from agent.journal.outage import Sidecar
from agent.journal.reader import iter_records
from agent.journal.recovery import recover_all, segment_paths
from agent.journal.sink import JournalSink
from agent.keys import Keyring
from agent.seal.segment_file import SegmentFile
from agent.seal.verify import verify_paths
from agent.testing import FakeClock
from tests.fsfull import SmallFs

SmallFsFactory = Callable[[int], SmallFs]


def _events(clock: FakeClock, n: int, size: int = 2048) -> list[Event]:
    """``n`` events that do not compress (so each commit needs fresh pages)."""
    out = []
    for _ in range(n):
        clock.advance(1_000_000)
        out.append(
            Event("clock.tick", {"blob": os.urandom(size).hex()}, clock.utc_ns(), clock.mono_ns())
        )
    return out


def _records(home: Path, sdir: Path) -> list[Record]:
    keyring = Keyring.load(home)
    return [r for p in segment_paths(sdir) for r in iter_records(p, keyring)]


def _setup(small_fs: SmallFsFactory) -> tuple[SmallFs, Path, Config, FakeClock]:
    fs = small_fs(4096)
    home = fs.path / "home"
    Keyring.load_or_init(home)
    return fs, home, load_config(env={}, home=home), FakeClock()


def test_failed_commits_release_every_waiter_and_the_next_commit_records_a_disk_full_gap(
    small_fs: SmallFsFactory,
) -> None:
    """Waiters of a commit refused by ENOSPC get a retryable JournalError, the writer thread
    lives on, and once space is back the gap (cause disk_full, exact lost count) comes first."""
    fs, home, cfg, clock = _setup(small_fs)
    j = Journal.open(home, cfg, clock=clock)
    sink = JournalSink(j)
    before, lost_a, lost_b, after = (
        _events(clock, 5),
        _events(clock, 40),
        _events(clock, 30),
        _events(clock, 4),
    )

    async def scenario() -> list[BaseException | None]:
        await sink.append_many(before)
        fs.fill()
        outcomes: list[BaseException | None] = []
        for batch in (lost_a, lost_b):
            try:
                await asyncio.wait_for(sink.append_many(batch), timeout=60)
                outcomes.append(None)
            except JournalError as exc:
                outcomes.append(exc)
        fs.free()
        await asyncio.wait_for(sink.append_many(after), timeout=60)
        return outcomes

    outcomes = asyncio.run(scenario())
    sink.close()
    errors = [e for e in outcomes if isinstance(e, JournalError)]
    assert len(errors) == 2, outcomes
    assert all(e.retryable and e.recorded_as_gap for e in errors)
    assert all("no space left on device" in e.message for e in errors)
    assert sink.commits_failed == 2
    recs = _records(home, j.dir)
    gaps = [r for r in recs if r.kind == "capture.gap"]
    assert [g.payload["cause"] for g in gaps] == ["disk_full"]
    gap = gaps[0]
    assert gap.payload["lost_events"] == len(lost_a) + len(lost_b)
    assert gap.payload["failed_commits"] == 2
    assert gap.payload["start"] <= gap.payload["end"]
    written = [r.payload.get("blob") for r in recs if r.kind == "clock.tick"]
    assert written == [ev.payload["blob"] for ev in before + after]
    # The gap is committed first, right before the first events written after the outage.
    assert recs[recs.index(gap) + 1].payload.get("blob") == after[0].payload["blob"]
    assert [r.seq for r in recs] == list(range(len(recs)))
    report = verify_paths([j.dir], Keyring.load(home).trust(), keyring=Keyring.load(home))
    assert report.ok, report.first_failure
    assert Sidecar(j.dir).read() is None


def test_events_refused_then_written_again_are_not_counted_as_lost(
    small_fs: SmallFsFactory,
) -> None:
    """Strict durability hands the same events in again; once written they are not lost."""
    fs, home, cfg, clock = _setup(small_fs)
    j = Journal.open(home, cfg, clock=clock)
    retried = _events(clock, 20)
    fs.fill()
    for _ in range(3):
        with pytest.raises(JournalError, match="no space left on device"):
            j.append_many(retried)
    fs.free()
    j.append_many(retried)
    j.close()
    recs = _records(home, j.dir)
    assert not [r for r in recs if r.kind == "capture.gap"]
    assert len([r for r in recs if r.kind == "clock.tick"]) == len(retried)


def test_closing_on_a_full_disk_fails_naming_the_segment_and_recovery_seals_it_as_disk_full(
    small_fs: SmallFsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sealing is retried, then given up with one line naming the segment; the outage
    record lets the next start's recovery label the gap disk_full with the lost count."""
    monkeypatch.setattr(journal_mod, "SEAL_RETRY_S", 0.01)
    fs, home, cfg, clock = _setup(small_fs)
    j = Journal.open(home, cfg, clock=clock)
    kept = _events(clock, 6)
    j.append_many(kept)
    segment = j.segments[-1]
    fs.fill()
    with pytest.raises(JournalError, match="no space left on device"):
        j.append_many(_events(clock, 25))
    with pytest.raises(JournalError) as info:
        j.close()
    msg = info.value.message
    assert str(segment) in msg and "cannot seal: no space left on device" in msg
    assert "\n" not in msg and not info.value.retryable
    seg = SegmentFile(segment)
    try:
        assert seg.seal() is None
    finally:
        seg.close()
    fs.free()
    assert recover_all(home, Keyring.load(home), clock) == [segment]
    recs = _records(home, j.dir)
    gaps = [r.payload for r in recs if r.kind == "capture.gap"]
    ended = [r for r in recs if r.kind == "session.end"]
    # The close's commit (the outage's gap and session.end, a few hundred bytes) may still
    # fit in the slack of the WAL's last filesystem block (512 B pages leave some); then the
    # seal is all that failed, and recovery's own gap has lost nothing.
    assert [g["cause"] for g in gaps] == ["disk_full"] * (1 + len(ended))
    assert gaps[-1]["lost_events"] == (0 if ended else 25 + 1)  # + 1: the session.end
    assert sum(g["lost_events"] for g in gaps) == 25 + 1 - len(ended)
    assert [r.payload.get("blob") for r in recs if r.kind == "clock.tick"] == [
        ev.payload["blob"] for ev in kept
    ]
    report = verify_paths([j.dir], Keyring.load(home).trust(), keyring=Keyring.load(home))
    assert report.ok, report.first_failure
    assert Sidecar(j.dir).read() is None


def test_a_crash_without_an_outage_is_still_labelled_agent_crash(home: Path, cfg: Config) -> None:
    """The outage record only relabels gaps it names: a plain crash stays agent_crash."""
    clock = FakeClock()
    j = Journal.open(home, cfg, clock=clock)
    j.append_many(_events(clock, 3, size=16))
    j.abandon()
    assert recover_all(home, Keyring.load(home), clock) == [j.segments[-1]]
    gaps = [r.payload for r in _records(home, j.dir) if r.kind == "capture.gap"]
    assert [g["cause"] for g in gaps] == ["agent_crash"] and "lost_events" not in gaps[0]


def test_a_writer_dying_during_an_outage_is_recovered_as_disk_full_with_its_count(
    small_fs: SmallFsFactory,
) -> None:
    """The outage record outlives the writer: recovery labels the gap disk_full, with the
    events the failed commits refused, not agent_crash."""
    fs, home, cfg, clock = _setup(small_fs)
    j = Journal.open(home, cfg, clock=clock)
    j.append_many(_events(clock, 4))
    fs.fill()
    for n in (12, 9):
        with pytest.raises(JournalError):
            j.append_many(_events(clock, n))
    j.abandon()  # what kill -9 leaves: no seal, no close
    fs.free()
    assert recover_all(home, Keyring.load(home), clock) == [j.segments[-1]]
    gaps = [r.payload for r in _records(home, j.dir) if r.kind == "capture.gap"]
    assert [(g["cause"], g["lost_events"]) for g in gaps] == [("disk_full", 21)]
    report = verify_paths([j.dir], Keyring.load(home).trust(), keyring=Keyring.load(home))
    assert report.ok, report.first_failure
