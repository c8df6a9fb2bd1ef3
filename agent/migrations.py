"""The small migrations registry shared by sessiontape's own SQLite stores (index, ship state).

``migrations[i]`` is the SQL that brings ``PRAGMA user_version`` from ``i`` to ``i + 1``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence


def apply_migrations(con: sqlite3.Connection, migrations: Sequence[str], current: int) -> None:
    """Run every migration from ``current`` on, inside the caller's transaction."""
    for i in range(current, len(migrations)):
        for stmt in migrations[i].split(";"):
            if stmt.strip():
                con.execute(stmt)
        con.execute(f"PRAGMA user_version = {i + 1}")
