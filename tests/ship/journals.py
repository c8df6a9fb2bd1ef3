"""Real sealed segments for ship tests, written with the lead's ``agent.journal.Journal``."""

from __future__ import annotations

from pathlib import Path

from agent.config import load_config
from agent.journal import Journal
from agent.testing import make_event


def write_session(
    home: Path, *, events: int = 20, checkpoints: int = 2, close: bool = True, user: str = "alice"
) -> Journal:
    """One session in ``home`` with ``checkpoints`` signed checkpoints; sealed if ``close``."""
    cfg = load_config(env={}, home=home)
    j = Journal.open(home, cfg, user=user)
    per = max(1, events // max(1, checkpoints))
    for _ in range(checkpoints):
        j.append_many([make_event() for _ in range(per)])
        j.checkpoint_now()
    if close:
        j.close()
    return j
