"""Connections to the PostgreSQL index: one per thread, errors translated once.

Readers run concurrently (the console serves each request on a worker thread): each thread
gets its own connection (a psycopg connection is not meant to be shared by threads running
queries at once), opened on first use and kept until :meth:`Connections.close`. Statements
run in autocommit; a write opens an explicit transaction (``with con.transaction()``).

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
    """Thread-local connections to one DSN (password given apart from the DSN)."""

    def __init__(self, dsn: str, password: str | None = None) -> None:
        self.dsn = dsn
        self.where = describe(dsn)
        self._password = password
        self._local = threading.local()
        self._all: list[Connection] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Connections({self.where})"  # never the password

    def get(self) -> Connection:
        """This thread's connection (opened on first use, reopened after it broke)."""
        con: Connection | None = getattr(self._local, "con", None)
        if con is not None and not con.closed and not con.broken:
            return con
        extra: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S}
        if self._password is not None:
            extra["password"] = self._password
        with pg_errors(self.where):
            con = psycopg.connect(self.dsn, autocommit=True, **extra)
        self._local.con = con
        with self._lock:
            self._all.append(con)
        return con

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            cons, self._all = self._all, []
        for con in cons:
            with contextlib.suppress(psycopg.Error):
                con.close()
