"""`sessiontape install` / `uninstall`: the files land where systemd and the desktop look,
nothing is enabled unless asked, nothing foreign is overwritten or removed."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.cli.clirun import run_main
from tests.platform.systemd import SESSIONTAPE, fake_systemctl, validate_desktop_entry, verify_unit

UNIT = "sessiontape-agent.service"


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A desktop user's HOME, with a logging systemctl first on PATH."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    fake_systemctl(tmp_path / "bin", tmp_path / "systemctl.log")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    return home


def _calls(desk: Path) -> str:
    log = desk.parent / "systemctl.log"
    return log.read_text(encoding="utf-8") if log.exists() else ""


def _st(capsys: pytest.CaptureFixture[str], desk: Path, *argv: str) -> tuple[int, str, str]:
    return run_main(capsys, "--home", str(desk / "state"), *argv)


def _user_files(desk: Path) -> tuple[Path, Path]:
    conf = desk / ".config"
    return conf / "systemd" / "user" / UNIT, conf / "autostart" / "sessiontape-agent.desktop"


def test_install_user_writes_a_valid_unit_and_autostart_entry_and_enables_nothing(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both files are written and valid, the next commands are printed, systemctl is not run."""
    code, out, err = _st(capsys, desk, "install", "--user", "--exec", str(SESSIONTAPE))
    assert code == 0, err
    unit, entry = _user_files(desk)
    assert f"wrote {unit}" in out and f"wrote {entry}" in out
    assert f"systemctl --user daemon-reload && systemctl --user enable --now {UNIT}" in out
    assert verify_unit(unit, user=True, runtime_dir=desk.parent / "rt") == ""
    assert validate_desktop_entry(entry) == ""
    assert f"exec {SESSIONTAPE} agent" in entry.read_text(encoding="utf-8")
    assert _calls(desk) == ""


def test_install_then_uninstall_leaves_no_file_and_keeps_the_state_dir(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The round trip removes both files, disables the unit, and says the records stay."""
    (desk / "state").mkdir(mode=0o700)
    assert _st(capsys, desk, "install", "--user", "--exec", str(SESSIONTAPE))[0] == 0
    code, out, err = _st(capsys, desk, "uninstall", "--user")
    assert code == 0, err
    assert [p for p in (desk / ".config").rglob("*") if p.is_file()] == []
    assert f"--user disable --now {UNIT}" in _calls(desk)
    assert "state directory (journals, keys, index) is kept" in out
    assert (desk / "state").is_dir()


def test_install_refuses_a_different_existing_file_unless_forced(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An edited unit is not overwritten (exit 2, path named); --force replaces it."""
    unit, _ = _user_files(desk)
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\nExecStart=/bin/true\n", encoding="utf-8")
    code, _, err = _st(capsys, desk, "install", "--user", "--exec", str(SESSIONTAPE))
    assert code == 2
    assert f"{unit} exists with other content; pass --force" in err
    assert unit.read_text(encoding="utf-8") == "[Service]\nExecStart=/bin/true\n"
    code, out, err = _st(capsys, desk, "install", "--user", "--exec", str(SESSIONTAPE), "--force")
    assert code == 0, err
    assert f"ExecStart={SESSIONTAPE} agent" in unit.read_text(encoding="utf-8")


def test_uninstall_keeps_a_file_install_did_not_write(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A unit without the install marker is left alone and reported."""
    unit, _ = _user_files(desk)
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\nExecStart=/bin/true\n", encoding="utf-8")
    code, out, _ = _st(capsys, desk, "uninstall", "--user")
    assert code == 0
    assert unit.exists()
    assert f"kept {unit}: not written by sessiontape install" in out


def test_install_enable_runs_daemon_reload_and_enable_now_and_reports_it(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--enable is the only way install touches the service manager."""
    code, out, err = _st(capsys, desk, "install", "--user", "--exec", str(SESSIONTAPE), "--enable")
    assert code == 0, err
    assert _calls(desk) == f"--user daemon-reload\n--user enable --now {UNIT}\n"
    assert f"systemctl --user enable --now {UNIT}: ok" in out


def test_dry_run_prints_the_files_and_writes_nothing(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run shows each path and its text; no file appears."""
    code, out, _ = _st(capsys, desk, "install", "--user", "--exec", str(SESSIONTAPE), "--dry-run")
    assert code == 0
    unit, entry = _user_files(desk)
    assert f"would write {unit}:" in out and "PassEnvironment=DISPLAY" in out
    assert f"would write {entry}:" in out
    assert not unit.exists() and not entry.exists()


def test_install_system_without_the_account_says_how_to_create_it(
    tmp_path: Path, desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No `sessiontape` account in the target system: exit 2 with the useradd line."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n", encoding="utf-8")
    argv = ("install", "--system", "--exec", str(SESSIONTAPE), "--root", str(root))
    code, _, err = _st(capsys, desk, *argv)
    assert code == 2
    assert "the system account 'sessiontape' does not exist: create it with `useradd" in err
    assert not (root / "etc" / "systemd").exists()


def test_install_system_writes_a_verified_unit_when_the_account_exists(
    tmp_path: Path, desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the account present, only the system unit is written, and it verifies."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    passwd = "sessiontape:x:998:998::/var/lib/sessiontape:/usr/sbin/nologin\n"
    (root / "etc" / "passwd").write_text(passwd, encoding="utf-8")
    argv = ("install", "--system", "--exec", str(SESSIONTAPE), "--root", str(root))
    code, out, err = _st(capsys, desk, *argv)
    assert code == 0, err
    unit = root / "etc" / "systemd" / "system" / UNIT
    assert sorted(p for p in root.rglob("*") if p.is_file()) == [root / "etc" / "passwd", unit]
    assert verify_unit(unit, user=False, runtime_dir=tmp_path / "rt") == ""
    assert f"systemctl daemon-reload && systemctl enable --now {UNIT}" in out


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_install_system_as_a_non_root_user_is_refused() -> None:
    """Run as uid 65534, `install --system` names the file and asks for root."""
    if os.geteuid() != 0:
        pytest.skip("switching to another uid needs root")
    from tests.attacks.osusers import code_mounts, python_for

    # The checkout and its interpreter may live under a 0700 directory (/root, mktemp): the
    # code is bind-mounted where uid 65534 reaches it, and a python it may execute is found.
    with code_mounts() as pythonpath, tempfile.TemporaryDirectory(dir="/tmp") as d:
        Path(d).chmod(0o755)
        py = python_for(pwd.getpwuid(65534).pw_name, pythonpath)
        assert py is not None, "no python uid 65534 may execute with this checkout's packages"
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", py]
        cmd += ["-m", "agent.cli.main", "--home", f"{d}/state", "install", "--system"]
        env = {"PATH": os.environ["PATH"], "PYTHONPATH": pythonpath, "HOME": d}
        cmd += ["--exec", "/bin/true"]  # an executable uid 65534 reaches; the path is written
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, cwd="/")
    assert p.returncode == 2, p.stderr
    assert "/etc/systemd/system/sessiontape-agent.service and needs root" in p.stderr
    assert "running as uid 65534" in p.stderr


def test_install_on_an_unsupported_platform_is_refused_by_name(
    desk: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On macOS the command exits 2 with "not supported yet" and writes nothing."""
    monkeypatch.setattr(sys, "platform", "darwin")
    code, _, err = _st(capsys, desk, "install", "--user", "--exec", str(SESSIONTAPE))
    assert code == 2
    assert "install on darwin is not supported yet: launchd" in err
    assert not (desk / ".config").exists()


def test_exactly_one_scope_is_required(desk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Neither or both of --user/--system is a usage error."""
    assert "exactly one of --user or --system" in _st(capsys, desk, "install")[2]
    assert (
        "exactly one of --user or --system"
        in _st(capsys, desk, "uninstall", "--user", "--system")[2]
    )


def test_uninstall_system_in_a_staged_root_removes_the_unit_without_systemctl(
    tmp_path: Path, desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A staged --root is not the running system: the unit goes, systemctl is not run."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("sessiontape:x:998:998::/:/bin/false\n", encoding="utf-8")
    argv = ("--exec", str(SESSIONTAPE), "--root", str(root))
    assert _st(capsys, desk, "install", "--system", *argv)[0] == 0
    code, out, err = _st(capsys, desk, "uninstall", "--system", "--root", str(root))
    assert code == 0, err
    assert not (root / "etc" / "systemd" / "system" / UNIT).exists()
    assert _calls(desk) == ""
