"""The spool: a private copy of a sealed segment, so the bytes verified are the bytes uploaded.

A segment is SQLite in WAL mode; :func:`settle_wal` first folds a leftover ``-wal`` into the
file, then :func:`copy_to_spool` copies it. Both fail with a retryable
:class:`~agent.errors.VaultError` (missing file, disk full, WAL still busy).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from agent.errors import VaultError, io_error_text


def copy_to_spool(src: Path, spool_dir: Path) -> Path:
    """Copy the segment ``src`` into ``spool_dir``; return the copy's path.

    The copy is written under a ``.partial`` name and renamed when complete, so a spool file
    with the segment's name is always whole; a failed copy leaves nothing behind, and the
    local segment is untouched (it stays pending and is retried).
    """
    settle_wal(src)
    dst = spool_dir / src.name
    part = spool_dir / (src.name + ".partial")
    try:
        spool_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, part)
        os.replace(part, dst)
    except FileNotFoundError as exc:
        part.unlink(missing_ok=True)
        raise VaultError(f"{src}: segment file is missing locally", retryable=True) from exc
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise VaultError(
            f"{dst}: cannot copy the segment to the spool: {io_error_text(exc)}", retryable=True
        ) from exc
    return dst


def settle_wal(path: Path) -> None:
    """Make a sealed segment self-contained before copying it.

    Segments are SQLite in WAL mode; the journal checkpoints the WAL when it seals, but a
    reader at that instant (our checkpoint job) can make that checkpoint a no-op, leaving
    committed pages in ``-wal``. Completing the checkpoint changes no logical content and
    keeps "bytes shipped == bytes on disk", which idempotent re-PUTs rely on.
    """
    wal = path.with_name(path.name + "-wal")
    if not wal.exists() or wal.stat().st_size == 0:
        return
    try:
        con = sqlite3.connect(path, timeout=1)
        try:
            busy = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise VaultError(
            f"{path}: cannot checkpoint its WAL before shipping: {io_error_text(exc)}",
            retryable=True,
        ) from exc
    if busy or (wal.exists() and wal.stat().st_size > 0):
        raise VaultError(
            f"{path}: WAL still busy; will ship once it is checkpointed", retryable=True
        )
