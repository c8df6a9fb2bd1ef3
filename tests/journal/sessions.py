"""Builders of real multi-segment sessions for journal/seal tests."""

from __future__ import annotations

from pathlib import Path

from agent.config import Config
from agent.journal.journal import Journal
from agent.keys import Keyring
from agent.testing import FakeClock, make_event


def build_session(
    home: Path,
    cfg: Config,
    clock: FakeClock,
    *,
    segments: int = 3,
    chunks_per_segment: int = 6,
    events_per_chunk: int = 5,
    timestamper=None,
) -> Journal:  # type: ignore[no-untyped-def]
    """Write a closed session of ``segments`` segments (rotation by time).

    Checkpoints land every ~2 s of fake time (every 4 chunks at 0.5 s per chunk), so each
    segment has chunks after its last checkpoint: a truncated tail is not covered by one.
    """
    j = Journal.open(home, cfg, clock=clock, keyring=Keyring.load(home), timestamper=timestamper)
    n = 0
    for s in range(segments):
        for _ in range(chunks_per_segment):
            clock.advance_s(0.5)
            j.append_many(
                [
                    make_event(
                        "clock.tick", {"n": n + i, "text": f"event {n + i}"}, clock=clock, page="P1"
                    )
                    for i in range(events_per_chunk)
                ]
            )
            n += events_per_chunk
        if s < segments - 1:
            clock.advance_s(cfg.journal.rotate_seconds)
            j.tick()
    j.close()
    return j
