"""TargetRegistry: attached targets by session and by target id, and the page a frame is in."""

from __future__ import annotations

from agent.capture.state import Target, TargetRegistry


def _registry() -> TargetRegistry:
    reg = TargetRegistry()
    reg.add(Target("S1", "P1", "page", "P1"))
    reg.add(Target("S2", "P2", "page", "P2", opener_id="P1"))
    frame = Target("S3", "F1", "iframe", "P1")
    frame.frame_urls["F1-child"] = "https://b.test/"
    reg.add(frame)
    return reg


def test_a_popup_names_its_opener_and_a_frame_names_its_top_level_page() -> None:
    """opener_of answers for popups only; page_of_frame finds a frame by id or by its children."""
    reg = _registry()
    assert reg.opener_of("P2") == "P1"
    assert reg.opener_of("P1") is None
    assert reg.page_of_frame("F1") == "P1"
    assert reg.page_of_frame("F1-child") == "P1"
    assert reg.page_of_frame("nowhere") is None


def test_removing_a_session_forgets_the_target_under_both_keys() -> None:
    """A detached target is gone by session and by target id; an unknown session is None."""
    reg = _registry()
    gone = reg.remove("S2")
    assert gone is not None and gone.target_id == "P2"
    assert reg.get("S2") is None and reg.find("P2") is None
    assert reg.remove("S2") is None
    assert [t.session_id for t in reg.all()] == ["S1", "S3"]
    assert reg.any_page() is True
    reg.remove("S1")
    assert reg.any_page() is False
