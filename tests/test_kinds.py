"""The event-kind registry: unique, well-formed, described."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.journal.outage import DISK_FULL, WRITE_FAILED
from agent.kinds import GAP_CAUSES, KINDS, register


def test_kind_names_are_dotted_lowercase_and_described() -> None:
    """Every kind is `family.name` and has a one-line description."""
    for name, kind in KINDS.items():
        assert name == kind.name
        assert "." in name and name == name.lower()
        assert kind.description and "\n" not in kind.description


def test_registering_a_duplicate_or_malformed_kind_fails() -> None:
    """The registry refuses duplicates and names outside the pattern."""
    with pytest.raises(ValueError, match="duplicate"):
        register("session.start", "again")
    with pytest.raises(ValueError, match="bad kind name"):
        register("NoDots", "bad")


def test_user_actions_include_clicks_keys_inputs_scrolls_and_navigation() -> None:
    """The timeline's user-action flag covers the actions the viewer steps through."""
    actions = {k for k, v in KINDS.items() if v.user_action}
    assert {
        "rrweb.mouse_interaction",
        "input.key",
        "rrweb.input",
        "rrweb.scroll",
        "page.navigate",
    } <= actions


def test_journal_outage_causes_are_registered_gap_causes_and_documented() -> None:
    """disk_full and write_failed are gap causes, each described and named in a stage README."""
    root = Path(__file__).resolve().parents[1] / "agent"
    docs = (root / "capture" / "README.md").read_text() + (
        root / "journal" / "README.md"
    ).read_text()
    assert {DISK_FULL, WRITE_FAILED} <= set(GAP_CAUSES)
    for cause, description in GAP_CAUSES.items():
        assert description and "\n" not in description
        assert f"`{cause}`" in docs, f"gap cause {cause} is not documented"
