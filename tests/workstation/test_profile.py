"""The workstation's persistent profile and downloads directories: created private, and
refused when another account could write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import AgentConfig
from agent.errors import UsageError
from agent.workstation.profile import profile_dirs


def test_default_dirs_are_created_0700_inside_the_home(tmp_path: Path) -> None:
    """No keys set: <home>/profile and <home>/downloads, mode 0700."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    dirs = profile_dirs(home, AgentConfig())
    assert dirs.user_data_dir == home / "profile" and dirs.downloads_dir == home / "downloads"
    assert (home / "profile").stat().st_mode & 0o777 == 0o700
    assert (home / "downloads").stat().st_mode & 0o777 == 0o700


def test_configured_profile_dir_is_used_and_created(tmp_path: Path) -> None:
    """agent.profile_dir elsewhere (missing parents too) is created 0700 and used."""
    where = tmp_path / "desk" / "chromium"
    dirs = profile_dirs(tmp_path, AgentConfig(profile_dir=str(where)))
    assert dirs.user_data_dir == where and where.stat().st_mode & 0o777 == 0o700


def test_a_profile_other_accounts_can_write_is_refused(tmp_path: Path) -> None:
    """A world-writable existing profile: a usage error naming the key, the path and the fix."""
    where = tmp_path / "shared"
    where.mkdir()
    where.chmod(0o777)
    with pytest.raises(UsageError) as err:
        profile_dirs(tmp_path, AgentConfig(profile_dir=str(where)))
    assert err.value.message == (
        f"{where}: agent.profile_dir has mode 0777; other accounts can write it "
        f"(need 0700: chmod 700 {where})"
    )


def test_a_profile_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    """agent.profile_dir naming a regular file: one line naming it."""
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(UsageError, match="agent.profile_dir is not a directory"):
        profile_dirs(tmp_path, AgentConfig(profile_dir=str(f)))
