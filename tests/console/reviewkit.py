"""Helpers for the review queue tests: a console database, a recording audit callable, a
real SQLite search index holding session metadata, and the principals of each role."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from agent.console.identity import ADMIN, EXAMINER, REVIEWER, SUPERVISOR, Principal
from agent.console.review_schema import ensure_review_schema
from agent.index.base import SessionMeta
from agent.index.sqlite import SqliteIndex

DAY = "2026-01-01"  # FakeClock's default start is 2026-01-01T00:00Z
DAY_START_NS = 1_767_225_600_000_000_000
KEY = bytes(range(32))

ALICE = Principal("local:alice", "alice", frozenset({REVIEWER}))
CAROL = Principal("local:carol", "carol", frozenset({REVIEWER}))
SUE = Principal("oidc:https://idp.firm.test#s-1", "sue@firm.test", frozenset({SUPERVISOR}))
EVE = Principal("local:eve", "eve", frozenset({EXAMINER}))
SYSTEM = Principal("system:scheduler", "scheduler", frozenset({ADMIN}))


class AuditLog:
    """The audit callable the console hands the queue: keeps each record in a list (the
    console's real one seals it into the audit journal)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any], str]] = []

    def __call__(self, kind: str, payload: dict[str, Any], principal: Principal) -> None:
        self.records.append((kind, payload, principal.subject))

    def kinds(self) -> list[str]:
        return [k for k, _, _ in self.records]


def console_db(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    ensure_review_schema(con)
    return con


def metadata_index(path: Path, sessions: list[tuple[str, str, int]]) -> SqliteIndex:
    """A real SQLite index holding (session id, trader, start ns) as session metadata."""
    ix = SqliteIndex(path, key=KEY)
    for sid, user, start in sessions:
        ix.upsert_session(SessionMeta(session_id=sid, user=user, start_ns=start, end_ns=start))
    return ix
