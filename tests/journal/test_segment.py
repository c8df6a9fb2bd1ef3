"""The segment writer's connection: its page cache stays at its cap however much it writes."""

from __future__ import annotations

import _sqlite3
import ctypes
import os
from pathlib import Path

import pytest

from agent.journal.segment import WRITER_CACHE_KIB, connect_rw

_SQLITE_STATUS_MEMORY_USED = 0


def _sqlite_memory_used() -> int | None:
    """Bytes SQLite holds in this process (None where the library cannot be asked)."""
    try:  # the module's own extension: its symbols and those of the SQLite it links
        lib = ctypes.CDLL(_sqlite3.__file__)
        status = lib.sqlite3_status64
    except (OSError, AttributeError):
        return None
    cur, high = ctypes.c_int64(), ctypes.c_int64()
    if status(_SQLITE_STATUS_MEMORY_USED, ctypes.byref(cur), ctypes.byref(high), 0):
        return None
    return cur.value or None  # 0: memory statistics are compiled out


def test_writer_connection_caps_its_page_cache(tmp_path: Path) -> None:
    con = connect_rw(tmp_path / "s.stj", create=True)
    try:
        assert con.execute("PRAGMA cache_size").fetchone()[0] == -WRITER_CACHE_KIB
    finally:
        con.close()


def test_writer_memory_stays_at_the_cap_after_megabytes_of_chunks(tmp_path: Path) -> None:
    con = connect_rw(tmp_path / "s.stj", create=True)
    try:
        before = _sqlite_memory_used()  # SQLite counts only once initialised (by connecting)
        if before is None:
            pytest.skip("this Python's SQLite does not report its memory")
        con.execute("CREATE TABLE chunk (idx INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        for batch in range(40):  # 4 MB in 40 commits, then every chunk read back once
            con.execute("BEGIN")
            for i in range(50):
                con.execute("INSERT INTO chunk VALUES (?, ?)", (batch * 50 + i, os.urandom(2048)))
            con.execute("COMMIT")
        assert sum(len(r[0]) for r in con.execute("SELECT body FROM chunk")) == 2000 * 2048
        held = (_sqlite_memory_used() or 0) - before
    finally:
        con.close()
    # Small pages carry a cache header of a few hundred bytes each: twice the cap is the bound.
    # At SQLite's default cache (2000 KiB) this connection held about 2.4 MB.
    assert held < 2 * WRITER_CACHE_KIB * 1024
