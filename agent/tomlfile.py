"""The one TOML reader: a file's tables, or a :class:`ConfigError` naming the file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from agent.errors import ConfigError


def read_toml(path: Path, what: str = "config file") -> dict[str, Any]:
    """Parse ``path``; a missing or unreadable file, a directory, or bad TOML (or bytes that
    are not UTF-8) is a one-line ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: {what} is a directory, not a file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
