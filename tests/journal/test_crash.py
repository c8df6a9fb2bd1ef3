"""Kill -9 of a writer mid-stream: recovery keeps every acknowledged event and says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from agent.config import Config
from agent.journal.journal import Journal
from agent.journal.reader import iter_records
from agent.journal.recovery import recover_all
from agent.keys import Keyring
from agent.seal.verify import verify_paths
from agent.testing import FakeClock

ROOT = Path(__file__).resolve().parents[2]


def _run_and_kill(home: Path, acks_wanted: int) -> tuple[str, int]:
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("writer_proc.py")), str(home)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    session = proc.stdout.readline().split()[1]
    last_ack = -1
    for _ in range(acks_wanted):
        line = proc.stdout.readline()
        last_ack = int(line.split()[1])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return session, last_ack


def test_kill_9_mid_stream_then_reopen_keeps_every_acknowledged_event(
    home: Path, cfg: Config
) -> None:
    """Everything append() acknowledged before SIGKILL is present; verify says recovered."""
    session, last_ack = _run_and_kill(home, acks_wanted=60)
    assert last_ack > 1000
    kr = Keyring.load(home)
    # Resume the same session: recovery seals the dead segment, a gap is recorded.
    j = Journal.open(home, cfg, session_id=session)
    j.close()
    segs = sorted((home / "journals" / session).glob("*.stj"))
    assert len(segs) == 2
    crashed = list(iter_records(segs[0], kr))
    seqs = [r.seq for r in crashed]
    assert seqs == list(range(len(seqs)))
    assert seqs[-1] >= last_ack + 1  # every acknowledged event, then the gap record
    gap = crashed[-1]
    assert gap.kind == "capture.gap" and gap.payload["cause"] == "agent_crash"
    assert gap.payload["start"] == crashed[-2].t_utc_ns < gap.payload["end"]
    rep = verify_paths([home / "journals" / session], kr.trust(), keyring=kr, decrypt=True)
    assert rep.ok, rep.first_failure
    assert [s.status for s in rep.segments] == ["recovered", "verified"]
    assert rep.segments[0].chunks_verified > 0
    resumed = list(iter_records(segs[1], kr))
    assert resumed[0].seq == seqs[-1] + 1
    assert resumed[0].kind == "agent.start" and resumed[0].payload["resumed"] is True


def test_unrecovered_crash_is_reported_unsealed_with_how_far_it_verifies(home: Path) -> None:
    """Before recovery, verify fails with status unsealed and the last verified seq."""
    session, last_ack = _run_and_kill(home, acks_wanted=10)
    kr = Keyring.load(home)
    rep = verify_paths([home / "journals" / session], kr.trust())
    assert not rep.ok
    seg = rep.segments[0]
    assert seg.status == "unsealed"
    assert seg.seq_last_verified is not None and seg.seq_last_verified >= last_ack
    assert "unsealed" in (rep.first_failure or "")
    # recover_all seals it as recovered, without resuming the session
    assert len(recover_all(home, kr, FakeClock())) == 1
    rep2 = verify_paths([home / "journals" / session], kr.trust())
    assert rep2.ok and rep2.segments[0].status == "recovered"
