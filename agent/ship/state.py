"""The local ship state: ``<home>/ship/state.db`` (SQLite, WAL, schema in ``user_version``).

One row per segment object (``pending`` → ``shipped`` | ``quarantined``), the checkpoints
already shipped, legal holds, disposition records, and key/value flags (``paused``).
Migrations are the shared registry (:mod:`agent.migrations`): ``MIGRATIONS[i]`` brings
version ``i`` to ``i + 1``; tables sqlite-utils can express are created through it.

Writes go through :meth:`ShipState.tx` (:func:`agent.db.transaction` under a thread lock, an
SQLite failure surfacing as a retryable :class:`~agent.errors.VaultError`). New rows and flags
are sqlite-utils inserts and upserts; :meth:`ShipState.update` keeps its ``UPDATE`` because
sqlite-utils' ``Table.update`` raises for a missing key where this store has always done
nothing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from agent.db import transaction
from agent.errors import UnknownVersion, VaultError
from agent.migrations import Migration, apply_migrations, utils_db

# objects keeps explicit DDL: sqlite-utils' Table.create cannot express the CHECK on status.
_OBJECTS = """
    CREATE TABLE objects (
        key TEXT PRIMARY KEY, session_id TEXT NOT NULL, segment_id TEXT NOT NULL,
        path TEXT NOT NULL, size INTEGER NOT NULL, sealed_utc_ns INTEGER NOT NULL,
        record_class TEXT NOT NULL, retain_until TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'shipped', 'quarantined')),
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ns INTEGER NOT NULL DEFAULT 0,
        last_error TEXT, receipts TEXT, discovered_ns INTEGER NOT NULL,
        shipped_ns INTEGER, local_deleted_ns INTEGER, verified_ns INTEGER, verified_ok INTEGER,
        disposition_ns INTEGER)
"""


def _schema_v1(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"k": str, "v": str}, pk="k", not_null=("v",))
    db.execute(_OBJECTS)
    db.table("objects").create_index(["status", "next_attempt_ns"], index_name="objects_status")
    db.table("objects").create_index(["session_id"], index_name="objects_session")
    checkpoint = {"session_id": str, "segment_id": str, "n": int, "key": str, "shipped_ns": int}
    db.table("checkpoints").create(checkpoint, pk=("segment_id", "n"), not_null=checkpoint)
    hold = {"matter": str, "session_id": str, "actor": str, "placed_ns": int}
    db.table("holds").create(
        {"id": int, **hold, "released_ns": int, "released_by": str}, pk="id", not_null=hold
    )
    db.table("dispositions").create(
        {"key": str, "eligible_ns": int, "recorded_ns": int, "disposed_ns": int, "actor": str},
        pk="key",
        not_null=("eligible_ns", "recorded_ns"),
    )


MIGRATIONS: list[Migration] = [_schema_v1]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class ObjectRow:
    """One segment object as tracked locally."""

    key: str
    session_id: str
    segment_id: str
    path: Path
    size: int
    sealed_utc_ns: int
    record_class: str
    retain_until: str
    status: str
    attempts: int
    next_attempt_ns: int
    last_error: str | None
    receipts: dict[str, Any]
    discovered_ns: int
    shipped_ns: int | None
    local_deleted_ns: int | None
    verified_ns: int | None
    verified_ok: int | None
    disposition_ns: int | None

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> ObjectRow:
        d = dict(r)
        d["path"] = Path(d["path"])
        d["receipts"] = json.loads(d["receipts"]) if d["receipts"] else {}
        return cls(**d)


class ShipState:
    """Thread-safe access to ``state.db`` (one connection, one lock; writes are tiny)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30
            )
            self._con.row_factory = sqlite3.Row
            self._con.execute("PRAGMA journal_mode=WAL")
            self._con.execute("PRAGMA synchronous=FULL")
        except (OSError, sqlite3.Error) as exc:
            raise VaultError(f"{self.path}: cannot open ship state: {exc}") from exc
        self._lock = threading.RLock()
        self.db = utils_db(self._con)
        self._migrate()

    def _migrate(self) -> None:
        with self.tx() as con:
            ver = int(con.execute("PRAGMA user_version").fetchone()[0])
            if ver > SCHEMA_VERSION:
                raise UnknownVersion(
                    f"{self.path}: ship state schema {ver} is newer than "
                    f"this build ({SCHEMA_VERSION})"
                )
            apply_migrations(con, MIGRATIONS, ver)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE ... COMMIT), serialised across threads."""
        with self._lock:
            try:
                with transaction(self._con) as con:
                    yield con
            except sqlite3.Error as exc:
                raise VaultError(
                    f"{self.path}: ship state write failed: {exc}", retryable=True
                ) from exc

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Read rows."""
        with self._lock:
            return list(self._con.execute(sql, args).fetchall())

    def objects(self, where: str = "1", args: tuple[Any, ...] = ()) -> list[ObjectRow]:
        """Object rows matching a WHERE clause, oldest first."""
        return [
            ObjectRow.from_row(r)
            for r in self.query(
                f"SELECT * FROM objects WHERE {where} ORDER BY sealed_utc_ns, key", args
            )
        ]

    def get(self, key: str) -> ObjectRow | None:
        """One object row."""
        rows = self.objects("key = ?", (key,))
        return rows[0] if rows else None

    def update(self, key: str, **fields: Any) -> None:
        """Set columns of one object row."""
        if "receipts" in fields and not isinstance(fields["receipts"], str):
            fields["receipts"] = json.dumps(fields["receipts"], sort_keys=True)
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self.tx() as con:
            con.execute(f"UPDATE objects SET {cols} WHERE key = ?", (*fields.values(), key))

    def meta_get(self, k: str) -> str | None:
        """A flag value."""
        rows = self.query("SELECT v FROM meta WHERE k = ?", (k,))
        return str(rows[0][0]) if rows else None

    def meta_set(self, k: str, v: str | None) -> None:
        """Set (or clear with ``None``) a flag."""
        with self.tx():
            if v is None:
                self.db.table("meta").delete_where("k = ?", [k])
            else:
                self.db.table("meta").upsert({"k": k, "v": v}, pk="k")

    def insert(self, table: str, row: dict[str, Any], *, ignore: bool = False) -> None:
        """Add one row; with ``ignore`` a row whose primary key exists is left as it is."""
        with self.tx():
            self.db.table(table).insert(row, ignore=ignore)

    def active_holds(self, session_id: str | None = None) -> list[sqlite3.Row]:
        """Holds not released (for one session or all)."""
        if session_id is None:
            return self.query("SELECT * FROM holds WHERE released_ns IS NULL ORDER BY id")
        return self.query(
            "SELECT * FROM holds WHERE released_ns IS NULL AND session_id = ? ORDER BY id",
            (session_id,),
        )

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._con.close()
