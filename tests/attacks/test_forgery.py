"""Forgery attacks: with the signing key and KEK of the home, write a session that never
happened. Signatures verify; the agent's counters and the creation times give it away."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.config import load_config
from agent.testing import FakeClock
from tests.attacks.homes import recorded_home, shipped_home, verify
from tests.journals import read_genesis, write_session

DAY_S = 86400


def test_a_session_dated_months_earlier_contradicts_its_counter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The forger writes through the real journal with a clock set 90 days back: it takes
    the next counter, so its time order contradicts the counter order."""
    home, vault = shipped_home(tmp_path, FakeClock(), sessions=2)
    newest_before = sorted((home / "journals").rglob("*.stj"))[-1]
    back = FakeClock(utc_ns=FakeClock().utc_ns() - 90 * DAY_S * 1_000_000_000)
    forged = write_session(home, load_config(env={}, home=home), back, segments=1)
    g = read_genesis(forged.segments[0])
    last = read_genesis(newest_before)
    code, _, err = verify(capsys, home)
    assert code == 1
    assert err.strip().startswith(
        f"verification FAILED: time-order: agent {g['agent_id']}: segment counter "
        f"{g['agent_counter']} (session {forged.session_id}, segment {g['segment_id']}) was "
        "created 2025-10-03T00:00:00"
    )
    assert f"before counter {last['agent_counter']} (session {last['session_id']})" in err
    assert err.strip().endswith(f"time order contradicts counter order ({forged.segments[0]})")
    assert verify(capsys, home, "--vault", vault.url)[0] == 1


def test_a_session_forged_with_a_reused_counter_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Resetting the agent's counter file lets the forger reuse counter 0: two segments
    then carry it."""
    clock = FakeClock()
    home = recorded_home(tmp_path, clock, sessions=1)
    ident = json.loads((home / "agent.json").read_text())
    (home / "agent.json").write_text(json.dumps({**ident, "counter": -1}))
    forged = write_session(home, load_config(env={}, home=home), FakeClock(), segments=1)
    g = read_genesis(forged.segments[0])
    assert g["agent_counter"] == 0
    code, out, err = verify(capsys, home)
    assert code == 1
    assert f"FAIL counter: agent {g['agent_id']}: segment counter 0 used twice (" in out
