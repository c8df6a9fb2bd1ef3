"""Kill -9 of a recording agent (and its browser) mid-session: the journal verifies up to the
last durable chunk, and recovery puts the gap on the record."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.bench.crash import kill_recording
from agent.clock import SystemClock
from agent.journal.reader import iter_records
from agent.journal.recovery import recover_all
from agent.journal.store import list_sessions
from agent.keys import Keyring
from agent.seal.verify import verify_paths
from tests.pipeline.site import serve_page
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
PAGE = b"""<!doctype html><body><div id="c">0</div><script>let n = 0;
setInterval(() => { document.getElementById('c').textContent = String(++n); }, 50);
</script></body>"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    with serve_page(tmp_path, PAGE) as url:
        yield url


def test_kill_9_of_the_recording_agent_keeps_what_was_durable_and_records_the_gap(
    home: Path, site: str
) -> None:
    """SIGKILL to `sessiontape record` and Chromium: unsealed-but-verifying, then recovered."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONTAPE_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent.cli.main",
            "--home",
            str(home),
            "record",
            site,
            "--headless",
            "--duration",
            "120",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def recorded_events() -> int:
        sessions = list_sessions(home)
        return sessions[0].event_count if sessions else 0

    try:
        wait_until(
            lambda: recorded_events() > 40, what="the agent to record 40 events", timeout_s=90
        )
    finally:
        kill_recording(proc)  # Chromium runs in its own session: killpg would not reach it
    kr = Keyring.load(home)
    (session,) = list_sessions(home)
    sdir = session.segments[0].path.parent
    rep = verify_paths([sdir], kr.trust(), keyring=kr, decrypt=True)
    assert not rep.ok and rep.segments[-1].status == "unsealed"
    assert rep.segments[-1].chunks_verified >= 1
    durable = rep.segments[-1].seq_last_verified
    assert durable is not None and durable >= 40
    # The next agent start recovers it: sealed as recovered, the crash on the record.
    assert recover_all(home, kr, SystemClock())
    rep2 = verify_paths([sdir], kr.trust(), keyring=kr, decrypt=True)
    assert rep2.ok, rep2.first_failure
    assert rep2.segments[-1].status == "recovered"
    recs = [r for s in session.segments for r in iter_records(s.path, kr)]
    assert [r.seq for r in recs] == list(range(len(recs)))
    gap = recs[-1]
    assert gap.kind == "capture.gap" and gap.payload["cause"] == "agent_crash"
    assert gap.seq == durable + 1
    assert any(r.kind == "rrweb.mutation" for r in recs)
