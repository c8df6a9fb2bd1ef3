"""A persistent profile's singleton lock: a lock left by a dead browser is released, one held
by a live browser of that profile is refused naming its pid."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from agent.capture.profile import owner_problem, release_stale_lock
from agent.errors import CaptureError


def _lock(profile: Path, pid: int, host: str | None = None) -> None:
    profile.mkdir(mode=0o700, exist_ok=True)
    os.symlink(f"{host or socket.gethostname()}-{pid}", profile / "SingletonLock")
    (profile / "SingletonCookie").symlink_to("123")
    (profile / "SingletonSocket").symlink_to("/tmp/nowhere/SingletonSocket")


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_a_lock_left_by_a_killed_browser_is_removed_with_its_socket_and_cookie(
    tmp_path: Path,
) -> None:
    """SingletonLock naming a pid that no longer runs: all three singleton files go."""
    profile = tmp_path / "profile"
    _lock(profile, _dead_pid())
    assert release_stale_lock(profile) is True
    assert sorted(p.name for p in profile.iterdir()) == []
    assert release_stale_lock(profile) is False  # nothing left to release


def test_a_lock_whose_pid_now_runs_something_else_is_stale(tmp_path: Path) -> None:
    """The pid was reused by a process that is not a browser on this profile: removed."""
    profile = tmp_path / "profile"
    other = subprocess.Popen(["sleep", "60"])
    try:
        _lock(profile, other.pid)
        assert release_stale_lock(profile) is True
        assert not os.path.lexists(profile / "SingletonLock")
    finally:
        other.kill()
        other.wait()


def test_a_lock_held_by_a_live_browser_of_the_profile_is_refused_naming_the_pid(
    tmp_path: Path,
) -> None:
    """A running process started with --user-data-dir=<profile> holds it: a clear error."""
    profile = tmp_path / "profile"
    holder = subprocess.Popen(["sh", "-c", "sleep 60", f"--user-data-dir={profile}"])
    try:
        _lock(profile, holder.pid)
        with pytest.raises(CaptureError) as err:
            release_stale_lock(profile)
        assert err.value.message == (
            f"{profile}: the browser profile is in use by a running browser (pid {holder.pid})"
        )
        assert os.path.lexists(profile / "SingletonLock")
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_made_on_another_host_is_left_alone(tmp_path: Path) -> None:
    """A profile on a shared disk locked by another machine: refused, the lock kept."""
    profile = tmp_path / "profile"
    _lock(profile, 4242, host="other-desk")
    with pytest.raises(CaptureError, match="locked by host 'other-desk'"):
        release_stale_lock(profile)
    assert os.path.lexists(profile / "SingletonLock")


def test_owner_problem_names_a_group_writable_directory(tmp_path: Path) -> None:
    """0700 is fine; 0770 is a problem naming the mode and the fix."""
    d = tmp_path / "p"
    d.mkdir(mode=0o700)
    assert owner_problem(d) is None
    d.chmod(0o770)
    assert owner_problem(d) == (
        f"has mode 0770; other accounts can write it (need 0700: chmod 700 {d})"
    )
