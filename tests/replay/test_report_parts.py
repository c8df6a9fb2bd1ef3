"""The report's narrative drawn from hand-built actions (the shape the action derivation
gives), independent of how actions are derived: rows in words, requests with what they
sent, a picture or a named placeholder, orders as their own rows."""

from __future__ import annotations

from collections import Counter
from typing import Any

from agent.actions.model import Action, CausedRequest, Target
from agent.replay.orders import Order
from agent.replay.report_parts import narrative_part, summary_sentence
from agent.replay.report_view import SessionView

T0 = 1_796_544_180_000_000_000


def _view(actions: list[Action], orders: list[Order], thumbs: dict[str, Any]) -> SessionView:
    return SessionView(
        meta={
            "session_id": "S1",
            "user": "jdoe",
            "workstation": "ws-7",
            "start_utc_ns": T0,
            "end_utc_ns": T0 + 65_000_000_000,
        },
        integrity={"status": "verified", "first_failure": None, "ok": True, "segments": []},
        actions=actions,
        orders=orders,
        network=[],
        gaps=[],
        masking={"tokenized": Counter(), "redacted": Counter()},
        origins=["https://oms.firm"],
        downloads=["blotter.csv"],
        entry={},
        sent={40: {"symbol": "AAPL", "ssn": "tok_0123456789abcdef"}},
        thumbs=thumbs,
    )


CLICK = Action(
    seq=41,
    seq_first=41,
    t_utc_ns=T0 + 1_500_000_000,
    verb="click",
    text="clicked button 'Send (REST)' in 'Order ticket'",
    target=Target(role="button", name="Send (REST)", node_id=2374),
    requests=(CausedRequest(seq=40, method="POST", url="https://oms.firm/api/orders", status=201),),
)
ORDER = Order(
    42,
    T0 + 1_600_000_000,
    "P",
    "HTTP POST /api/orders",
    {"side": "SELL", "quantity": "250", "symbol": "AAPL", "price": "187.25"},
)


def test_narrative_row_is_the_action_text_with_its_requests_and_what_they_sent() -> None:
    """A click row: UTC time, the sentence, the request with status and its sent fields."""
    html = "".join(narrative_part(_view([CLICK], [], {})))
    assert "<td>08:03:01.500</td>" in html
    assert "clicked button &#x27;Send (REST)&#x27; in &#x27;Order ticket&#x27;" in html
    assert (
        "POST /api/orders → 201 (sent: symbol &#x27;AAPL&#x27;, ssn &#x27;tok_0123456789abcdef"
        in html
    )
    assert "2374" not in html  # the node id is for the replayer, never shown


def test_a_picture_that_could_not_be_drawn_is_a_named_placeholder() -> None:
    """One moment with a file gets an <img>; one that failed says why, in the row."""
    thumbs = {
        "41": {"error": "could not be rendered (the replayer drew no page)"},
        "42": {"file": "report/thumbs/S1/42.jpg"},
    }
    html = "".join(narrative_part(_view([CLICK], [ORDER], thumbs)))
    assert "no picture: could not be rendered (the replayer drew no page)" in html
    assert "<img class='thumb' src='report/thumbs/S1/42.jpg'" in html
    assert html.index("data-seq='41'") < html.index("data-seq='42'")  # journal order
    assert "order sent over HTTP POST /api/orders: side SELL, quantity 250, symbol AAPL" in html


def test_summary_names_who_where_when_how_long_and_what() -> None:
    """One sentence set: date, UTC span with duration, user, workstation, sites, counts."""
    s = summary_sentence(_view([CLICK], [ORDER], {}))
    assert s.startswith("On 2026-12-06, from 08:03:00.000 to 08:04:05.000 UTC (1 min 5 s), ")
    assert "user jdoe on workstation ws-7 used https://oms.firm (session S1)" in s
    assert "1 action, 1 order (SELL 250 AAPL at 187.25) and 1 download (blotter.csv)" in s
    assert s.endswith("Integrity: verified.")
