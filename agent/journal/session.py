"""A session's identity: its id, directory, who recorded it where, and its writer lock."""

from __future__ import annotations

import fcntl
import getpass
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from agent import __version__
from agent.config import Config
from agent.errors import JournalError


def new_session_id(utc_ns: int) -> str:
    """A sortable, readable session id: ``20261126T122233Z-3f9a1c2b``."""
    dt = datetime.fromtimestamp(utc_ns / 1e9, tz=UTC)
    return dt.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)


def journals_dir(home: Path) -> Path:
    """Where sessions live."""
    return home / "journals"


@dataclass(frozen=True)
class PreviousSession:
    """The session a new one follows on the same workstation (genesis ``previous_session``).

    ``seal_hash``: SHA-256 (hex) of the previous session's last seal body; ``reason``: why the
    new session began (``rotation``, ``restart`` after a normal end, ``recovered`` after a
    crash that recovery sealed)."""

    session_id: str
    seal_hash: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"session_id": self.session_id, "seal_hash": self.seal_hash, "reason": self.reason}


@dataclass
class SessionMeta:
    """Who and where (and which session this one follows), written into every genesis."""

    user: str
    workstation: str
    record_class: str | None = None  # an explicit retention class (``--class``)
    previous: PreviousSession | None = None


def default_meta(config: Config, user: str | None = None) -> SessionMeta:
    """OS user (or configured identity) and hostname (or configured workstation)."""
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = str(os.getuid())
    ident = user or config.agent.identity or os_user
    return SessionMeta(user=ident, workstation=config.agent.workstation or socket.gethostname())


def lock_session(sdir: Path, session_id: str) -> IO[str]:
    """Take the session's exclusive lock (held while the journal is open), or refuse."""
    lock = open(sdir / ".lock", "a+")  # noqa: SIM115 - held for the session's lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise JournalError(
            f"session {session_id} is being written by another process", retryable=False
        ) from None
    return lock


def meta_fields(meta: SessionMeta) -> dict[str, Any]:
    """Who recorded, where, with which agent, after which session: in ``session.start`` and
    every genesis."""
    return {
        "user": meta.user,
        "workstation": meta.workstation,
        "record_class": meta.record_class or "default",
        "agent_version": __version__,
        "previous_session": meta.previous.as_dict() if meta.previous else None,
    }


def resume_payload(last_t: int | None) -> dict[str, Any]:
    """``agent.start`` on resume: the agent says it is back, after which last event."""
    return {
        "pid": os.getpid(),
        "version": __version__,
        "resumed": True,
        "last_event_utc_ns": last_t if last_t is not None else 0,
    }
