"""The workstation browser's persistent profile and downloads directory, checked before use.

Both live where ``agent.profile_dir`` / ``agent.downloads_dir`` say (default ``<home>/profile``
and ``<home>/downloads``), are created 0700 for the agent's account, and are refused when
another account could write them: whoever can write a profile changes what the recorded
browser loads and sends (its preferences, cookies, cached pages).
"""

from __future__ import annotations

from pathlib import Path

from agent.capture.profile import ProfileDirs, owner_problem
from agent.config import AgentConfig
from agent.errors import UsageError
from agent.keystore.perms import private_dir


def _checked_dir(path: Path, key: str) -> Path:
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path}: {key} is not a directory")
    try:
        private_dir(path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot create {key}: {exc.strerror}") from exc
    problem = owner_problem(path)
    if problem is not None:
        raise UsageError(f"{path}: {key} {problem}")
    return path


def profile_dirs(home: Path, cfg: AgentConfig) -> ProfileDirs:
    """The checked (created if missing) profile and downloads directories of ``home``."""
    profile = Path(cfg.profile_dir).expanduser() if cfg.profile_dir else home / "profile"
    downloads = Path(cfg.downloads_dir).expanduser() if cfg.downloads_dir else home / "downloads"
    return ProfileDirs(
        _checked_dir(profile.absolute(), "agent.profile_dir"),
        _checked_dir(downloads.absolute(), "agent.downloads_dir"),
    )
