"""The status board against real parts: a real ship scheduler whose ship job fails, stops or
hangs, and a real recording whose journal and checkpoint stream the board reads from disk."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.clock import SystemClock
from agent.config import Config
from agent.health.board import StatusBoard
from agent.health.client import query_status
from agent.health.server import HealthHandle, start_health
from agent.pipeline import Recording
from agent.ship.config import ShipConfig
from agent.ship.filevault import FileVault
from agent.ship.runtime import build_shipper
from agent.ship.scheduler import JobRun, build_scheduler
from agent.ship.shipper import Shipper
from agent.ship.testing import FakeSource
from agent.testing import FakeClock, make_event
from tests.cli.clirun import run_main
from tests.waiting import wait_until

NS = 1_000_000_000


def _ship_state(home: Path) -> dict[str, Any]:
    doc = query_status(home)
    return doc["ship_job"] if doc else {}


@pytest.fixture
def scheduled(tmp_path: Path, cfg: Config) -> Iterator[tuple[Any, FakeSource, Path, Path]]:
    """A real scheduler (1 s ship interval) shipping a fake source to a file vault, reporting
    to a board served for its home: (scheduler, source, vault root, home)."""
    clock = SystemClock()
    vault_root = tmp_path / "vault"
    src = FakeSource(tmp_path / "journals")
    home = tmp_path / "home"
    sh = Shipper(
        home,
        ShipConfig.model_validate({"interval_seconds": 1, "checkpoint_interval_seconds": 1}),
        {"primary": FileVault(vault_root, clock=clock)},
        src,
        clock=clock,
    )
    src.add("s1", "seg1", b"sealed", sealed_utc_ns=time.time_ns())
    board = StatusBoard(home)
    sched = build_scheduler(sh, on_job=board.job_run)
    board.watch_scheduler(sched, 1)
    sched.start()
    handle: HealthHandle = start_health(board, home, cfg, interval_s=0.5)
    try:
        yield sched, src, vault_root, home
    finally:
        handle.stop()
        if sched.running:
            sched.shutdown(wait=False)


def test_failing_then_removed_ship_job_shows_in_status_json_within_a_minute(
    scheduled: tuple[Any, FakeSource, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """ok after a pass that shipped; failing with the vault's error once the vault is
    unreachable; stopped (error kept) once the job is gone: `sessiontape status --json`."""
    sched, src, vault_root, home = scheduled
    wait_until(lambda: _ship_state(home).get("state") == "ok", what="ship job ok", timeout_s=60)
    shutil.rmtree(vault_root)
    vault_root.write_text("a file where the vault directory was")
    src.add("s1", "seg2", b"sealed too", sealed_utc_ns=time.time_ns())
    failing = wait_until(
        lambda: (s := _ship_state(home)).get("state") == "failing" and s,
        what="ship job failing",
        timeout_s=60,
    )
    assert str(vault_root) in failing["last_error"]
    sched.remove_job("ship")
    code, out, _ = run_main(capsys, "--home", str(home), "status", "--json")
    assert code == 0
    job = json.loads(out)["ship_job"]
    assert job["state"] == "stopped"
    assert job["last_error"] == failing["last_error"]
    assert job["next_run"] is None


def test_ship_job_whose_scheduler_died_shows_stopped(
    scheduled: tuple[Any, FakeSource, Path, Path],
) -> None:
    """A scheduler shut down (its threads gone) is a stopped ship job, not an ok one."""
    sched, _, _, home = scheduled
    wait_until(lambda: _ship_state(home).get("state") == "ok", what="ship job ok", timeout_s=60)
    sched.shutdown(wait=False)
    assert _ship_state(home)["state"] == "stopped"


def test_ship_job_that_does_not_finish_within_twice_its_interval_is_late(tmp_path: Path) -> None:
    """A run that started and never ended: ok within 2 x interval, late after."""
    from apscheduler.schedulers.background import BackgroundScheduler

    clock = FakeClock()
    board = StatusBoard(tmp_path, clock=clock)
    sched = BackgroundScheduler(timezone="UTC")
    sched.add_job(lambda: None, "interval", seconds=15, id="ship")
    sched.start(paused=True)
    try:
        board.watch_scheduler(sched, 15)
        board.job_run(JobRun("ship", "start", clock.utc_ns()))
        clock.advance_s(29)
        assert board.snapshot()["ship_job"]["state"] == "ok"
        assert board.snapshot()["ship_job"]["running"] is True
        clock.advance_s(2)
        assert board.snapshot()["ship_job"]["state"] == "late"
    finally:
        sched.shutdown(wait=False)


def test_board_reads_durable_events_backlog_and_vault_checkpoint_of_a_real_recording(
    home: Path, cfg: Config
) -> None:
    """While a real recording writes: the last durable event is its journal's last commit,
    its open segment is backlog, and the checkpoint its stream shipped to the (in-home) vault
    is the last checkpoint; after it stops, recording is false and the sealed segment waits
    until a ship pass puts it in the vault."""
    board = StatusBoard(home)
    rec = Recording(home, cfg)
    try:
        board.recording_started(rec.session_id)
        asyncio.run(rec.sink.append_many([make_event(payload={"n": i}) for i in range(50)]))
        snap = board.snapshot()
        assert snap["recording"] is True and snap["session_id"] == rec.session_id
        assert snap["last_durable_event"] is not None
        assert snap["ship_backlog"]["segments"] == 1
        cp = wait_until(
            lambda: board.snapshot()["last_checkpoint"],
            what="a checkpoint in the vault",
            timeout_s=60,
        )
        assert cp["session_id"] == rec.session_id
        assert cp["key"].startswith(f"checkpoints/{rec.session_id}/")
    finally:
        rec.close()
        board.recording_stopped()
    after = board.snapshot()
    assert after["recording"] is False
    assert after["ship_backlog"]["segments"] == 1
    assert after["ship_backlog"]["bytes"] > 0
    shipper = build_shipper(home, cfg.ship)
    try:
        assert len(shipper.ship_once().shipped) == 1
    finally:
        shipper.state.close()
    assert board.snapshot()["ship_backlog"]["segments"] == 0
