"""The units and the autostart entry pass the OS's own validators and do what they say."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from agent.errors import UsageError
from agent.platform import linux_files
from tests.platform.systemd import (
    SESSIONTAPE,
    fake_systemctl,
    validate_desktop_entry,
    verify_unit,
)

ROOT = Path(__file__).resolve().parents[2]


def _unit(tmp_path: Path, text: str) -> Path:
    path = tmp_path / linux_files.UNIT_NAME
    path.write_text(text, encoding="utf-8")
    return path


def test_system_unit_passes_systemd_analyze_verify_with_every_hardening_option(
    tmp_path: Path,
) -> None:
    """The system unit, hardening included, verifies without a single complaint."""
    text = linux_files.system_unit(SESSIONTAPE)
    for option in ("ProtectSystem=strict", "ProtectHome=tmpfs", "PrivateTmp=yes", "UMask=0077"):
        assert option in text
    assert verify_unit(_unit(tmp_path, text), user=False, runtime_dir=tmp_path / "rt") == ""


def test_user_unit_passes_systemd_analyze_user_verify(tmp_path: Path) -> None:
    """The user unit verifies cleanly in a user manager and passes the display through."""
    text = linux_files.user_unit(SESSIONTAPE, tmp_path / "state")
    assert "PassEnvironment=DISPLAY WAYLAND_DISPLAY XAUTHORITY" in text
    assert verify_unit(_unit(tmp_path, text), user=True, runtime_dir=tmp_path / "rt") == ""


def test_verify_reports_an_option_systemd_does_not_know(tmp_path: Path) -> None:
    """The check above can fail: an unknown key makes verify complain, naming it."""
    text = linux_files.system_unit(SESSIONTAPE).replace("UMask=0077", "UMask=0077\nBogus=1")
    assert "Bogus" in verify_unit(_unit(tmp_path, text), user=False, runtime_dir=tmp_path / "rt")


def test_system_unit_runs_as_the_dedicated_account_with_its_0700_state_dir() -> None:
    """User, state directory, its mode and the only writable path are the account's."""
    text = linux_files.system_unit(SESSIONTAPE)
    assert "User=sessiontape\nGroup=sessiontape\n" in text
    assert "StateDirectory=sessiontape\nStateDirectoryMode=0700\n" in text
    assert "ReadWritePaths=/var/lib/sessiontape\n" in text
    assert "Restart=on-failure\n" in text
    assert f"ExecStart={SESSIONTAPE} agent\n" in text


def test_autostart_entry_passes_desktop_file_validate(tmp_path: Path) -> None:
    """The XDG autostart entry is valid and enabled for GNOME."""
    entry = tmp_path / "sessiontape-agent.desktop"
    entry.write_text(linux_files.autostart_entry(SESSIONTAPE), encoding="utf-8")
    assert validate_desktop_entry(entry) == ""
    assert "X-GNOME-Autostart-enabled=true" in entry.read_text(encoding="utf-8")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _run_autostart(tmp_path: Path, systemctl_rc: int) -> tuple[str, str]:
    """Run the autostart line with a fake systemctl and a fake agent; (systemctl log, agent log)."""
    log, ran = tmp_path / "systemctl.log", tmp_path / "agent.log"
    fake_systemctl(tmp_path / "bin", log, rc=systemctl_rc)
    agent = tmp_path / "sessiontape"
    agent.write_text(f'#!/bin/sh\necho "$*" >> {ran}\n', encoding="utf-8")
    agent.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    script = linux_files.autostart_script(agent)
    subprocess.run(["sh", "-c", script], env=env, check=True, timeout=30)
    return _read(log), _read(ran)


def test_autostart_leaves_the_agent_to_systemd_when_the_user_unit_is_enabled(
    tmp_path: Path,
) -> None:
    """With the unit enabled, the entry starts the unit (idempotent) and not a second agent."""
    calls, agent_runs = _run_autostart(tmp_path, systemctl_rc=0)
    assert f"--user start {linux_files.UNIT_NAME}" in calls
    assert "import-environment DISPLAY WAYLAND_DISPLAY XAUTHORITY" in calls
    assert agent_runs == ""


def test_autostart_runs_the_agent_itself_without_a_systemd_user_unit(tmp_path: Path) -> None:
    """When systemctl says the unit is neither enabled nor active, the entry runs the agent."""
    calls, agent_runs = _run_autostart(tmp_path, systemctl_rc=1)
    assert "start" not in calls
    assert agent_runs == "agent\n"


def test_an_executable_path_the_desktop_entry_cannot_quote_is_refused() -> None:
    """A path with a character reserved by the desktop-entry Exec grammar is a usage error."""
    with pytest.raises(UsageError, match=r"cannot go in a desktop entry"):
        linux_files.autostart_entry(Path("/opt/$HOME/sessiontape"))


def test_example_unit_in_config_is_the_generated_system_unit() -> None:
    """config/sessiontape-agent.service is what `install --system` writes for the usual path."""
    example = (ROOT / "config" / "sessiontape-agent.service").read_text(encoding="utf-8")
    assert example == linux_files.system_unit(Path("/usr/local/bin/sessiontape"))
