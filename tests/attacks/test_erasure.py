"""Erasure attacks on a real state dir and a real vault, each detected by ``verify``.

The attacker holds the recorded account: he deletes files of the home at will (the
append-only triggers are no obstacle), but cannot touch what the vault holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config
from agent.testing import FakeClock
from tests.attacks.homes import (
    file_vault,
    recorded_home,
    remove_session,
    session_dirs,
    ship_all,
    shipped_home,
    streamed_open_session,
    verify,
)
from tests.journals import read_genesis, tamper, write_session


def _counter(seg: Path) -> tuple[str, int]:
    g = read_genesis(seg)
    return str(g["agent_id"]), int(str(g["agent_counter"]))


def test_an_untouched_shipped_home_verifies_locally_and_against_the_vault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The baseline: no attack, both verifications pass."""
    home, vault = shipped_home(tmp_path, FakeClock())
    code, out, err = verify(capsys, home)
    assert code == 0, err
    code, out, err = verify(capsys, home, "--vault", vault.url)
    assert code == 0, err
    assert "verified: 6 segments, every check passed" in out


@pytest.mark.parametrize("which", ["oldest", "newest"])
def test_deleting_the_oldest_or_newest_session_leaves_a_counter_hole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str
) -> None:
    """Counters run from 0 to the latest the agent handed out, so an edge session is a hole."""
    clock = FakeClock()
    home = recorded_home(tmp_path, clock)
    victim = session_dirs(home)[0 if which == "oldest" else -1]
    agent, first = _counter(sorted(victim.glob("*.stj"))[0])
    remove_session(victim)
    code, _, err = verify(capsys, home)
    assert code == 1
    assert err.strip() == (
        f"verification FAILED: counter: agent {agent}: segment counters "
        f"[{first}, {first + 1}] missing"
    )


def test_erasing_the_newest_session_and_corrupting_the_identity_file_still_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The identity file holds the last counter handed out; corrupting it along with erasing
    the newest session must not leave verify with only the segments' own counters."""
    clock = FakeClock()
    home = recorded_home(tmp_path, clock)
    remove_session(session_dirs(home)[-1])
    (home / "agent.json").write_text("{not json")
    code, _, err = verify(capsys, home)
    assert code == 1
    assert err.strip() == (
        f"verification FAILED: counter: {home / 'agent.json'}: agent identity file is "
        "unreadable or corrupt (JSONDecodeError): the last segment counter handed out is unknown"
    )


def test_deleting_the_newest_access_audit_session_leaves_a_counter_hole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An audited action writes a sealed session; erasing it is a counter hole too."""
    from agent.audit import record_access

    clock = FakeClock()
    home = recorded_home(tmp_path, clock, sessions=1)
    clock.advance_s(5)
    sid = record_access(
        home, load_config(env={}, home=home), "audit.search", {"query": "x"}, clock=clock
    )
    assert verify(capsys, home)[0] == 0
    audit_dir = home / "journals" / sid
    agent, counter = _counter(next(audit_dir.glob("*.stj")))
    remove_session(audit_dir)
    code, _, err = verify(capsys, home)
    assert code == 1
    assert err.strip() == (
        f"verification FAILED: counter: agent {agent}: segment counters [{counter}] missing"
    )


def test_deleting_the_last_segment_of_a_session_leaves_a_rotated_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A session must end in a closed or recovered seal: a last seal saying ``rotated``
    means a segment followed."""
    clock = FakeClock()
    home = recorded_home(tmp_path, clock, sessions=1)
    sdir = session_dirs(home)[0]
    first, last = sorted(sdir.glob("*.stj"))
    g = read_genesis(first)
    last.unlink()
    code, out, err = verify(capsys, home, str(sdir))
    assert code == 1
    assert err.strip() == (
        f"verification FAILED: session-end: session {sdir.name} ends at segment 0 "
        f"(segment {g['segment_id']}, counter {g['agent_counter']}) sealed 'rotated': "
        f"segment 1 is missing (erased?) ({first})"
    )


def test_deleting_a_shipped_session_locally_is_reported_against_the_vault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The vault still holds the session: verify --vault names each erased segment."""
    home, vault = shipped_home(tmp_path, FakeClock())
    victim = session_dirs(home)[1]
    names = remove_session(victim)
    code, out, err = verify(capsys, home, "--vault", vault.url)
    assert code == 1
    for name in names:
        assert (
            f"FAIL vault: session {victim.name}: segment {name} is in the vault but missing "
            "locally, and shipping did not remove it (erased locally)"
        ) in out
    assert err.strip() == (
        f"verification FAILED: vault: session {victim.name}: segment {names[0]} is in the "
        "vault but missing locally, and shipping did not remove it (erased locally) "
        f"(vault:segments/{victim.name}/{names[0]})"
    )


def test_segments_shipped_and_removed_by_retention_are_fine_and_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Local retention removes shipped copies after the vault confirmed them: not an attack.
    Locally the missing counters are a note; against the vault the copies are verified."""
    clock = FakeClock()
    home = recorded_home(tmp_path, clock, sessions=2)
    vault = file_vault(home, clock)
    shipped = list((home / "journals").rglob("*.stj"))
    ship_all(home, clock, vault, keep_local_days=0)
    assert not list((home / "journals").rglob("*.stj"))
    clock.advance_s(60)
    write_session(home, load_config(env={}, home=home), clock, segments=1)
    code, out, err = verify(capsys, home)
    assert code == 0, err
    assert "NOTE counter: " in out and "4 segments removed locally after shipping" in out
    code, out, err = verify(capsys, home, "--vault", vault.url)
    assert code == 0, err
    assert out.count("vault:segments/") == 4
    first = sorted(shipped)[0]
    assert (
        f"OK   vault: session {first.parent.name}: segment {first.name} shipped and removed "
        "locally after the vault confirmed it (its vault copy is verified instead)"
    ) in out
    assert "verified: 5 segments, every check passed" in out


def test_erasing_an_open_segment_with_streamed_checkpoints_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A live session's checkpoints reached the vault; the whole session is then deleted
    locally: the vault's checkpoints name the segment."""
    clock = FakeClock()
    home, vault = shipped_home(tmp_path, clock, sessions=1)
    j = streamed_open_session(home, clock, vault, chunks=2)
    sdir = home / "journals" / j.session_id
    seg_id = j.segments[0].stem.split("-", 1)[1]
    remove_session(sdir)
    code, out, err = verify(capsys, home, "--vault", vault.url)
    assert code == 1
    assert (
        f"FAIL vault: segment {seg_id}: 2 checkpoint(s) in the vault "
        "but the segment is missing locally"
    ) in out


def test_deleting_a_checkpoint_of_an_open_segment_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checkpoints chain: removing one breaks the link of the next, locally."""
    clock = FakeClock()
    home = recorded_home(tmp_path, clock, sessions=1)
    j = write_session(home, chunks_per_segment=3, checkpoint_every_chunk=True, close=False)
    j.abandon()
    seg = j.segments[0]
    tamper(seg, "DELETE FROM checkpoints WHERE n = 1")
    code, _, err = verify(capsys, home, str(seg.parent))
    assert code == 1
    assert err.strip() == (
        f"verification FAILED: {seg}: checkpoint: checkpoint 1 missing (the next stored "
        "checkpoint is 2) (checkpoint 2 (tree size 4))"
    )


def test_deleting_the_last_streamed_checkpoint_is_reported_against_the_vault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The newest checkpoint of an open segment has no successor to betray it locally; the
    vault's copy does."""
    clock = FakeClock()
    home = recorded_home(tmp_path, clock, sessions=1)
    vault = file_vault(home, clock)
    j = streamed_open_session(home, clock, vault, chunks=3)
    seg = j.segments[0]
    tamper(seg, "DELETE FROM checkpoints WHERE n = 2")
    code, out, err = verify(capsys, home, "--vault", vault.url)
    assert code == 1
    assert (
        f"FAIL vault: {seg.name}: checkpoint 2 (tree size 4) is in "
        "the vault but missing locally: local journal truncated"
    ) in out


def test_deleting_a_session_shipped_to_s3_is_reported_against_the_bucket(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lock_bucket: str
) -> None:
    """The same erasure against an S3 Object Lock bucket (moto): the bucket's inventory
    names the erased segments and its checkpoints the erased segment ids."""
    import time

    from agent.ship.urls import open_vault

    home = recorded_home(tmp_path, FakeClock(utc_ns=time.time_ns()), sessions=2)
    url = f"s3://{lock_bucket}/desk1"
    # The shipper's clock must agree with the store's (posture check).
    ship_all(home, FakeClock(utc_ns=time.time_ns()), open_vault(url))
    victim = session_dirs(home)[0]
    names = remove_session(victim)
    code, out, err = verify(capsys, home, "--vault", url)
    assert code == 1
    assert err.strip() == (
        f"verification FAILED: vault: session {victim.name}: segment {names[0]} is in the "
        "vault but missing locally, and shipping did not remove it (erased locally) "
        f"(vault:segments/{victim.name}/{names[0]})"
    )
    assert f"FAIL vault: session {victim.name}: segment {names[1]} is in the vault" in out
