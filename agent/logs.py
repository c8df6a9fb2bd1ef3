"""Operational logging: structlog, JSON lines, never event payloads or secrets.

CLI commands log to ``<home>/logs/agent.log`` (JSON, one object per line) and only warnings
and errors reach stderr, as one readable line. Log calls pass ids, counts and error classes -
never payloads, typed values, keys or tokens' underlying values.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import structlog

_configured = False


class _Stderr:
    """Writes to whatever ``sys.stderr`` is at call time (pytest swaps and closes streams)."""

    def write(self, data: str) -> int:
        return sys.stderr.write(data)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(home: Path | None, level: str = "info") -> None:
    """Send JSON logs to ``<home>/logs/agent.log`` (or stderr when home is None)."""
    global _configured
    lvl = getattr(logging, level.upper(), logging.INFO)
    stream: Any = _Stderr()
    if home is not None:
        (home / "logs").mkdir(parents=True, exist_ok=True)
        stream = open(home / "logs" / "agent.log", "a", buffering=1)  # noqa: SIM115
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    _configured = True


def configure_quiet() -> None:
    """Tests and library use: JSON to stderr, warnings and above."""
    configure(None, "warning")
