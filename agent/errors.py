"""The one exception tree of sessiontape.

::

    SessiontapeError                       (exit 2 unless noted)
     ├── ConfigError                       bad config file, key, type or env override
     ├── UsageError                        bad CLI input (unknown session, existing target, ...)
     ├── KeyMaterialError                  missing/unreadable/untrusted key material
     │    └── KeyUnavailable               no key held here opens a segment's data key
     ├── InputError                        a file that is not what it claims
     │    ├── NotAJournal                  not SQLite, truncated, or not a sessiontape segment
     │    └── UnknownVersion               a format version this build cannot read
     ├── InvalidEvent                      an event that cannot be journaled (bad kind, floats ...)
     ├── JournalError                      the journal cannot make events durable (retryable?)
     │    └── JournalClosed                append after close/seal
     ├── VerificationFailed   (exit 1)     a named integrity check failed
     ├── CaptureError                      browser / CDP failures (retryable where transient)
     ├── MaskError                         a masking rule that cannot be loaded
     ├── StorageError                      a local file could not be written (disk full, I/O)
     ├── AuthError                         a console sign-in refused (OIDC state, token, roles)
     ├── Forbidden                         a console action the principal's roles do not allow
     ├── IndexServerError                  the search index's database server failed (retryable)
     └── VaultError                        WORM storage failures (retryable where transient)
          └── PostureError                 bucket not WORM enough for the policy

Library errors are translated once, at the boundary that calls the library
(``raise X(...) from exc``). The CLI maps this tree to exit codes in one place
(:func:`exit_code_for`).
"""

from __future__ import annotations

import errno
import sqlite3


class SessiontapeError(Exception):
    """Base of every error sessiontape raises on purpose."""

    retryable: bool = False
    exit_code: int = 2

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class ConfigError(SessiontapeError):
    """A configuration file, key, type or environment override is invalid."""


class UsageError(SessiontapeError):
    """The command line asks for something that cannot be done as asked."""


class KeyMaterialError(SessiontapeError):
    """Key material is missing, unreadable, or not trusted."""


class KeyUnavailable(KeyMaterialError):
    """No key this home holds opens a segment's data key (neither its KEK nor a firm key it
    was wrapped to): the record is not readable here, which says nothing about its integrity."""


class InputError(SessiontapeError):
    """An input file is not what it claims to be."""


class NotAJournal(InputError):
    """The file is not a readable sessiontape segment (not SQLite, truncated, foreign)."""


class UnknownVersion(InputError):
    """A persisted format carries a version this build does not read."""


class InvalidEvent(SessiontapeError):
    """An event cannot be journaled as given (unknown kind, float in hashed data, ...)."""


class JournalError(SessiontapeError):
    """Events could not be made durable; the caller must not treat them as written.

    ``recorded_as_gap``: the journal counted these events and writes the ``capture.gap`` that
    records their loss itself once it can write again, so the caller need not.
    """

    retryable = True
    recorded_as_gap = False


class JournalClosed(JournalError):
    """The journal (or segment) was already sealed or closed."""

    retryable = False


class VerificationFailed(SessiontapeError):
    """A named integrity check failed."""

    exit_code = 1

    def __init__(self, check: str, message: str, *, where: str | None = None) -> None:
        super().__init__(f"{check}: {message}" + (f" ({where})" if where else ""))
        self.check = check
        self.where = where


class CaptureError(SessiontapeError):
    """The browser or its CDP connection failed."""


class MaskError(SessiontapeError):
    """A masking rule cannot be loaded or compiled."""


class StorageError(SessiontapeError):
    """A local file (index, export bundle) could not be written; nothing half-written is left."""

    retryable = True


class AuthError(SessiontapeError):
    """A console sign-in was refused: the provider, the token or the user's roles."""


class Forbidden(SessiontapeError):
    """The signed-in principal's roles do not allow the action (nothing was changed)."""


class IndexServerError(SessiontapeError):
    """The search index's database server (PostgreSQL) is unreachable or refused a statement;
    the message names the server (host, port, database), never its password."""

    retryable = True


class VaultError(SessiontapeError):
    """WORM storage refused or failed an operation."""


class PostureError(VaultError):
    """The WORM store is not configured strictly enough for the retention policy."""


def exit_code_for(exc: BaseException) -> int:
    """Map an exception to the CLI exit code (0 ok, 1 verification failed, 2 usage/input)."""
    if isinstance(exc, SessiontapeError):
        return exc.exit_code
    return 3


_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def is_disk_full(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what it was raised from) is a full disk or an exceeded quota:
    an ``OSError`` with ENOSPC/EDQUOT or SQLite's ``SQLITE_FULL``."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        if isinstance(exc, sqlite3.Error) and (
            getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or "disk is full" in str(exc)
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def storage_error(path: object, what: str, exc: BaseException) -> StorageError:
    """``PATH: WHAT not written: no space left on device`` (or the error's own text)."""
    return StorageError(f"{path}: {what} not written: {io_error_text(exc)}")


def io_error_text(exc: BaseException) -> str:
    """``no space left on device`` for a full disk, else the error's own one-line message."""
    if is_disk_full(exc):
        return "no space left on device"
    if isinstance(exc, SessiontapeError):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return f"{type(exc).__name__}: {exc}"
