"""Connections to the PostgreSQL index: a small pool, errors translated once.

Readers run concurrently (the console serves each request on a worker thread). Each
operation borrows a connection of its own (a psycopg connection is not meant to run two
threads' queries at once) and gives it back: up to ``max_idle`` are kept open for the next
operation, the rest closed, so threads that come and go never pile up server connections.
A connection given back broken or inside a transaction is closed, not reused. Statements run
in autocommit; a write opens an explicit transaction (``with con.transaction()``).

Every psycopg error is translated here (:func:`pg_errors`): an unreachable server or a
refused login is one :class:`~agent.errors.IndexServerError` line naming host, port and
database (never the password); a full disk on the server is a
:class:`~agent.errors.StorageError`.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors as pgerr
from psycopg.conninfo import conninfo_to_dict

from agent.errors import ConfigError, IndexServerError, StorageError

Connection = psycopg.Connection[tuple[Any, ...]]
CONNECT_TIMEOUT_S = 10


def describe(dsn: str) -> str:
    """``host=… port=… dbname=…`` of a DSN (libpq's environment defaults filled in), for
    messages; never a password."""
    try:
        d = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "an unparsable PostgreSQL DSN"
    host = str(d.get("host") or os.environ.get("PGHOST") or "localhost")
    port = str(d.get("port") or os.environ.get("PGPORT") or "5432")
    db = str(d.get("dbname") or os.environ.get("PGDATABASE") or d.get("user") or "(default)")
    return f"host={host} port={port} dbname={db}"


def check_dsn(dsn: str) -> str:
    """``dsn`` if it parses and holds no password; :class:`ConfigError` otherwise."""
    try:
        d = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "unparsable"
        raise ConfigError(f"index.postgres_dsn is not a libpq DSN or URL: {first}") from None
    if d.get("password"):
        raise ConfigError(
            "index.postgres_dsn must not hold a password: put it in the file named by "
            "index.postgres_password_file (0600) or in libpq's ~/.pgpass"
        )
    return dsn


def read_password_file(path: Path) -> str:
    """The password in ``path`` (first line); refused unless only its owner can read it."""
    try:
        st = path.stat()
        if st.st_mode & 0o077:
            raise ConfigError(
                f"{path}: the PostgreSQL password file must be readable by its owner only "
                f"(mode {st.st_mode & 0o777:o}): chmod 600 {path}"
            )
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the PostgreSQL password file: {exc}") from None
    if not lines or not lines[0]:
        raise ConfigError(f"{path}: the PostgreSQL password file is empty")
    return lines[0]


def one_line(exc: BaseException) -> str:
    """A psycopg error's message on one line."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return " ".join(lines) if lines else exc.__class__.__name__


@contextlib.contextmanager
def pg_errors(where: str, what: str = "search index") -> Iterator[None]:
    """Translate psycopg errors raised inside into sessiontape's tree, naming ``where``."""
    try:
        yield
    except pgerr.DiskFull as exc:
        raise StorageError(f"PostgreSQL {what} ({where}): server disk full: {exc}") from exc
    except psycopg.OperationalError as exc:
        raise IndexServerError(
            f"cannot use the PostgreSQL {what} at {where}: {one_line(exc)}"
        ) from exc
    except psycopg.Error as exc:
        raise IndexServerError(
            f"PostgreSQL {what} at {where} refused a statement: {one_line(exc)}",
            retryable=False,
        ) from exc


class Connections:
    """A pool of connections to one DSN (the password given apart from the DSN)."""

    def __init__(self, dsn: str, password: str | None = None, *, max_idle: int = 8) -> None:
        self.dsn = dsn
        self.where = describe(dsn)
        self.max_idle = max_idle
        self._password = password
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"Connections({self.where})"  # never the password

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection for this caller alone until the block ends."""
        con = self._checkout()
        try:
            yield con
        finally:
            self._checkin(con)

    def idle(self) -> int:
        """Connections open and waiting for the next operation."""
        with self._lock:
            return len(self._idle)

    def _checkout(self) -> Connection:
        with self._lock:
            while self._idle:
                con = self._idle.pop()
                if not con.closed and not con.broken:
                    return con
        extra: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S}
        if self._password is not None:
            extra["password"] = self._password
        with pg_errors(self.where):
            con = psycopg.connect(self.dsn, autocommit=True, **extra)
            # Searches are short index probes with a LIMIT: a parallel worker's start-up cost
            # more than it saved, and under concurrent readers the workers only contend.
            con.execute("SET max_parallel_workers_per_gather = 0")
            return con

    def _checkin(self, con: Connection) -> None:
        reusable = (
            not con.closed
            and not con.broken
            and con.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        )
        if reusable:
            with self._lock:
                if not self._closed and len(self._idle) < self.max_idle:
                    self._idle.append(con)
                    return
        with contextlib.suppress(psycopg.Error):
            con.close()

    def close(self) -> None:
        """Close the idle connections; those in use close when given back."""
        with self._lock:
            cons, self._idle, self._closed = self._idle, [], True
        for con in cons:
            with contextlib.suppress(psycopg.Error):
                con.close()
