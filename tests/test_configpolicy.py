"""The system config file: root-owned, [policy] locked keys that no later layer can change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.config import load_config, override
from agent.configpolicy import SYSTEM_ENV, system_path
from agent.errors import ConfigError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a system file must be root-owned")


def _system(tmp_path: Path, body: str) -> Path:
    f = tmp_path / "system.toml"
    f.write_text(body)
    f.chmod(0o644)
    return f


def _warning(key: str, source: str, lock_file: Path) -> str:
    """The documented warning line."""
    return (
        f"sessiontape: warning: {key} is locked by {lock_file}; the value from {source} is ignored"
    )


LOCKED_VAULT = '[ship]\nvault_url = "s3://firm-vault"\n[policy]\nlocked = ["ship.vault_url"]\n'


def test_locked_key_keeps_the_system_value_over_the_user_file(tmp_path: Path) -> None:
    """A user file setting a locked key: the system value stays, one warning names the file."""
    sys_file = _system(tmp_path, LOCKED_VAULT)
    user = tmp_path / "user.toml"
    user.write_text('[ship]\nvault_url = "file:///tmp/mine"\n')
    c = load_config(user, env={SYSTEM_ENV: str(sys_file)})
    assert c.ship.vault_url == "s3://firm-vault"
    assert c.warnings == [_warning("ship.vault_url", f"user:{user}", sys_file)]
    assert c.provenance["ship.vault_url"] == f"system:{sys_file}"


def test_locked_key_keeps_the_system_value_over_the_environment(tmp_path: Path) -> None:
    """SESSIONTAPE_VAULT_URL cannot move a locked vault URL; the warning names the variable."""
    sys_file = _system(tmp_path, LOCKED_VAULT)
    env = {SYSTEM_ENV: str(sys_file), "SESSIONTAPE_VAULT_URL": "file:///tmp/mine"}
    c = load_config(env=env)
    assert c.ship.vault_url == "s3://firm-vault"
    assert c.warnings == [_warning("ship.vault_url", "env:SESSIONTAPE_VAULT_URL", sys_file)]


def test_locked_key_keeps_the_system_value_over_a_flag(tmp_path: Path) -> None:
    """A flag routed through override() leaves a locked key as it is and gives the warning."""
    sys_file = _system(tmp_path, '[policy]\nlocked = ["capture.headless"]\n')
    c = load_config(env={SYSTEM_ENV: str(sys_file)})
    after, warning = override(c, "capture.headless", "true", "--headless")
    assert after.capture.headless == "auto"
    assert warning == _warning("capture.headless", "flag:--headless", sys_file)


def test_unlocked_flag_sets_the_key_and_names_the_flag_as_source(tmp_path: Path) -> None:
    """Without a lock the flag wins and config provenance says so."""
    c, warning = override(load_config(env={}), "capture.headless", "true", "--headless")
    assert (c.capture.headless, warning) == ("true", None)
    assert c.provenance["capture.headless"] == "flag:--headless"


def test_override_equal_to_the_locked_value_is_accepted_without_warning(tmp_path: Path) -> None:
    """A harmless duplicate ("300" from the environment = 300 in the system file) is silent."""
    body = '[journal]\nrotate_seconds = 300\n[policy]\nlocked = ["journal"]\n'
    sys_file = _system(tmp_path, body)
    env = {SYSTEM_ENV: str(sys_file), "SESSIONTAPE_JOURNAL_ROTATE_SECONDS": "300"}
    assert load_config(env=env).warnings == []


def test_whole_section_lock_covers_every_key_and_locks_the_default(tmp_path: Path) -> None:
    """locked = ["journal"]: a key the system file does not set is locked to its default."""
    sys_file = _system(tmp_path, '[policy]\nlocked = ["journal"]\n')
    env = {SYSTEM_ENV: str(sys_file), "SESSIONTAPE_JOURNAL_DURABILITY": "strict"}
    c = load_config(env=env)
    assert c.journal.durability == "best_effort"
    assert "journal.zstd_level" in c.locked
    assert c.warnings == [
        _warning("journal.durability", "env:SESSIONTAPE_JOURNAL_DURABILITY", sys_file)
    ]


def test_unknown_locked_key_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    """A typo in locked is not ignored: it would leave the intended key unlocked."""
    sys_file = _system(tmp_path, '[policy]\nlocked = ["ship.vault_ur1"]\n')
    with pytest.raises(ConfigError) as e:
        load_config(env={SYSTEM_ENV: str(sys_file)})
    assert e.value.message == f"{sys_file}: policy.locked: unknown key 'ship.vault_ur1'"


def test_policy_table_in_the_user_file_is_refused(tmp_path: Path) -> None:
    """Only the system file may lock keys."""
    user = tmp_path / "user.toml"
    user.write_text('[policy]\nlocked = ["ship.vault_url"]\n')
    with pytest.raises(ConfigError) as e:
        load_config(user, env={})
    assert e.value.message == f"{user}: [policy] belongs in the system config file only"


def test_world_writable_system_file_is_refused(tmp_path: Path) -> None:
    """Mode 0666: anyone could write policy, so the file is refused naming its mode."""
    sys_file = _system(tmp_path, LOCKED_VAULT)
    sys_file.chmod(0o666)
    with pytest.raises(ConfigError) as e:
        load_config(env={SYSTEM_ENV: str(sys_file)})
    assert e.value.message == (
        f"{sys_file}: system config file must not be group- or world-writable (mode 0666)"
    )


def test_system_file_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    """A system file owned by uid 65534 (not root) is refused naming the owner."""
    sys_file = _system(tmp_path, LOCKED_VAULT)
    os.chown(sys_file, 65534, 65534)
    with pytest.raises(ConfigError) as e:
        load_config(env={SYSTEM_ENV: str(sys_file)})
    assert (
        e.value.message == f"{sys_file}: system config file must be owned by root (owner uid 65534)"
    )


def test_the_variable_cannot_replace_an_existing_system_file(tmp_path: Path) -> None:
    """Where the real system file exists, $SESSIONTAPE_SYSTEM_CONFIG is not honoured."""
    real = _system(tmp_path, LOCKED_VAULT)
    other = tmp_path / "other.toml"
    assert system_path({SYSTEM_ENV: str(other)}, real) == real
    assert system_path({SYSTEM_ENV: str(other)}, tmp_path / "absent.toml") == other
    assert system_path({}, tmp_path / "absent.toml") is None


def test_system_file_in_a_world_writable_directory_is_refused(tmp_path: Path) -> None:
    """Anyone could replace the file in a 0777 directory: refused naming the directory."""
    d = tmp_path / "etc"
    d.mkdir()
    sys_file = _system(d, LOCKED_VAULT)
    d.chmod(0o777)
    with pytest.raises(ConfigError) as e:
        load_config(env={SYSTEM_ENV: str(sys_file)})
    assert e.value.message == (
        f"{d}: system config directory must not be group- or world-writable (mode 0777)"
    )


def test_a_key_inside_a_table_cannot_be_locked_alone(tmp_path: Path) -> None:
    """locked names sections or section keys; "seal.keys.backend" is refused, "seal.keys"
    locks the whole table."""
    sys_file = _system(tmp_path, '[policy]\nlocked = ["seal.keys.backend"]\n')
    with pytest.raises(ConfigError, match="unknown key 'seal.keys.backend'"):
        load_config(env={SYSTEM_ENV: str(sys_file)})
    sys_file.write_text('[policy]\nlocked = ["seal.keys"]\n')
    assert "seal.keys" in load_config(env={SYSTEM_ENV: str(sys_file)}).locked


def test_firm_that_locks_the_recording_notice_keeps_it_over_the_user(tmp_path: Path) -> None:
    """capture.indicator locked to "both" in the system file: a user file and the environment
    saying "none" are ignored with a warning each."""
    sys_file = _system(
        tmp_path, '[capture]\nindicator = "both"\n[policy]\nlocked = ["capture.indicator"]\n'
    )
    user = tmp_path / "user.toml"
    user.write_text('[capture]\nindicator = "none"\n')
    env = {SYSTEM_ENV: str(sys_file), "SESSIONTAPE_CAPTURE_INDICATOR": "none"}
    c = load_config(user, env=env)
    assert c.capture.indicator == "both"
    assert c.warnings == [
        _warning("capture.indicator", f"user:{user}", sys_file),
        _warning("capture.indicator", "env:SESSIONTAPE_CAPTURE_INDICATOR", sys_file),
    ]
