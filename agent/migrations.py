"""The small migrations registry shared by sessiontape's own SQLite stores (index, ship state).

``migrations[i]`` brings ``PRAGMA user_version`` from ``i`` to ``i + 1``. A step is either
SQL text (statements separated by ``;``) or a function that builds the schema through
sqlite-utils (``db[table].create(...)``, ``create_index``, ``enable_fts``). Either runs inside
the caller's transaction: sqlite-utils nests its own work in savepoints there, so a failed
step leaves the version and the schema as they were.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

import sqlite_utils

Migration = str | Callable[[sqlite_utils.Database], None]


def utils_db(con: sqlite3.Connection) -> sqlite_utils.Database:
    """A sqlite-utils view of ``con`` that changes nothing about it.

    No ``PRAGMA recursive_triggers`` and no plugins (third-party code has no business on a
    compliance store's connection).
    """
    return sqlite_utils.Database(con, recursive_triggers=False, execute_plugins=False)


def apply_migrations(
    con: sqlite3.Connection, migrations: Sequence[Migration], current: int
) -> None:
    """Run every migration from ``current`` on, inside the caller's transaction."""
    db = utils_db(con)
    for i in range(current, len(migrations)):
        step = migrations[i]
        if isinstance(step, str):
            for stmt in step.split(";"):
                if stmt.strip():
                    con.execute(stmt)
        else:
            step(db)
        con.execute(f"PRAGMA user_version = {i + 1}")
