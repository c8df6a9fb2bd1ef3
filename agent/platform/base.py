"""The interface every platform implements, and the plain records it returns.

``install`` writes files (and, when asked, enables the service); ``uninstall`` removes exactly
what ``install`` wrote. Neither touches the state directory: the journals, keys and index
outlive the service that writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class Scope(StrEnum):
    """Who the service runs as: the desktop user's own session, or a dedicated system account."""

    USER = "user"
    SYSTEM = "system"


@dataclass(frozen=True)
class InstallOptions:
    """What to install and where.

    ``root`` stages system files under another directory (an image being built, or a test);
    ``home`` is the state directory the service runs with (None: the agent's default).
    """

    scope: Scope
    exec_path: Path
    home: Path | None = None
    root: Path = Path("/")
    force: bool = False
    enable: bool = False
    dry_run: bool = False
    create_account: bool = False


@dataclass(frozen=True)
class PlannedFile:
    """One file an install writes: where, and its full text."""

    path: Path
    text: str


@dataclass
class Outcome:
    """What an install or uninstall did, in lines a person reads, and the commands left to run."""

    done: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)


class Platform(Protocol):
    """How one operating system starts the agent."""

    def describe(self) -> str:
        """One line: what ``install`` sets up on this platform."""
        ...

    def install(self, options: InstallOptions) -> Outcome:
        """Write the service files for ``options.scope``; refuse to overwrite different files
        unless ``options.force``; enable and start only when ``options.enable``."""
        ...

    def uninstall(self, scope: Scope, root: Path = Path("/")) -> Outcome:
        """Stop and disable the service if the service manager is there, and remove the files
        ``install`` wrote (recognised by their marker); never the state directory."""
        ...
