"""The console's own state: local accounts, signed-in sessions, reveal requests.

One SQLite file, ``<home>/console/console.db`` (0600, in a 0700 directory), schema version in
``PRAGMA user_version``; an unknown version is an error. Passwords are argon2id hashes
(argon2-cffi); a session row is keyed by the SHA-256 of its random id, so the file never holds
a value a cookie could be made from.

Lockout: each failed sign-in of an account counts; at ``lockout_attempts`` in a row the
account is locked until ``lockout_minutes`` have passed or an admin unlocks it. A success
resets the count.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from agent.canonical import sha256_hex
from agent.clock import dt_to_ns
from agent.console.identity import EXAMINER, ROLES, Principal
from agent.db import transaction
from agent.errors import UnknownVersion, UsageError

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE users (
  name TEXT PRIMARY KEY, hash TEXT NOT NULL, roles TEXT NOT NULL, expires_ns INTEGER,
  disabled INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
  locked_until_ns INTEGER, created_ns INTEGER NOT NULL
);
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY, subject TEXT NOT NULL, name TEXT NOT NULL, roles TEXT NOT NULL,
  expires_ns INTEGER, csrf TEXT NOT NULL, created_ns INTEGER NOT NULL, seen_ns INTEGER NOT NULL
);
CREATE TABLE reveals (
  id INTEGER PRIMARY KEY, requester TEXT NOT NULL, session_id TEXT NOT NULL,
  token TEXT NOT NULL, reason TEXT NOT NULL, created_ns INTEGER NOT NULL,
  status TEXT NOT NULL, approver TEXT, decided_ns INTEGER
);
"""
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))  # equal work for unknown names


@dataclass(frozen=True)
class Account:
    """A local account as listed (never the hash)."""

    name: str
    roles: tuple[str, ...]
    expires_ns: int | None
    disabled: bool
    failed: int
    locked_until_ns: int | None

    def principal(self) -> Principal:
        """The principal this account signs in as."""
        return Principal(f"local:{self.name}", self.name, frozenset(self.roles), self.expires_ns)


@dataclass(frozen=True)
class SessionRow:
    """A signed-in session as stored."""

    principal: Principal
    csrf: str
    created_ns: int
    seen_ns: int


def expiry_ns(day: str) -> int:
    """``YYYY-MM-DD`` -> the end of that UTC day in ns (access ends when the day is over)."""
    try:
        d = date.fromisoformat(day)
    except ValueError:
        raise UsageError(f"--expires {day!r}: not a date YYYY-MM-DD") from None
    return dt_to_ns(datetime.combine(d + timedelta(days=1), time.min, tzinfo=UTC))


def check_roles(roles: list[str], expires_ns: int | None) -> tuple[str, ...]:
    """The roles, validated: known names, at least one, and an examiner always expires."""
    if not roles:
        raise UsageError("give at least one --role (" + ", ".join(ROLES) + ")")
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise UsageError(f"unknown role {bad[0]!r}: one of " + ", ".join(ROLES))
    if EXAMINER in roles and expires_ns is None:
        raise UsageError("an examiner account needs --expires YYYY-MM-DD (access for a regulator)")
    return tuple(sorted(set(roles)))


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


class ConsoleStore:
    """``console.db``: accounts, sessions, reveal requests. One connection per instance,
    usable from several threads (each call is one short transaction under SQLite's lock)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        _private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(self.path, 0o600)
        self.con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.con.row_factory = sqlite3.Row
        self._lock = threading.RLock()  # request threads share the one connection
        self.con.execute("PRAGMA busy_timeout = 5000")
        version = int(self.con.execute("PRAGMA user_version").fetchone()[0])
        if version == 0:
            self.con.executescript(
                f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version = {SCHEMA_VERSION};COMMIT;"
            )
        elif version != SCHEMA_VERSION:
            raise UnknownVersion(f"{self.path}: console database version {version} is unknown")

    def close(self) -> None:
        self.con.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, alone on the shared connection."""
        with self._lock, transaction(self.con) as c:
            yield c

    def _one(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self.con.execute(sql, args).fetchone()
        return row

    def _all(self, sql: str) -> list[sqlite3.Row]:
        with self._lock:
            return list(self.con.execute(sql))

    # --- accounts ---------------------------------------------------------------------------

    def add_user(
        self, name: str, password: str, roles: tuple[str, ...], expires: int | None, now: int
    ) -> Account:
        """Create a local account (``UsageError`` when the name is taken or invalid)."""
        if not name or not all(c.isalnum() or c in "._-" for c in name):
            raise UsageError(f"account name {name!r}: letters, digits, '.', '_' or '-' only")
        if len(password) < 12:
            raise UsageError("the password must have at least 12 characters")
        if self._one("SELECT 1 FROM users WHERE name = ?", (name,)):
            raise UsageError(f"account {name!r} exists already")
        with self._tx() as c:
            c.execute(
                "INSERT INTO users (name, hash, roles, expires_ns, created_ns) VALUES (?,?,?,?,?)",
                (name, _HASHER.hash(password), json.dumps(list(roles)), expires, now),
            )
        return self.user(name)

    def user(self, name: str) -> Account:
        """One account (``UsageError`` when there is none)."""
        row = self._one("SELECT * FROM users WHERE name = ?", (name,))
        if row is None:
            raise UsageError(f"no console account {name!r}")
        return _account(row)

    def users(self) -> list[Account]:
        """Every account, by name."""
        return [_account(r) for r in self._all("SELECT * FROM users ORDER BY name")]

    def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable (or enable) an account; a disabled account's sessions end."""
        self.user(name)
        with self._tx() as c:
            c.execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name))
            if disabled:
                c.execute("DELETE FROM sessions WHERE subject = ?", (f"local:{name}",))

    def unlock(self, name: str) -> None:
        """Clear an account's lock and failure count."""
        self.user(name)
        with self._tx() as c:
            c.execute("UPDATE users SET failed = 0, locked_until_ns = NULL WHERE name = ?", (name,))

    def check_password(
        self, name: str, password: str, now: int, attempts: int, lock_ns: int
    ) -> tuple[str, Account | None]:
        """Try a sign-in: ``("ok", account)``, or an outcome ``unknown``, ``wrong_password``,
        ``locked`` (this attempt locked it, or it already was), ``disabled``, ``expired``.
        Attempts on one store are taken one at a time, so none escapes the count."""
        with self._lock:
            return self._check_password(name, password, now, attempts, lock_ns)

    def _check_password(
        self, name: str, password: str, now: int, attempts: int, lock_ns: int
    ) -> tuple[str, Account | None]:
        row = self._one("SELECT * FROM users WHERE name = ?", (name,))
        if row is None:
            _verify(_DUMMY_HASH, password)
            return "unknown", None
        acct = _account(row)
        if acct.locked_until_ns is not None and acct.locked_until_ns > now:
            return "locked", acct
        if not _verify(str(row["hash"]), password):
            failed = acct.failed + 1
            until = now + lock_ns if failed >= attempts else None
            with self._tx() as c:
                c.execute(
                    "UPDATE users SET failed = ?, locked_until_ns = ? WHERE name = ?",
                    (0 if until else failed, until, name),
                )
            return ("locked" if until else "wrong_password"), self.user(name)
        if acct.disabled:
            return "disabled", acct
        if acct.expires_ns is not None and acct.expires_ns <= now:
            return "expired", acct
        with self._tx() as c:
            c.execute("UPDATE users SET failed = 0, locked_until_ns = NULL WHERE name = ?", (name,))
        return "ok", self.user(name)

    # --- sessions ---------------------------------------------------------------------------

    def new_session(self, p: Principal, now: int) -> str:
        """Store a session for ``p``; return its random id (the cookie carries it, signed)."""
        sid = secrets.token_urlsafe(32)
        with self._tx() as c:
            c.execute(
                "INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?)",
                (
                    sha256_hex(sid.encode()),
                    p.subject,
                    p.name,
                    json.dumps(sorted(p.roles)),
                    p.expires_ns,
                    secrets.token_urlsafe(32),
                    now,
                    now,
                ),
            )
        return sid

    def session(self, sid: str) -> SessionRow | None:
        """The stored session behind a cookie's id, or None."""
        row = self._one("SELECT * FROM sessions WHERE id_hash = ?", (sha256_hex(sid.encode()),))
        if row is None:
            return None
        p = Principal(
            str(row["subject"]),
            str(row["name"]),
            frozenset(json.loads(row["roles"])),
            row["expires_ns"],
        )
        return SessionRow(p, str(row["csrf"]), int(row["created_ns"]), int(row["seen_ns"]))

    def touch(self, sid: str, now: int) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE sessions SET seen_ns = ? WHERE id_hash = ?", (now, sha256_hex(sid.encode()))
            )

    def signed_in(self, subject: str, now: int) -> bool:
        """True while ``subject`` has a session whose account has not expired."""
        row = self._one(
            "SELECT 1 FROM sessions WHERE subject = ? AND (expires_ns IS NULL OR expires_ns > ?)",
            (subject, now),
        )
        return row is not None

    def end_session(self, sid: str) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM sessions WHERE id_hash = ?", (sha256_hex(sid.encode()),))

    # --- reveal requests --------------------------------------------------------------------

    def add_reveal(self, requester: str, session_id: str, token: str, reason: str, now: int) -> int:
        """A pending reveal request; its id."""
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO reveals (requester, session_id, token, reason, created_ns, status) "
                "VALUES (?,?,?,?,?,'pending')",
                (requester, session_id, token, reason, now),
            )
        return int(cur.lastrowid or 0)

    def reveal_request(self, rid: int) -> dict[str, Any]:
        row = self._one("SELECT * FROM reveals WHERE id = ?", (rid,))
        if row is None:
            raise UsageError(f"no reveal request {rid}")
        return dict(row)

    def reveal_requests(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._all("SELECT * FROM reveals ORDER BY id DESC")]

    def decide_reveal(self, rid: int, status: str, approver: str, now: int) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE reveals SET status = ?, approver = ?, decided_ns = ? WHERE id = ?",
                (status, approver, now, rid),
            )


def _verify(hashed: str, password: str) -> bool:
    try:
        return bool(_HASHER.verify(hashed, password))
    except (VerificationError, InvalidHashError):
        return False


def _account(row: sqlite3.Row) -> Account:
    return Account(
        name=str(row["name"]),
        roles=tuple(json.loads(row["roles"])),
        expires_ns=row["expires_ns"],
        disabled=bool(row["disabled"]),
        failed=int(row["failed"]),
        locked_until_ns=row["locked_until_ns"],
    )


def open_store(home: Path) -> ConsoleStore:
    """The console database of a firm home."""
    return ConsoleStore(Path(home) / "console" / "console.db")
