"""The one write-transaction helper for sessiontape's own SQLite files."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back when the block raises.

    IMMEDIATE takes the write lock up front, so two writers never both read and then fail to
    upgrade. The connection must be in autocommit mode (``isolation_level=None``).
    """
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        # SQLite may already have rolled back by itself (disk full, I/O error): a second
        # ROLLBACK would raise and hide the real cause.
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
