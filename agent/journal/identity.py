"""The agent's identity and its per-agent segment counter (``<home>/agent.json``).

Every segment an agent creates takes the next counter value, so a verifier holding all of an
agent's segments can tell that one is missing even across sessions.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from pathlib import Path

from agent.errors import JournalError


def _path(home: Path) -> Path:
    return home / "agent.json"


def next_counter(home: Path) -> tuple[str, int]:
    """Return (agent_id, counter) after atomically incrementing the counter on disk."""
    home.mkdir(parents=True, exist_ok=True)
    lock = home / ".agent.lock"
    with open(lock, "a+") as lf:
        fcntl.flock(lf, fcntl.LOCK_EX)
        p = _path(home)
        try:
            data = json.loads(p.read_text()) if p.exists() else {}
        except (OSError, ValueError) as exc:
            raise JournalError(
                f"{p}: agent identity file is corrupt: {exc}", retryable=False
            ) from exc
        agent_id = data.get("agent_id") or "agent-" + secrets.token_hex(8)
        counter = int(data.get("counter", -1)) + 1
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps({"agent_id": agent_id, "counter": counter}))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, p)
        return agent_id, counter


def last_counter(home: Path) -> tuple[str, int] | None:
    """The agent id and the last segment counter it handed out; None when this home never
    created a segment (no identity file). A file that cannot be read or parsed raises a
    :class:`JournalError` naming it: a verifier must not quietly lose the counter that shows
    the newest segments were erased."""
    p = _path(home)
    try:
        data = json.loads(p.read_text())
        return str(data["agent_id"]), int(data["counter"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise JournalError(
            f"{p}: agent identity file is unreadable or corrupt ({type(exc).__name__}): "
            "the last segment counter handed out is unknown",
            retryable=False,
        ) from exc
