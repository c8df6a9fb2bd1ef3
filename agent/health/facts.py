"""Facts the status board reads from what exists, cheaply enough for every status tick.

No vault is listed: the ship state (``<home>/ship/state.db``, opened read-only) already holds
which segments and checkpoints reached the vault. Journal facts come from one directory
listing of ``<home>/journals/*/*.stj`` and the files' modification times (a segment file's
mtime is the time of its last commit: the journal writes and syncs each chunk as it commits).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.seal.format import SEGMENT_SUFFIX

NS = 1_000_000_000


def _segment_files(home: Path, session_id: str | None = None) -> list[Path]:
    root = home / "journals"
    pattern = f"{session_id}/*{SEGMENT_SUFFIX}" if session_id else f"*/*{SEGMENT_SUFFIX}"
    try:
        return list(root.glob(pattern))
    except OSError:
        return []


@contextlib.contextmanager
def _ship_state(home: Path) -> Iterator[sqlite3.Connection | None]:
    """The ship state read-only, or None when there is none (yet) or it cannot be read."""
    path = home / "ship" / "state.db"
    if not path.is_file():
        yield None
        return
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error:
        yield None
        return
    try:
        yield con
    finally:
        con.close()


def _query(home: Path, sql: str) -> list[tuple[Any, ...]] | None:
    with _ship_state(home) as con:
        if con is None:
            return None
        try:
            return list(con.execute(sql))
        except sqlite3.Error:  # a ship state being migrated or created: the next tick reads it
            return None


def last_journal_write_ns(home: Path, session_id: str | None = None) -> int | None:
    """When the journal last committed (the newest segment file's mtime), or None."""
    newest = None
    for f in _segment_files(home, session_id):
        with contextlib.suppress(OSError):
            t = f.stat().st_mtime_ns
            newest = t if newest is None or t > newest else newest
    return newest


def last_checkpoint(home: Path) -> dict[str, Any] | None:
    """The newest checkpoint that reached the vault: session, segment, n, key, at_ns."""
    rows = _query(
        home,
        "SELECT session_id, segment_id, n, key, shipped_ns FROM checkpoints "
        "ORDER BY shipped_ns DESC LIMIT 1",
    )
    if not rows:
        return None
    sid, seg, n, key, at = rows[0]
    return {"session_id": sid, "segment_id": seg, "n": int(n), "key": key, "at_ns": int(at)}


def ship_backlog(home: Path, now_ns: int) -> dict[str, Any]:
    """Segment files on disk not yet in the vault (the one being written included), their
    bytes and the oldest one's age; ``failing``: segments whose last upload attempt failed."""
    done = _query(home, "SELECT path FROM objects WHERE status = 'shipped'") or []
    in_vault = {(Path(p).parent.name, Path(p).name) for (p,) in done}
    count = size = 0
    oldest: int | None = None
    for f in _segment_files(home):
        if (f.parent.name, f.name) in in_vault:
            continue
        try:
            st = f.stat()
        except OSError:
            continue  # removed since the listing
        count += 1
        size += st.st_size
        oldest = st.st_mtime_ns if oldest is None else min(oldest, st.st_mtime_ns)
    failing = _query(home, "SELECT count(*) FROM objects WHERE status = 'pending' AND attempts > 0")
    return {
        "segments": count,
        "bytes": size,
        "oldest_age_s": round((now_ns - oldest) / NS, 3) if oldest is not None else None,
        "failing": int(failing[0][0]) if failing else 0,
    }


def disk_free_bytes(home: Path) -> int | None:
    """Bytes free for the agent on the home's filesystem, or None if it cannot be read."""
    try:
        st = os.statvfs(home)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize
