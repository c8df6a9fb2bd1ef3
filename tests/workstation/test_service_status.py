"""``sessiontape status`` of a running workstation service: the service feeds the health board
(session, tabs, ship job) and the status goes to "not running" when the agent stops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.waiting import wait_until
from tests.workstation.desktop import ROOT, LoginSite, start_agent

pytestmark = pytest.mark.browser


def _status(home: Path) -> tuple[int, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONTAPE_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "agent.cli.main", "--home", str(home), "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode, json.loads(proc.stdout)


def test_status_of_the_running_service_names_its_session_tabs_and_ship_job(
    tmp_path: Path, site: LoginSite
) -> None:
    home = tmp_path / "home"
    env = {"SESSIONTAPE_AGENT_START_PAGES": json.dumps([site.base + "/", site.base + "/typed"])}
    agent = start_agent(home, None, tmp_path, "--headless", env=env)
    try:
        sid = agent.session()

        def live() -> dict[str, Any] | None:
            code, doc = _status(home)
            ok = code == 0 and doc["tabs"] == 2 and doc["ship_job"]["state"] == "ok"
            return doc if ok else None

        doc = wait_until(live, what="status: two tabs and a ship run", timeout_s=90)
        assert doc["recording"] is True
        assert doc["session_id"] == sid
        assert doc["pid"] == agent.proc.pid
        assert agent.stop() == 0
    finally:
        if agent.proc.poll() is None:
            agent.kill9()
    code, last = _status(home)
    assert code == 1
    assert last["agent_running"] is False
    assert last["recording"] is False
    assert last["stopped"] is not None  # the time of the last status, written at stop
    assert last["session_id"] == sid
