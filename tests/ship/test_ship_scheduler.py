"""The agent's APScheduler jobs: persisted in SQLite, shipping promptly, stopping cleanly."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

from agent.clock import SystemClock
from agent.ship.config import ShipConfig
from agent.ship.filevault import FileVault
from agent.ship.scheduler import build_scheduler, run_agent
from agent.ship.shipper import Shipper
from agent.ship.source import CheckpointMeta
from agent.ship.testing import FakeSource
from tests.journals import write_session
from tests.waiting import wait_until

JOBS = ["checkpoints", "posture", "retention", "reverify", "ship"]


def _shipper(tmp_path: Path, **cfg: int) -> tuple[Shipper, FakeSource, FileVault]:
    clock = SystemClock()
    v = FileVault(tmp_path / "vault", clock=clock)
    src = FakeSource(tmp_path / "journals")
    return (
        Shipper(
            tmp_path / "home", ShipConfig.model_validate(cfg), {"primary": v}, src, clock=clock
        ),
        src,
        v,
    )


def test_jobs_are_stored_in_the_sqlite_jobstore_and_survive_a_restart(tmp_path: Path) -> None:
    """Five jobs in <home>/ship/jobs.sqlite; a second scheduler finds them, not duplicates."""
    sh, _, _ = _shipper(tmp_path)
    s1 = build_scheduler(sh)
    s1.start(paused=True)
    s1.shutdown(wait=False)
    db = sh.dir / "jobs.sqlite"
    with sqlite3.connect(db) as con:
        ids = sorted(r[0] for r in con.execute("SELECT id FROM apscheduler_jobs"))
    assert ids == JOBS
    s2 = build_scheduler(sh)
    s2.start(paused=True)
    try:
        assert sorted(j.id for j in s2.get_jobs()) == JOBS
        assert s2.get_job("ship").trigger.interval.total_seconds() == 15
    finally:
        s2.shutdown(wait=False)


def test_agent_ships_sealed_segments_and_checkpoints_within_the_interval(tmp_path: Path) -> None:
    """With 1 s intervals the running agent ships a sealed segment and an open one's
    checkpoint; setting the stop event shuts the scheduler down cleanly."""
    sh, src, v = _shipper(tmp_path, interval_seconds=1, checkpoint_interval_seconds=1)
    src.add("s1", "seg1", b"sealed", sealed_utc_ns=time.time_ns())
    src.add("s2", "seg2", b"open", sealed=False)
    src.checkpoint_lists["000000-seg2.stj"] = [
        CheckpointMeta(
            n=0, tree_size=3, key_id="fake", body=b"{}", signature=b"sig", t_utc_ns=time.time_ns()
        )
    ]
    stop = threading.Event()
    t = threading.Thread(target=run_agent, args=(sh,), kwargs={"stop": stop})
    t.start()
    try:
        wait_until(
            lambda: v.list("segments/s1/") and v.list("checkpoints/s2/"),
            what="the agent to ship segment s1 and a checkpoint of s2",
        )
    finally:
        stop.set()
        t.join(15)
    assert not t.is_alive()
    assert v.list("segments/s1/") == [
        "segments/s1/000000-seg1.stj",
        "segments/s1/000000-seg1.stj.receipt.json",
    ]
    assert v.list("checkpoints/s2/") == ["checkpoints/s2/seg2/0.json"]


def test_agent_command_ships_a_real_journal_and_exits_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    """`sessiontape agent --no-browser` (the jobs alone): ships, then SIGINT → exit 0, no
    traceback."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    write_session(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SESSIONTAPE_"))}
    env["SESSIONTAPE_SHIP_INTERVAL_SECONDS"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli.main", "--home", str(home), "agent", "--no-browser"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        vault = home / "vault" / "objects" / "segments"
        wait_until(
            lambda: list(vault.rglob("*.receipt.json.obj.json")),
            what="`sessiontape agent` to ship the session's segment",
        )
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert out.splitlines()[0].startswith(f"sessiontape agent: shipping to file://{home}/vault")
    assert out.splitlines()[-1].startswith("sessiontape agent: stopped after")
    assert len(list(vault.rglob("*.stj.obj.json"))) == 1


def test_an_extra_job_is_stored_and_dropped_by_a_later_run_that_does_not_ask_for_it(
    tmp_path: Path,
) -> None:
    """run_agent with an index job stores it beside the five; a run without it removes it."""
    from agent.workstation.jobs import job_index

    sh, _, _ = _shipper(tmp_path)
    db = sh.dir / "jobs.sqlite"

    def stored() -> list[str]:
        with sqlite3.connect(db) as con:
            try:
                rows = con.execute("SELECT id FROM apscheduler_jobs").fetchall()
            except sqlite3.OperationalError:  # the scheduler has not created its table yet
                return []
        return sorted(r[0] for r in rows)

    def stored_are(want: list[str]) -> bool:
        return stored() == want

    for extra, expected in ([("index", job_index, 3600)], sorted([*JOBS, "index"])), ([], JOBS):
        stop = threading.Event()
        t = threading.Thread(
            target=run_agent, args=(sh,), kwargs={"stop": stop, "extra_jobs": extra}
        )
        t.start()
        try:
            wait_until(partial(stored_are, expected), what=f"the stored jobs to be {expected}")
        finally:
            stop.set()
            t.join(30)
