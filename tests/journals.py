"""Real sealed test journals, written by :class:`agent.journal.Journal`, and tampered with.

One builder for every test that needs a journal on disk:

- :func:`write_session`: ``segments`` x ``chunks_per_segment`` chunks of ``clock.tick`` events.
  With a :class:`FakeClock`, each chunk is 0.5 s after the previous one, so checkpoints come
  from the journal's own timing (every ~4 chunks) and segments rotate by time; without one
  (the system clock, e.g. for WORM retention dates), ``checkpoint_every_chunk`` signs them.
- :func:`write_scripted_session`: given events (``(kind, payload, frame)``), one chunk each.
- :func:`write_stamped_session`: one segment sealed with a real RFC 3161 token from a TSA.
- :func:`open_journal`, :func:`append_events`, :func:`rotate`: the steps, for tests that act
  between them.
- :func:`read_genesis`: a segment's genesis as stored.
- :func:`tamper`, :func:`flip_byte`: edit a segment as an attacker with file access would
  (dropping the append-only triggers first).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from agent.canonical import loads
from agent.config import Config, load_config
from agent.journal.journal import Journal
from agent.journal.session import SessionMeta
from agent.keys import Keyring
from agent.pipeline import make_timestamper
from agent.testing import FakeClock, make_event

EventSpec = tuple[str, dict[str, Any], str | None]
"""One scripted event: kind, payload, frame id."""

CHUNK_STEP_S = 0.5


def open_journal(
    home: Path,
    cfg: Config | None = None,
    clock: FakeClock | None = None,
    *,
    user: str | None = None,
    meta: SessionMeta | None = None,
) -> Journal:
    """A new session in ``home`` (keyring created if missing; config defaults to the embedded
    defaults; the system clock unless ``clock``)."""
    cfg = cfg or load_config(env={}, home=home)
    return Journal.open(home, cfg, clock=clock, user=user, meta=meta)


def rotate(j: Journal, clock: FakeClock, cfg: Config) -> None:
    """Seal the current segment and start the next (rotation by time)."""
    clock.advance_s(cfg.journal.rotate_seconds)
    j.tick()


def append_events(
    j: Journal, clock: FakeClock, events: Iterable[EventSpec], *, page: str = "P"
) -> None:
    """Append each event as its own chunk, 0.2 s of fake time after the previous one."""
    for kind, payload, frame in events:
        clock.advance_s(0.2)
        j.append_many([make_event(kind, payload, clock=clock, page=page, frame=frame)])


def write_session(
    home: Path,
    cfg: Config | None = None,
    clock: FakeClock | None = None,
    *,
    segments: int = 1,
    chunks_per_segment: int = 6,
    events_per_chunk: int = 5,
    checkpoint_every_chunk: bool = False,
    close: bool = True,
    user: str | None = None,
) -> Journal:
    """A session of ``segments`` segments of ``clock.tick`` events (``n`` counts from 0).

    With the defaults and a fake clock, each segment has chunks after its last checkpoint, so
    a truncated tail is covered by the seal only. More than one segment needs a fake clock.
    """
    cfg = cfg or load_config(env={}, home=home)
    j = open_journal(home, cfg, clock, user=user)
    stamp = clock or FakeClock()
    n = 0
    for s in range(segments):
        if s:
            assert clock is not None, "rotation by time needs a FakeClock"
            rotate(j, clock, cfg)
        for _ in range(chunks_per_segment):
            if clock is not None:
                clock.advance_s(CHUNK_STEP_S)
            j.append_many(
                [
                    make_event("clock.tick", {"n": i, "text": f"event {i}"}, clock=stamp, page="P1")
                    for i in range(n, n + events_per_chunk)
                ]
            )
            n += events_per_chunk
            if checkpoint_every_chunk:
                j.checkpoint_now()
    if close:
        j.close()
    return j


def write_scripted_session(
    home: Path,
    cfg: Config,
    clock: FakeClock,
    segments: Sequence[Sequence[EventSpec]],
    *,
    meta: SessionMeta | None = None,
    close: bool = True,
) -> Journal:
    """A session whose segments hold exactly the given events (one chunk each)."""
    j = open_journal(home, cfg, clock, meta=meta)
    for s, events in enumerate(segments):
        if s:
            rotate(j, clock, cfg)
        append_events(j, clock, events)
    if close:
        j.close()
    return j


def write_stamped_session(home: Path, tsa_url: str) -> Path:
    """A new ``home`` whose config names the TSA at ``tsa_url``, holding one session of three
    ``clock.tick`` chunks sealed with that TSA's token; returns its only segment."""
    Keyring.load_or_init(home)
    cfg = load_config(env={"SESSIONTAPE_SEAL_TSA_URL": tsa_url}, home=home)
    clock = FakeClock()
    j = Journal.open(home, cfg, clock=clock, timestamper=make_timestamper(cfg))
    for i in range(3):
        clock.advance_s(CHUNK_STEP_S)
        j.append_many([make_event("clock.tick", {"n": i}, clock=clock, page="P1")])
    j.close()
    (seg,) = sorted((home / "journals").rglob("*.stj"))
    return seg


def read_genesis(segment: Path) -> dict[str, object]:
    """A segment's genesis as stored (read-only)."""
    con = sqlite3.connect(f"file:{segment}?mode=ro", uri=True)
    try:
        (raw,) = con.execute("SELECT genesis FROM segment WHERE id = 1").fetchone()
    finally:
        con.close()
    return dict(loads(bytes(raw)))


def tamper(segment: Path, *statements: str, args: tuple[object, ...] = ()) -> None:
    """Run SQL on a segment after dropping its append-only triggers; ``args`` bind to the
    statements that have ``?`` placeholders."""
    con = sqlite3.connect(segment)
    try:
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            con.execute(f"DROP TRIGGER {name}")
        for sql in statements:
            con.execute(sql, args if "?" in sql else ())
        con.commit()
    finally:
        con.close()


def flip_byte(
    segment: Path,
    where: str = "",
    *,
    table: str = "chunks",
    column: str = "ciphertext",
    offset: int = 0,
    mask: int = 0x80,
) -> None:
    """XOR ``mask`` into byte ``offset`` (modulo the length) of one stored value; by default
    the ciphertext of the segment's first chunk."""
    where = where or "idx = (SELECT min(idx) FROM chunks)"
    con = sqlite3.connect(segment)
    try:
        (value,) = con.execute(f"SELECT {column} FROM {table} WHERE {where}").fetchone()
    finally:
        con.close()
    b = bytearray(value)
    b[offset % len(b)] ^= mask
    tamper(segment, f"UPDATE {table} SET {column} = ? WHERE {where}", args=(bytes(b),))
