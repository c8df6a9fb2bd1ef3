"""Cause links: the latest user action in the same page (same frame first) within the window."""

from __future__ import annotations

from agent.capture.cause import Action, CauseLinker

MS = 1_000_000


def _action_id(action: Action | None) -> str | None:
    return action.action_id if action is not None else None


def test_latest_action_in_window_same_frame_preferred() -> None:
    """A request is caused by the latest action before it in its own frame, if any."""
    cl = CauseLinker(window_ms=1000)
    cl.note(Action("P", "F1", 100 * MS, "rrweb.mouse_interaction", "a1"))
    cl.note(Action("P", "F2", 300 * MS, "rrweb.mouse_interaction", "a2"))
    cl.note(Action("P", "F1", 200 * MS, "input.key", "a3"))
    assert _action_id(cl.link("P", "F1", 400 * MS)) == "a3"
    assert _action_id(cl.link("P", "F9", 400 * MS)) == "a2"


def test_no_cause_outside_window_other_page_or_after_request() -> None:
    """Too old, another page, or later than the request: no cause."""
    cl = CauseLinker(window_ms=1000)
    cl.note(Action("P", "F", 1000 * MS, "input.submit", "a1"))
    assert cl.link("P", "F", 2001 * MS) is None
    assert cl.link("Q", "F", 1500 * MS) is None
    assert cl.link("P", "F", 900 * MS) is None
    assert _action_id(cl.link("P", "F", 1000 * MS - 2 * MS)) == "a1"


def test_popup_request_falls_back_to_the_click_in_its_opener() -> None:
    """A popup's first request is linked to the click in the page that opened it."""
    cl = CauseLinker(window_ms=1000)
    cl.note(Action("OPENER", "F", 100 * MS, "rrweb.mouse_interaction", "a1"))
    act = cl.link("POPUP", "G", 300 * MS, opener="OPENER")
    assert act is not None and act.ref() == {
        "page": "OPENER",
        "t_utc_ns": 100 * MS,
        "kind": "rrweb.mouse_interaction",
        "action_id": "a1",
        "frame": "F",
    }
    assert cl.new_action_id() != cl.new_action_id()
