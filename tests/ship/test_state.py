"""The local ship state: flags, rows added once, and write failures as VaultError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.errors import VaultError
from agent.ship.state import ShipState


def _object(key: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "key": key,
        "session_id": "s1",
        "segment_id": "seg1",
        "path": "/j/s1/000000-seg1.stj",
        "size": 10,
        "sealed_utc_ns": 1,
        "record_class": "default",
        "retain_until": "2032-01-01T00:00:00Z",
        "status": "pending",
        "discovered_ns": 1,
    }
    return {**row, **kw}


def test_meta_flag_is_overwritten_and_cleared_by_none(tmp_path: Path) -> None:
    """meta_set replaces a flag's value; None removes it."""
    st = ShipState(tmp_path / "state.db")
    st.meta_set("paused", "bucket lost its lock")
    st.meta_set("paused", "versioning suspended")
    assert st.meta_get("paused") == "versioning suspended"
    st.meta_set("paused", None)
    assert st.meta_get("paused") is None


def test_insert_with_ignore_keeps_the_row_already_there(tmp_path: Path) -> None:
    """A segment seen twice stays as first recorded (scan is idempotent)."""
    st = ShipState(tmp_path / "state.db")
    st.insert("objects", _object("segments/s1/a.stj", size=10), ignore=True)
    st.insert("objects", _object("segments/s1/a.stj", size=99), ignore=True)
    row = st.get("segments/s1/a.stj")
    assert row is not None and (row.size, row.status, row.attempts) == (10, "pending", 0)


def test_rejected_write_is_a_retryable_vault_error_and_changes_nothing(tmp_path: Path) -> None:
    """An SQLite refusal (here the status CHECK) surfaces as VaultError; the row is not added."""
    st = ShipState(tmp_path / "state.db")
    with pytest.raises(VaultError, match="ship state write failed") as ei:
        st.insert("objects", _object("segments/s1/b.stj", status="lost"))
    assert ei.value.retryable is True
    assert st.get("segments/s1/b.stj") is None


def test_state_reopens_at_the_same_schema_version(tmp_path: Path) -> None:
    """Reopening an existing state.db keeps its rows (no migration runs twice)."""
    ShipState(tmp_path / "state.db").insert("objects", _object("segments/s1/c.stj"))
    again = ShipState(tmp_path / "state.db")
    assert [r.key for r in again.objects()] == ["segments/s1/c.stj"]
    assert again.query("PRAGMA user_version")[0][0] == 1
