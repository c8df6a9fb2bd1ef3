"""The one SQLite write-transaction helper commits, rolls back, and keeps the real error."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent.db import transaction


def _con(tmp_path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    con.execute("CREATE TABLE t (x INTEGER)")
    return con


def test_a_block_that_returns_is_committed(tmp_path: Path) -> None:
    """Rows written inside the block are visible to a second connection afterwards."""
    con = _con(tmp_path)
    with transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
    other = sqlite3.connect(tmp_path / "t.db")
    assert other.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_a_block_that_raises_is_rolled_back_and_the_error_propagates(tmp_path: Path) -> None:
    """Nothing of a failed block is kept, and the caller sees the block's own exception."""
    con = _con(tmp_path)
    with pytest.raises(KeyError, match="boom"), transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
        raise KeyError("boom")
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)
    assert not con.in_transaction


def test_an_error_after_sqlite_rolled_back_by_itself_is_not_hidden(tmp_path: Path) -> None:
    """When the transaction is already gone, the original error reaches the caller."""
    con = _con(tmp_path)
    with pytest.raises(ValueError, match="original"), transaction(con):
        con.execute("ROLLBACK")  # what SQLite does by itself on some I/O errors
        raise ValueError("original")
