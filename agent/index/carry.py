"""What indexing a session's last segment left, kept for the next incremental run.

The agent's index job runs in one process every few minutes. Replaying a session's earlier
segments to rebuild the extractor's DOM mirrors (:func:`agent.index.indexer._warm`) cost as
much CPU as indexing the new segment; instead the job keeps, per session, the seal hash of the
segment it indexed last and the extractor that segment left, and continues from it. Rows come
out as from one pass over both segments. A restart (or a run elsewhere) replays as before.
"""

from __future__ import annotations

from agent.index.extract import Extractor, Limits

Carry = dict[str, tuple[str, Extractor]]
"""Session id → (seal hash of the segment indexed last, the extractor it left)."""

CARRY_SESSIONS = 4  # sessions kept per home (a desk records one session a day)
_BY_HOME: dict[str, Carry] = {}


def for_home(home: str) -> Carry:
    """This process's carry for the index of ``home``."""
    return _BY_HOME.setdefault(home, {})


def take(
    carry: Carry | None, session_id: str, seal_hash: str, limits: Limits | None
) -> Extractor | None:
    """The extractor left at the segment sealed as ``seal_hash`` (taken out), if any."""
    held = carry.pop(session_id, None) if carry is not None else None
    if held is None or held[0] != seal_hash or held[1].limits != (limits or Limits()):
        return None
    ex = held[1]
    ex.facts = type(ex.facts)()
    return ex


def keep(carry: Carry | None, session_id: str, seal_hash: str | None, ex: Extractor) -> None:
    """Keep ``ex`` as left at the segment sealed as ``seal_hash``; ``None``: forget it."""
    if carry is None:
        return
    carry.pop(session_id, None)
    if seal_hash is not None:
        carry[session_id] = (seal_hash, ex)
        while len(carry) > CARRY_SESSIONS:
            del carry[next(iter(carry))]
