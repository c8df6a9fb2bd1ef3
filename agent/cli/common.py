"""Small helpers shared by CLI modules: state, logging set-up, output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from agent.cli.state import STATE

if TYPE_CHECKING:  # agent.config imports every stage's section: load it only when needed
    from agent.config import Config


def home() -> Path:
    """The state directory, created on first use (0700)."""
    h = STATE.home
    h.mkdir(parents=True, exist_ok=True, mode=0o700)
    return h


def config() -> Config:
    """The loaded configuration."""
    return STATE.config


def setup_logging() -> None:
    """JSON operational log into ``<home>/logs/agent.log``."""
    from agent.logs import configure

    configure(home(), config().agent.log_level)


def echo_json(obj: Any) -> None:
    """Print JSON to stdout."""
    typer.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))
