"""Checkpoints shipped during a session make a truncated local journal detectable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent.seal.segment_file import SegmentFile
from agent.ship.checkpoints import check_against_vault, ship_checkpoints
from agent.ship.config import ShipConfig
from agent.ship.filevault import FileVault
from agent.ship.shipper import Shipper
from agent.ship.source import JournalSource
from agent.testing import FakeClock, make_event
from tests.journals import write_session


def _shipper(home: Path, clock: FakeClock) -> tuple[Shipper, FileVault]:
    v = FileVault(home / "vault", clock=clock)
    return Shipper(home, ShipConfig(), {"primary": v}, JournalSource(home), clock=clock), v


def _not_read(*_args: object) -> None:
    raise AssertionError("an open segment's chunk headers were read")


def test_checkpoints_of_an_open_session_are_shipped_as_tiny_locked_objects(
    home: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """checkpoints/<session>/<segment>/<n>.json, locked, once each."""
    j = write_session(home, chunks_per_segment=3, checkpoint_every_chunk=True, close=False)
    try:
        sh, v = _shipper(home, clock)
        # Every 3 s all day: the open segment's genesis and checkpoints are read, never its
        # chunk headers (a day's live segment holds tens of thousands).
        monkeypatch.setattr(SegmentFile, "chunk_headers", _not_read)
        assert ship_checkpoints(sh) == 3
        assert ship_checkpoints(sh) == 0  # already shipped
        keys = v.list(f"checkpoints/{j.session_id}/")
        assert [k.rsplit("/", 1)[1] for k in keys] == ["0.json", "1.json", "2.json"]
        assert all(v.head(k).mode == "COMPLIANCE" for k in keys)
        assert sh.ship_once().shipped == []  # open segment: not shipped yet
        assert check_against_vault(home / "journals" / j.session_id, v) == []
    finally:
        j.close()


def test_truncated_local_journal_is_detected_against_the_vault(
    home: Path, clock: FakeClock
) -> None:
    """Rolling the file back to an older copy (a cut-off tail) shows up as problems."""
    j = write_session(home, chunks_per_segment=2, checkpoint_every_chunk=True, close=False)
    path = next((home / "journals").rglob("*.stj"))
    snapshot = home / "older.stj"
    with sqlite3.connect(path) as live, sqlite3.connect(snapshot) as old:
        live.backup(old)  # what an attacker kept from earlier
    j.append_many([make_event() for _ in range(5)])
    j.checkpoint_now()
    sh, v = _shipper(home, clock)
    assert ship_checkpoints(sh) == 3
    j.abandon()
    for extra in path.parent.glob(path.name + "-*"):
        extra.unlink()
    snapshot.replace(path)
    problems = check_against_vault(path.parent, v)
    assert any("checkpoint 2" in p and "missing locally" in p for p in problems)
    assert any("truncated" in p for p in problems)


def test_missing_local_segment_with_checkpoints_in_vault_is_reported(
    home: Path, clock: FakeClock
) -> None:
    """A whole segment deleted locally is visible from its shipped checkpoints."""
    j = write_session(home, chunks_per_segment=2, checkpoint_every_chunk=True, close=False)
    sh, v = _shipper(home, clock)
    ship_checkpoints(sh)
    sdir = home / "journals" / j.session_id
    for f in sdir.glob("*.stj"):
        f.unlink()
    problems = check_against_vault(sdir, v)
    assert len(problems) == 1 and "missing locally" in problems[0]


def test_checkpoint_signatures_in_vault_are_checked_when_asked(
    home: Path, clock: FakeClock
) -> None:
    """With the trust store, a vault checkpoint whose signature fails is reported."""
    j = write_session(home, chunks_per_segment=1, checkpoint_every_chunk=True, close=False)
    sh, v = _shipper(home, clock)
    ship_checkpoints(sh)
    sdir = home / "journals" / j.session_id
    src = JournalSource(home)
    assert check_against_vault(sdir, v, check_signature=src.check_signature) == []
    assert check_against_vault(sdir, v, check_signature=lambda *a: False) == [
        f"checkpoints/{j.session_id}/{j.segments[0].stem.split('-', 1)[1]}/0.json: "
        "signature of the vault checkpoint does not verify"
    ]
