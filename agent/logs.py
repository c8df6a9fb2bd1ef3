"""Operational logging: structlog, JSON lines, never event payloads or secrets.

CLI commands log to ``<home>/logs/agent.log`` (JSON, one object per line) and only warnings
and errors reach stderr, as one readable line. Log calls pass ids, counts and error classes -
never payloads, typed values, keys or tokens' underlying values.

Logging never raises into the code that logs: when the log file cannot be written (a full
disk, a read-only home) each line goes to stderr instead, and the file is tried again for
every later line, so logging resumes there once space returns. A line is written to the file
whole or not at all (a short write is cut back), so the file stays one JSON object per line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from pathlib import Path

import structlog

_configured = False


class _Stderr:
    """Writes to whatever ``sys.stderr`` is at call time (pytest swaps and closes streams)."""

    def write(self, data: str) -> int:
        with contextlib.suppress(Exception):  # a closed or broken stderr loses only the line
            sys.stderr.write(data)
            sys.stderr.flush()
        return len(data)

    def flush(self) -> None:
        with contextlib.suppress(Exception):
            sys.stderr.flush()


class LogFile:
    """A JSON-lines log file that falls back to stderr, line by line, when it cannot write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fallback = _Stderr()
        self.failing: str | None = None  # why the file is not written now (None: it is)
        self._lock = threading.Lock()
        self._pending = ""

    def write(self, data: str) -> int:
        """Buffer ``data``; write every completed line to the file (or stderr). Never raises."""
        with self._lock:
            self._pending += data
            while "\n" in self._pending:
                line, self._pending = self._pending.split("\n", 1)
                self._write_line(line + "\n")
        return len(data)

    def flush(self) -> None:
        """Lines are written as they complete; nothing is held back but a partial line."""

    def _write_line(self, line: str) -> None:
        error = self._append(line.encode())
        if error is None:
            if self.failing is not None:
                self.failing = None
            return
        if self.failing is None:
            self.failing = error
            self.fallback.write(
                f"sessiontape: cannot write log file {self.path}: {error}; logging to stderr\n"
            )
        self.fallback.write(line)

    def _append(self, data: bytes) -> str | None:
        """Append ``data`` whole; on failure cut any partial write back and say why."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            return (exc.strerror or str(exc)).lower()
        size = -1
        try:
            size = os.fstat(fd).st_size
            written = os.write(fd, data)
            if written != len(data):
                os.ftruncate(fd, size)
                return "no space left on device (short write)"
            return None
        except OSError as exc:
            if size >= 0:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
            return (exc.strerror or str(exc)).lower()
        finally:
            os.close(fd)


def configure(home: Path | None, level: str = "info") -> None:
    """Send JSON logs to ``<home>/logs/agent.log`` (or stderr when home is None)."""
    global _configured
    lvl = getattr(logging, level.upper(), logging.INFO)
    stream: _Stderr | LogFile = _Stderr() if home is None else LogFile(home / "logs" / "agent.log")
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.WriteLoggerFactory(file=stream),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    _configured = True


def configure_quiet() -> None:
    """Tests and library use: JSON to stderr, warnings and above."""
    configure(None, "warning")
