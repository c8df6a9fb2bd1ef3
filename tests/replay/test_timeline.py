"""The replay timeline and the session data speak in actions (a sealed scripted journal)."""

from __future__ import annotations

from pathlib import Path

from agent.config import load_config
from agent.replay.assets import in_store
from agent.replay.server import session_summary
from agent.replay.session import ReplaySession
from agent.testing import FakeClock
from tests.actions.builders import Script, element
from tests.journals import EventSpec, write_scripted_session


def _open(home: Path) -> ReplaySession:
    s = Script(page="P")
    s.click(20, element("Symbol", 20), aid="a1")
    s.type_word(20, "MSFT", element("Symbol", 20))
    s.click(30, element("Send (REST)", 30, role="button", tag="button"), aid="a2")
    events: list[EventSpec] = [(r.kind, r.payload, "P") for r in s.records]
    cfg = load_config(env={}, home=home)
    j = write_scripted_session(home, cfg, FakeClock(), [events])
    return ReplaySession.open(home, j.session_id)


def test_timeline_labels_actions_in_words_and_keeps_keystrokes_as_parts(tmp_path: Path) -> None:
    """The entry completing an action has its text; the edit's keys point at it (part_of)."""
    rs = _open(tmp_path / "home")
    try:
        texts = [a.text for a in rs.derived_actions]
        assert texts == [
            "typed 'MSFT' into 'Symbol' in 'Order ticket'",
            "clicked button 'Send (REST)' in 'Order ticket'",
        ]
        by_label = {e["label"]: e for e in rs.timeline}
        assert by_label[texts[1]]["action_index"] == 1
        keys = [e for e in rs.timeline if e["kind"] == "input.key"]
        assert len(keys) == 4 and all(e.get("part_of") == 0 for e in keys)
        assert not any("node 2" in e["label"] or "node 3" in e["label"] for e in rs.timeline)
    finally:
        rs.close()


def test_session_data_carries_the_actions_for_the_viewer(tmp_path: Path) -> None:
    """/api/session (and the offline bundle) has ``actions``: each action's dict."""
    home = tmp_path / "home"
    rs = _open(home)
    try:
        data = session_summary(rs, in_store(home / "assets"), None, 100)
        assert [a["verb"] for a in data["actions"]] == ["type", "click"]
        assert data["actions"][1]["target"]["name"] == "Send (REST)"
        assert data["actions"][0]["cause_ids"] == ["a1"]
    finally:
        rs.close()
