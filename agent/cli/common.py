"""Small helpers shared by CLI modules: state, logging set-up, output."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from agent.cli.state import STATE
from agent.errors import UsageError

if TYPE_CHECKING:  # agent.config imports every stage's section: load it only when needed
    from agent.config import Config


def home() -> Path:
    """The state directory, created on first use (0700, missing parents too); a path that is
    not a directory, cannot be created, belongs to another account or is open to group/world
    is a usage error naming it (the agent's keys, journals and index must be its alone)."""
    from agent.keystore.perms import check_state_dir, private_dir

    h = STATE.home
    if h.exists() and not h.is_dir():
        raise UsageError(
            f"{h}: the state directory (--home or SESSIONTAPE_HOME) is not a directory"
        )
    try:
        private_dir(h)
    except OSError as exc:
        raise UsageError(f"{h}: cannot create the state directory: {exc.strerror}") from exc
    check_state_dir(h)
    return h


def writable_home() -> Path:
    """:func:`home`, checked by writing a probe file, for commands that must write there
    (a read-only home fails here with one line instead of midway)."""
    h = home()
    try:
        fd, probe = tempfile.mkstemp(prefix=".st-probe-", dir=h)
    except OSError as exc:
        raise UsageError(f"{h}: the state directory is not writable: {exc.strerror}") from exc
    os.close(fd)
    os.unlink(probe)
    return h


def config() -> Config:
    """The loaded configuration."""
    return STATE.config


def flag_override(key: str, value: Any, flag: str) -> Config:
    """Set config ``key`` (``"section.key"``) from command-line ``flag`` for this run, through
    the one function that honours the system policy's locks
    (:func:`agent.config.override`); a locked key keeps its value and the warning line goes
    to stderr. Returns the configuration now in force."""
    from agent.config import override

    cfg, warning = override(STATE.config, key, value, flag)
    if warning:
        typer.echo(warning, err=True)
    STATE.use_config(cfg)
    return cfg


def setup_logging() -> None:
    """JSON operational log into ``<home>/logs/agent.log``."""
    from agent.logs import configure

    configure(home(), config().agent.log_level)


def echo_json(obj: Any) -> None:
    """Print JSON to stdout."""
    typer.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))
