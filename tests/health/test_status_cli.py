"""``sessiontape status``: the live agent's summary or JSON; the last status file, exit 1,
when no agent answers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.config import Config
from agent.health.board import StatusBoard
from agent.health.server import start_health
from tests.cli.clirun import ROOT, run_main


def test_status_prints_a_short_summary_of_the_live_agent(
    tmp_path: Path, cfg: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    """Recording, session, tabs, backlog, ship job and last error, one line each."""
    home = tmp_path / "home"
    board = StatusBoard(home)
    board.recording_started("sess-9")
    board.tabs(2)
    board.error("vault unreachable")
    h = start_health(board, home, cfg)
    try:
        code, out, err = run_main(capsys, "--home", str(home), "status")
    finally:
        h.stop()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"agent: running (pid {os.getpid()}")
    assert lines[1].startswith("recording: yes, session sess-9 since ")
    assert lines[1].endswith(", 2 tab(s)")
    assert "ship backlog: 0 segment(s), 0 B" in lines
    assert any(line.startswith("ship job: unknown") for line in lines)
    assert lines[-1].endswith(" vault unreachable")


def test_killed_agent_is_reported_not_running_with_its_last_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An agent killed with SIGKILL leaves its socket and status file: status says when it
    was last seen, exits 1, and --json still prints that last document."""
    home = tmp_path / "home"
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from agent.config import load_config
        from agent.health.board import StatusBoard
        from agent.health.server import start_health
        home = Path({str(home)!r})
        board = StatusBoard(home)
        board.recording_started("sess-k")
        start_health(board, home, load_config(env={{}}), interval_s=0.2)
        print("ready", flush=True)
        time.sleep(600)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        code, out, _ = run_main(capsys, "--home", str(home), "status", "--json")
        assert code == 0 and json.loads(out)["session_id"] == "sess-k"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert (home / "run" / "agent.sock").exists()  # nobody cleaned up
    last = json.loads((home / "run" / "status.json").read_text())
    code, out, err = run_main(capsys, "--home", str(home), "status")
    assert code == 1
    assert out == ""
    assert err.strip() == f"agent not running (last status at {last['at']})"
    code, out, err = run_main(capsys, "--home", str(home), "status", "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["agent_running"] is False and doc["session_id"] == "sess-k"


def test_status_without_any_agent_ever_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No socket, no status file: exit 1 naming the file it looked for."""
    home = tmp_path / "home"
    code, _, err = run_main(capsys, "--home", str(home), "status")
    assert code == 1
    assert err.strip() == f"agent not running (no status file {home / 'run' / 'status.json'})"


def test_status_file_of_another_version_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A status file with v 2 is refused naming the file and the version (exit 2)."""
    home = tmp_path / "home"
    (home / "run").mkdir(parents=True)
    (home / "run" / "status.json").write_text('{"v": 2}')
    code, _, err = run_main(capsys, "--home", str(home), "status")
    assert code == 2
    assert "status.json: status file version 2 is not 1" in err
