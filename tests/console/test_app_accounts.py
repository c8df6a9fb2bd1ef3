"""The console database: argon2 hashes, sessions stored by hash, lockout counting under
parallel attempts, lock expiry, and its schema version."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agent.console.accounts import ConsoleStore, check_roles
from agent.console.identity import EXAMINER, REVIEWER
from agent.errors import UnknownVersion, UsageError

PASSWORD = "correct horse battery"
MIN_NS = 60 * 1_000_000_000
NOW = 1_800_000_000 * 1_000_000_000


@pytest.fixture
def store(tmp_path: Path) -> ConsoleStore:
    s = ConsoleStore(tmp_path / "console" / "console.db")
    s.add_user("rita", PASSWORD, (REVIEWER,), None, NOW)
    return s


def test_password_is_an_argon2id_hash_and_the_session_id_is_not_stored(
    store: ConsoleStore,
) -> None:
    sid = store.new_session(store.user("rita").principal(), NOW)
    con = sqlite3.connect(store.path)
    (hashed,) = con.execute("SELECT hash FROM users").fetchone()
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    dump = "\n".join(con.iterdump())
    assert sid not in dump
    assert store.session(sid) is not None and store.session(sid + "x") is None


def test_parallel_wrong_passwords_all_count_toward_the_lock(store: ConsoleStore) -> None:
    """Five wrong passwords at once with a limit of five: the account ends locked."""
    with ThreadPoolExecutor(5) as ex:
        outcomes = list(
            ex.map(lambda _: store.check_password("rita", "nope", NOW, 5, 15 * MIN_NS)[0], range(5))
        )
    assert sorted(outcomes) == ["locked", *["wrong_password"] * 4]
    assert store.check_password("rita", PASSWORD, NOW, 5, 15 * MIN_NS)[0] == "locked"


def test_a_lock_ends_after_the_lockout_time(store: ConsoleStore) -> None:
    for _ in range(3):
        store.check_password("rita", "nope", NOW, 3, 15 * MIN_NS)
    assert store.check_password("rita", PASSWORD, NOW + 14 * MIN_NS, 3, 15 * MIN_NS)[0] == "locked"
    assert store.check_password("rita", PASSWORD, NOW + 15 * MIN_NS, 3, 15 * MIN_NS)[0] == "ok"


def test_an_examiner_account_must_expire() -> None:
    with pytest.raises(UsageError, match="needs --expires"):
        check_roles([EXAMINER], None)
    with pytest.raises(UsageError, match="unknown role 'auditor'"):
        check_roles(["auditor"], None)


def test_unknown_console_db_version_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "console.db"
    ConsoleStore(path).close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 99")
    con.close()
    with pytest.raises(UnknownVersion, match=f"{path}: console database version 99"):
        ConsoleStore(path)
