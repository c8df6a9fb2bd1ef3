"""A persistent browser profile: where it lives, who may write it, and its singleton lock.

By default every launch gets a throwaway profile in a private temporary directory. A
workstation keeps one profile across launches (logins, cookies, bookmarks survive a restart):
:class:`ProfileDirs` names it and the downloads directory beside it. Chromium marks a profile
in use with a ``SingletonLock`` symlink to ``<hostname>-<pid>``; a browser killed with
SIGKILL leaves it behind, and a later launch would then hand its request to whatever process
now has that pid, or refuse. :func:`release_stale_lock` removes a lock whose browser is gone
and refuses (one line, naming the pid) a profile a live browser still holds.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from agent.errors import CaptureError

_SINGLETON_FILES = ("SingletonLock", "SingletonSocket", "SingletonCookie")


@dataclass(frozen=True)
class ProfileDirs:
    """A persistent profile (``--user-data-dir``) and where its downloads go."""

    user_data_dir: Path
    downloads_dir: Path


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def cmdline(pid: int) -> list[str]:
    """The command line of ``pid`` (empty when it cannot be read)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def is_browser_of(pid: int, user_data_dir: Path) -> bool:
    """True when ``pid`` is a browser started on ``user_data_dir`` (a pid reused by an
    unrelated process is not)."""
    return f"--user-data-dir={user_data_dir}" in cmdline(pid)


def release_stale_lock(user_data_dir: Path) -> bool:
    """Remove the singleton files of ``user_data_dir`` when the browser that made them is
    gone; True when a stale lock was removed. A lock held by a live browser on this host, or
    made on another host, is a :class:`CaptureError` naming it."""
    lock = user_data_dir / "SingletonLock"
    try:
        target = os.readlink(lock)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise CaptureError(f"{lock}: unreadable browser profile lock: {exc.strerror}") from exc
    host, _, pid_text = target.rpartition("-")
    if host != socket.gethostname():
        raise CaptureError(
            f"{user_data_dir}: the browser profile is locked by host {host!r}; "
            "it is in use there (or remove its SingletonLock)"
        )
    try:
        pid = int(pid_text)
    except ValueError:
        pid = 0
    if pid > 0 and pid_alive(pid) and is_browser_of(pid, user_data_dir):
        raise CaptureError(
            f"{user_data_dir}: the browser profile is in use by a running browser (pid {pid})"
        )
    for name in _SINGLETON_FILES:
        with contextlib.suppress(FileNotFoundError):
            (user_data_dir / name).unlink()
    return True


def owner_problem(path: Path) -> str | None:
    """Why another account could write ``path`` (None when only this account can)."""
    st = path.stat()
    if st.st_uid != os.geteuid():
        return f"is owned by uid {st.st_uid}, not by the agent's account (uid {os.geteuid()})"
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        return f"has mode {mode:04o}; other accounts can write it (need 0700: chmod 700 {path})"
    return None
