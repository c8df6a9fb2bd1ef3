"""The one write-transaction helper for sessiontape's own SQLite files, and the one
translation of a refused write (a full disk) into a :class:`~agent.errors.StorageError`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from agent.errors import storage_error


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


class _HasPath(Protocol):
    path: Path


S = TypeVar("S", bound=_HasPath)
P = ParamSpec("P")
R = TypeVar("R")


def refused_writes(
    what: str,
) -> Callable[[Callable[Concatenate[S, P], R]], Callable[Concatenate[S, P], R]]:
    """Decorate a write method of an object with a ``path``: a refused SQLite write (or file
    write) becomes one :class:`StorageError` line naming the file; the transaction it was in
    was rolled back, so nothing is half written."""

    def decorate(fn: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
        def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(self, *args, **kwargs)
            except (sqlite3.Error, OSError) as exc:
                raise storage_error(self.path, what, exc) from exc

        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper

    return decorate
