"""Real multi-segment journals with demo-shaped events, written by the lead's Journal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.config import Config
from agent.journal.journal import Journal, SessionMeta
from agent.keys import Keyring
from agent.testing import FakeClock
from tests.index.payloads import (
    click,
    event,
    full_snapshot,
    meta,
    rr_input,
    ticket_dom,
    ws_sent_order,
)

APP = "http://127.0.0.1:36775/app"


def _append(
    j: Journal, clock: FakeClock, kind: str, payload: dict[str, Any], frame: str | None = "F"
) -> None:
    clock.advance_s(0.2)
    j.append_many([event(kind, payload, clock.utc_ns(), page="P", frame=frame)])


def rotate(j: Journal, clock: FakeClock, cfg: Config) -> None:
    """Seal the current segment and start the next (rotation by time)."""
    clock.advance_s(cfg.journal.rotate_seconds)
    j.tick()


def open_session(home: Path, cfg: Config, clock: FakeClock, user: str = "trader1") -> Journal:
    """A new session with the first segment started: navigation + keyframe of the ticket."""
    j = Journal.open(
        home,
        cfg,
        clock=clock,
        keyring=Keyring.load(home),
        meta=SessionMeta(user=user, workstation="ws-7"),
    )
    _append(j, clock, "page.navigate", {"url": APP, "main_frame": True}, frame="P")
    _append(j, clock, "rrweb.meta", meta(APP))
    _append(j, clock, "rrweb.full_snapshot", full_snapshot(ticket_dom()))
    return j


def segment_two(j: Journal, clock: FakeClock) -> None:
    """Typing an account and sending the order (no keyframe in this segment)."""
    _append(j, clock, "rrweb.input", rr_input(19, "tok_1b0291152bfb9d97"))
    _append(j, clock, "net.ws_frame", ws_sent_order("tok_1b0291152bfb9d97"), frame=None)


def segment_three(j: Journal, clock: FakeClock) -> None:
    """A click on a button first seen in segment one's keyframe, and a console error."""
    _append(j, clock, "rrweb.mouse_interaction", click(22))
    _append(j, clock, "page.console", {"level": "error", "text": "margin check failed"})


def three_segment_session(home: Path, cfg: Config, clock: FakeClock) -> str:
    """A closed three-segment session; returns its id."""
    j = open_session(home, cfg, clock)
    rotate(j, clock, cfg)
    segment_two(j, clock)
    rotate(j, clock, cfg)
    segment_three(j, clock)
    j.close()
    return j.session_id


def flip_ciphertext_byte(segment: Path, chunk_idx: int | None = None) -> None:
    """Tamper: flip one bit of a chunk's ciphertext (dropping the append-only triggers, as an
    attacker with file access would)."""
    import sqlite3

    con = sqlite3.connect(segment)
    for t in ("segment", "chunks", "checkpoints", "seal"):
        con.execute(f"DROP TRIGGER IF EXISTS {t}_no_update")
        con.execute(f"DROP TRIGGER IF EXISTS {t}_no_delete")
    idx = (
        chunk_idx
        if chunk_idx is not None
        else int(con.execute("SELECT min(idx) FROM chunks").fetchone()[0])
    )
    ct = con.execute("SELECT ciphertext FROM chunks WHERE idx = ?", (idx,)).fetchone()[0]
    con.execute(
        "UPDATE chunks SET ciphertext = ? WHERE idx = ?",
        (bytes([ct[0] ^ 0x80]) + bytes(ct[1:]), idx),
    )
    con.commit()
    con.close()
