"""``sessiontape config show`` and flags against the system policy's locks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.clirun import run

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a system file must be root-owned")


@pytest.fixture
def system_file(tmp_path: Path) -> Path:
    """A root-owned 0644 system file locking the vault URL and the retention class."""
    f = tmp_path / "system.toml"
    f.write_text(
        '[ship]\nvault_url = "s3://firm-vault"\nretention_class_default = "orders"\n'
        '[policy]\nlocked = ["ship.vault_url", "ship.retention_class_default"]\n'
    )
    f.chmod(0o644)
    return f


def test_config_show_prints_value_source_and_lock(tmp_path: Path, system_file: Path) -> None:
    """Text: one line per key, `key = json  # source[, locked]`; the env's try is warned."""
    env = {"SESSIONTAPE_SYSTEM_CONFIG": str(system_file), "SESSIONTAPE_VAULT_URL": "file:///x"}
    env["SESSIONTAPE_JOURNAL_ZSTD_LEVEL"] = "3"
    r = run("config", "show", home=tmp_path / "h", env=env)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert f'ship.vault_url = "s3://firm-vault"  # system:{system_file}, locked' in lines
    assert 'journal.zstd_level = "3"  # env:SESSIONTAPE_JOURNAL_ZSTD_LEVEL' not in lines
    assert "journal.zstd_level = 3  # env:SESSIONTAPE_JOURNAL_ZSTD_LEVEL" in lines
    assert "journal.rotate_seconds = 300  # default" in lines
    assert r.err == (
        f"sessiontape: warning: ship.vault_url is locked by {system_file}; "
        "the value from env:SESSIONTAPE_VAULT_URL is ignored\n"
    )


def test_config_show_json_lists_every_key(tmp_path: Path, system_file: Path) -> None:
    """--json: a list of {key, value, source, locked}."""
    env = {"SESSIONTAPE_SYSTEM_CONFIG": str(system_file)}
    r = run("config", "show", "--json", home=tmp_path / "h", env=env)
    rows = {row["key"]: row for row in json.loads(r.out)}
    assert rows["ship.retention_class_default"] == {
        "key": "ship.retention_class_default",
        "value": "orders",
        "source": f"system:{system_file}",
        "locked": True,
    }
    assert rows["capture.extra_args"] == {
        "key": "capture.extra_args",
        "value": [],
        "source": "default",
        "locked": False,
    }


def test_record_class_flag_cannot_override_a_locked_class(
    tmp_path: Path, system_file: Path
) -> None:
    """`record --class communications` under a locked class: the warning line names the flag
    (the URL is then refused before any browser starts)."""
    env = {"SESSIONTAPE_SYSTEM_CONFIG": str(system_file)}
    r = run("record", "ftp://x", "--class", "communications", home=tmp_path / "h", env=env)
    assert r.err.splitlines()[0] == (
        f"sessiontape: warning: ship.retention_class_default is locked by {system_file}; "
        "the value from flag:--class is ignored"
    )
    assert r.code == 2


def test_world_writable_system_file_stops_the_cli_with_exit_2(
    tmp_path: Path, system_file: Path
) -> None:
    """A system file anyone could write is a one-line config error."""
    system_file.chmod(0o666)
    env = {"SESSIONTAPE_SYSTEM_CONFIG": str(system_file)}
    r = run("config", "show", home=tmp_path / "h", env=env)
    assert (r.code, r.err) == (
        2,
        f"sessiontape: error: {system_file}: system config file must not be group- or "
        "world-writable (mode 0666)\n",
    )


def test_demo_adds_no_firm_recipient_when_the_policy_locks_them(
    tmp_path: Path, system_file: Path
) -> None:
    """with_demo_recipient leaves a locked [seal.firm] as central IT wrote it."""
    from agent.cli.demo_firm import with_demo_recipient
    from agent.config import load_config

    system_file.write_text('[policy]\nlocked = ["seal.firm"]\n')
    cfg = load_config(env={"SESSIONTAPE_SYSTEM_CONFIG": str(system_file)})
    assert with_demo_recipient(cfg, tmp_path) == (cfg, "")
    unlocked = load_config(env={})
    assert with_demo_recipient(unlocked, tmp_path)[0].seal.firm.recipients != []
