"""Owner and mode checks for the agent's private files and directories.

The agent's state directory, its key files and the PIN file belong to the account the agent
runs as and to nobody else: a file another account could read, or a directory another account
could change, is refused with one line naming it (never silently used).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from agent.errors import KeyMaterialError, UsageError


def _owner_problem(st: os.stat_result) -> str | None:
    uid = os.geteuid()
    if st.st_uid != uid:
        return f"is owned by uid {st.st_uid}, not by the running user (uid {uid})"
    return None


def private_file_problem(path: Path) -> str | None:
    """Why ``path`` is not a private file of this account (None when it is)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    problem = _owner_problem(st)
    if problem is None and stat.S_IMODE(st.st_mode) & 0o077:
        problem = f"has mode {stat.S_IMODE(st.st_mode):04o}; other users can read it (need 0600)"
    return problem


def check_key_file(path: Path, what: str = "key file") -> None:
    """Refuse a secret file that is not owned by this account or is group/world accessible."""
    problem = private_file_problem(path)
    if problem is not None:
        raise KeyMaterialError(f"{path}: {what} {problem}")


def check_state_dir(path: Path) -> None:
    """Refuse a state directory owned by another account or open to group/world."""
    st = path.stat()
    problem = _owner_problem(st)
    mode = stat.S_IMODE(st.st_mode)
    if problem is None and mode & 0o077:
        problem = f"has mode {mode:04o}; other users can reach it (need 0700: chmod 700 {path})"
    if problem is not None:
        raise UsageError(f"{path}: the state directory {problem}")


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700 directories; return it."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(d, 0o700)
    return path


def writable_by_others(path: Path) -> str | None:
    """Why another account could replace ``path`` (a public file whose integrity matters, such
    as a firm recipient key): owned by neither root nor this account, or group/world-writable.
    None when only root or this account can change it."""
    st = path.stat()
    if st.st_uid not in (0, os.geteuid()):
        return f"is owned by uid {st.st_uid} (need root or uid {os.geteuid()})"
    if stat.S_IMODE(st.st_mode) & 0o022:
        return f"has mode {stat.S_IMODE(st.st_mode):04o}; other users can replace it"
    return None
