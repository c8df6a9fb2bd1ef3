"""``sessiontape watch``: which session it follows, its one-line refusals, and a real
``watch`` process serving the live view of a session that is still open."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.audit import record_access
from agent.config import load_config
from agent.journal.journal import Journal
from agent.keys import Keyring
from agent.replay.live_launch import active_session
from agent.testing import FakeClock
from tests.cli.clirun import ROOT, run_main
from tests.journals import write_session
from tests.replay.live_helpers import http
from tests.waiting import wait_until


def _homes(tmp_path: Path) -> tuple[Path, str, Journal]:
    """A home with a sealed session, then an open one, then an audit session. The open
    session's journal is returned so the caller keeps it open: once collected, its connection
    closes and SQLite removes the WAL of a segment that was never sealed."""
    home = tmp_path / "home"
    Keyring.load_or_init(home)
    sealed = write_session(home, clock=FakeClock()).session_id
    clock = FakeClock()
    clock.advance_s(60)
    open_ = write_session(home, clock=clock, close=False)
    record_access(home, load_config(env={}, home=home), "audit.view", {"session": open_.session_id})
    return home, sealed, open_


def test_the_newest_session_still_being_recorded_is_followed(tmp_path: Path) -> None:
    home, sealed, journal = _homes(tmp_path)
    assert sealed < journal.session_id
    assert active_session(home) == journal.session_id
    journal.close()


def test_watch_refuses_without_an_active_session_or_a_safe_listener(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    Keyring.load_or_init(home)
    write_session(home, clock=FakeClock())
    code, _, err = run_main(capsys, "--home", str(home), "watch", "--no-open")
    assert code == 2
    assert "no session is being recorded" in err
    code, _, err = run_main(
        capsys, "--home", str(home), "watch", "--no-open", "--listen", "0.0.0.0:9"
    )
    assert code == 2
    assert "not loopback) needs TLS and a token file" in err


def test_a_watch_process_serves_the_open_session(tmp_path: Path) -> None:
    home, _, journal = _homes(tmp_path)
    open_ = journal.session_id
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONTAPE_")}
    env["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, "-m", "agent.cli.main", "--home", str(home), "watch", "--no-open"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert p.stdout is not None
        lines = [p.stdout.readline().strip(), p.stdout.readline().strip()]
        assert lines[0] == f"watching session {open_}"
        url = lines[1].removeprefix("live viewer: ")
        base, _, token = url.partition("/?token=")
        poll = f"{base}/api/live/poll?client=watch-test-1&wait_ms=1000"

        def live() -> dict[str, Any] | None:
            status, body = http(poll, headers={"Authorization": f"Bearer {token}"})
            assert status == 200
            ans: dict[str, Any] = json.loads(body)
            return ans if ans["feed"] and ans["feed"]["state"] == "live" else None

        ans = wait_until(live, what="the watched session's feed to be live")
        assert ans["session_id"] == open_
        assert ans["feed"]["chained_seq"] == 30  # session.start + 6 chunks of 5 ticks
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(30)
        journal.close()
    assert p.returncode == 0
