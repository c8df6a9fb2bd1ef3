"""The ingestion worker resumes: after a kill -9 mid-ingest and after its index was
unavailable (a real full filesystem), every segment is indexed exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from agent.index.sqlite import SqliteIndex
from agent.journal.store import segment_info
from tests.console.fleet import Fleet
from tests.fsfull import SmallFs
from tests.waiting import wait_until


def _shipped_seals(fleet: Fleet) -> set[str]:
    """Seal hashes of every segment the workstations wrote."""
    return {
        segment_info(p).seal_hash_hex
        for a in fleet.agents
        for p in (a.home / "journals").glob("*/*.stj")
        if not p.parent.name.startswith("audit-")
    }


def _assert_each_once(ix: SqliteIndex, seals: set[str]) -> None:
    """The index holds exactly ``seals``, each once, and no row outside an indexed segment."""
    rows = ix.con.execute("SELECT seal_hash FROM segments WHERE status = 'indexed'").fetchall()
    assert sorted(r[0] for r in rows) == sorted(seals)
    (in_segments,) = ix.con.execute(
        "SELECT SUM(rows) FROM segments WHERE status = 'indexed'"
    ).fetchone()
    (events,) = ix.con.execute("SELECT COUNT(*) FROM events").fetchone()
    assert events == in_segments > 0


def _indexed_count(state: Path) -> int:
    if not state.exists():
        return 0
    con = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        return int(
            con.execute("SELECT COUNT(*) FROM objects WHERE status = 'indexed'").fetchone()[0]
        )
    except sqlite3.Error:
        return 0
    finally:
        con.close()


def test_kill_9_mid_ingest_then_resume_indexes_each_segment_once(fleet: Fleet) -> None:
    """A worker process ingesting one object per pass is killed with SIGKILL after some
    were indexed; a new worker indexes the rest: the exact set, each once."""
    for _ in range(2):
        fleet.record_and_ship(fleet.add_agent(), 2, 1, 1)
    seals = _shipped_seals(fleet)
    assert len(seals) == 8
    cmd = [sys.executable, "-m", "agent.cli.main", "--home", str(fleet.firm), "console",
           "ingest", "--vault", fleet.url, "--interval", "0.2", "--batch", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = fleet.firm / "console" / "ingest.db"
    try:
        wait_until(lambda: _indexed_count(state) >= 3, what="3 objects indexed", timeout_s=120)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()  # no-op when already dead
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    before = _indexed_count(state)
    assert 3 <= before < len(seals)  # killed mid-ingest
    ix = fleet.index()
    rep = fleet.worker(ix).run_once()
    assert rep.error == "" and rep.anomalies == []
    assert rep.indexed == len(seals) - before
    _assert_each_once(ix, seals)


def test_a_full_index_stops_the_pass_and_the_next_resumes(
    fleet: Fleet, small_fs: Callable[[int], SmallFs]
) -> None:
    """The index's filesystem fills up: the pass stops with one line naming the index, marks
    nothing it did not index; once space is back the next pass indexes everything, once."""
    fs = small_fs(8192)
    ix = fleet.index(fs.path / "index.db")
    w = fleet.worker(ix)
    fleet.record_and_ship(fleet.add_agent(), 1)
    assert w.run_once().indexed == 1
    fleet.record_and_ship(fleet.add_agent(), 2, 1)
    fs.fill()
    rep = w.run_once()
    assert rep.indexed == 0 and rep.backlog == 3
    assert rep.error.startswith("index unavailable while indexing session ")
    assert "full" in rep.error
    assert w.status()["last_error"] == rep.error
    assert w.state.counts() == {"indexed": 1}
    fs.free()
    rep = w.run_once()
    assert (rep.error, rep.indexed, rep.backlog) == ("", 3, 0)
    assert w.status()["last_error"] == ""
    _assert_each_once(ix, _shipped_seals(fleet))
