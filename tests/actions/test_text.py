"""Actions in words: masked values, unnamed elements, request summaries, the narrative."""

from __future__ import annotations

from agent.actions.model import Action, CausedRequest, Target
from agent.actions.text import action_text, masked_mode, narrative, requests_summary

T = 1_800_000_000_123_000_000


def _action(**kw: object) -> Action:
    base: dict[str, object] = {"seq": 5, "seq_first": 1, "t_utc_ns": T, "verb": "click", "text": ""}
    return Action(**{**base, **kw})  # type: ignore[arg-type]


def test_masked_mode_names_the_strongest_marker() -> None:
    """Redacted beats escrow beats tokenize; a clear value has none."""
    assert masked_mode("[redacted]") == "redact"
    assert masked_mode("tok_0123456789abcdef and esc_0123456789abcdef") == "escrow"
    assert masked_mode("tok_0123456789abcdef") == "tokenize"
    assert masked_mode("MSFT") == "" and masked_mode(None) == ""


def test_unnamed_targets_are_called_by_id_test_id_or_path() -> None:
    """No name: the id, then the test id, then the CSS path - never a node number."""
    texts = [
        action_text(_action(target=Target(role="button", element_id="go", node_id=12))),
        action_text(_action(target=Target(tag="div", test_id="grid-row", node_id=12))),
        action_text(_action(target=Target(css="table > tr:nth-of-type(3)", node_id=12))),
    ]
    assert texts == [
        "clicked button #go",
        "clicked div [test id grid-row]",
        "clicked element table > tr:nth-of-type(3)",
    ]


def test_requests_summary_gives_method_url_and_outcome() -> None:
    """Status, failure, pending and WebSocket sends each read plainly."""
    a = _action(
        requests=(
            CausedRequest(1, "POST", "http://x/api/orders", 200),
            CausedRequest(2, "GET", "http://x/a", None, "net::ERR_ABORTED"),
            CausedRequest(3, "GET", "http://x/b"),
            CausedRequest(4, "WS", "ws://x/ws", ws=True),
        )
    )
    assert requests_summary(a) == (
        "POST http://x/api/orders → 200; GET http://x/a → failed net::ERR_ABORTED; "
        "GET http://x/b → pending; WS sent ws://x/ws"
    )


def test_narrative_entries_carry_time_text_requests_and_the_action() -> None:
    """One entry per action for the report, with the UTC time in ISO form."""
    a = _action(text="clicked button 'Go'", target=Target(role="button", name="Go"))
    (entry,) = narrative([a])
    assert entry["text"] == "clicked button 'Go'" and entry["seq"] == 5
    assert entry["time"].startswith("2027-01-15T08:00:00.123") and entry["requests"] == ""
    assert entry["action"]["target"]["name"] == "Go"
