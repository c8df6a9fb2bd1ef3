"""The ingestion worker's own state: which vault objects it has dealt with, and how.

One SQLite file in the firm home, ``<home>/console/ingest.db`` (0600; format version in
``PRAGMA user_version``, an unknown version is refused)::

    objects    key (PK), session_id, last_modified_ns (when it appeared in the vault),
               seen_ns, done_ns, status ('indexed' | 'anomaly' | 'skipped'), lag_ms, detail
    anomalies  key, kind, message, t_ns; one row per (key, message)
    meta       name -> value: last_pass_ns, last_error, last_error_ns

An object is written here only *after* the index has committed its segment (or after its
anomaly is recorded): a crash in between leaves the key absent, so the next pass takes it
again and the index, keyed by seal hash, skips what it already holds. The set of done keys is
the cursor: nothing is skipped, nothing indexed twice.
"""

from __future__ import annotations

import sqlite3
import statistics
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from agent.db import refused_writes, transaction
from agent.errors import UnknownVersion
from agent.keystore.perms import private_dir

STATE_VERSION = 1
STATE_FILE = "ingest.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    key TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    last_modified_ns INTEGER NOT NULL,
    seen_ns INTEGER NOT NULL,
    done_ns INTEGER NOT NULL,
    status TEXT NOT NULL,
    lag_ms INTEGER NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS objects_done ON objects (done_ns);
CREATE TABLE IF NOT EXISTS anomalies (
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    t_ns INTEGER NOT NULL,
    PRIMARY KEY (key, message)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Done:
    """One vault object the worker has finished with."""

    key: str
    session_id: str
    last_modified_ns: int
    seen_ns: int
    done_ns: int
    status: str
    detail: str = ""

    @property
    def lag_ms(self) -> int:
        """From appearing in the vault to being indexed (or recorded as an anomaly)."""
        return max(0, self.done_ns - self.last_modified_ns) // 1_000_000


def percentile(values: list[int], p: float) -> int:
    """The ``p`` quantile (0..1) of ``values`` by the inclusive method; 0 when empty."""
    if not values:
        return 0
    if len(values) == 1:
        return values[0]
    return int(statistics.quantiles(values, n=100, method="inclusive")[round(p * 100) - 1])


P = ParamSpec("P")
R = TypeVar("R")


def _locked(
    fn: Callable[Concatenate[IngestState, P], R],
) -> Callable[Concatenate[IngestState, P], R]:
    """One thread at a time on the connection (the worker's thread and a status reader)."""

    def wrapper(self: IngestState, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.lock:
            return fn(self, *args, **kwargs)

    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


class IngestState:
    """``<home>/console/ingest.db``: done keys, anomalies, last error."""

    def __init__(self, home: Path) -> None:
        d = private_dir(Path(home) / "console")
        self.path = d / STATE_FILE
        self.lock = threading.RLock()
        self.con = sqlite3.connect(
            self.path, isolation_level=None, timeout=30, check_same_thread=False
        )
        self.path.chmod(0o600)
        self._migrate()

    @refused_writes("ingest state")
    def _migrate(self) -> None:
        ver = int(self.con.execute("PRAGMA user_version").fetchone()[0])
        if ver not in (0, STATE_VERSION):
            raise UnknownVersion(f"{self.path}: ingest state version {ver} (this build reads 1)")
        self.con.execute("PRAGMA journal_mode = WAL")
        with transaction(self.con) as con:
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    con.execute(stmt)
            con.execute(f"PRAGMA user_version = {STATE_VERSION}")

    @_locked
    def done_keys(self) -> set[str]:
        """Every key finished with (the cursor)."""
        return {str(r[0]) for r in self.con.execute("SELECT key FROM objects")}

    @_locked
    @refused_writes("ingest state")
    def mark(self, items: Iterable[Done]) -> None:
        """Record finished objects (one transaction; an existing key is left as it was)."""
        with transaction(self.con) as con:
            con.executemany(
                "INSERT OR IGNORE INTO objects (key, session_id, last_modified_ns, seen_ns, "
                "done_ns, status, lag_ms, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        d.key,
                        d.session_id,
                        d.last_modified_ns,
                        d.seen_ns,
                        d.done_ns,
                        d.status,
                        d.lag_ms,
                        d.detail,
                    )
                    for d in items
                ],
            )

    @_locked
    @refused_writes("ingest state")
    def add_anomaly(self, key: str, kind: str, message: str, t_ns: int) -> bool:
        """Record an anomaly; False when this (key, message) was recorded before."""
        with transaction(self.con) as con:
            cur = con.execute(
                "INSERT OR IGNORE INTO anomalies (key, kind, message, t_ns) VALUES (?, ?, ?, ?)",
                (key, kind, message, t_ns),
            )
            return cur.rowcount == 1

    @_locked
    def has_anomaly(self, key: str, message: str) -> bool:
        """True when this (key, message) was recorded before."""
        row = self.con.execute(
            "SELECT 1 FROM anomalies WHERE key = ? AND message = ?", (key, message)
        ).fetchone()
        return row is not None

    @_locked
    def anomalies(self) -> list[dict[str, Any]]:
        """Every recorded anomaly, oldest first."""
        rows = self.con.execute(
            "SELECT key, kind, message, t_ns FROM anomalies ORDER BY t_ns, key"
        ).fetchall()
        return [{"key": k, "kind": kind, "message": m, "t_ns": t} for k, kind, m, t in rows]

    @_locked
    @refused_writes("ingest state")
    def set_meta(self, /, **values: str) -> None:
        """Set ``meta`` entries (``last_pass_ns``, ``last_error``, ...)."""
        with transaction(self.con) as con:
            con.executemany(
                "INSERT INTO meta (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )

    @_locked
    def meta(self) -> dict[str, str]:
        """Every ``meta`` entry."""
        return {str(k): str(v) for k, v in self.con.execute("SELECT name, value FROM meta")}

    @_locked
    def lags_ms(self, since_ns: int = 0) -> list[int]:
        """Lag of each object indexed at or after ``since_ns``."""
        return [
            int(r[0])
            for r in self.con.execute(
                "SELECT lag_ms FROM objects WHERE status = 'indexed' AND done_ns >= ?",
                (since_ns,),
            )
        ]

    @_locked
    def counts(self) -> dict[str, int]:
        """Objects by status."""
        return {
            str(s): int(n)
            for s, n in self.con.execute("SELECT status, COUNT(*) FROM objects GROUP BY status")
        }

    def status(self, now_ns: int, window_s: float = 3600.0) -> dict[str, Any]:
        """Lag p50/p95 of what was indexed in the last ``window_s`` seconds, backlog left by
        the last pass, counts by status, anomalies, last pass and last error."""
        lags = self.lags_ms(now_ns - int(window_s * 1e9))
        meta = self.meta()
        return {
            "lag_p50_ms": percentile(lags, 0.5),
            "lag_p95_ms": percentile(lags, 0.95),
            "indexed_in_window": len(lags),
            "objects": self.counts(),
            "anomalies": self.anomalies(),
            "backlog": int(meta.get("backlog", "0") or 0),
            "last_pass_ns": int(meta.get("last_pass_ns", "0") or 0),
            "last_error": meta.get("last_error", ""),
            "state": str(self.path),
        }

    def close(self) -> None:
        """Release the connection."""
        self.con.close()
