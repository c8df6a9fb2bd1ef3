"""Which moments get a picture, and the events that rebuild the page at one."""

from __future__ import annotations

from typing import Any

from agent.actions.model import Action, Target
from agent.replay.orders import Order
from agent.replay.thumbs import Moment, moments, replay_events


def _a(seq: int, verb: str, role: str = "") -> Action:
    return Action(
        seq=seq,
        seq_first=seq,
        t_utc_ns=seq,
        verb=verb,
        text=verb,
        target=Target(role=role),
        page="P",
    )


def test_orders_come_first_then_significant_actions_up_to_the_limit_in_seq_order() -> None:
    """Typing and clicks on fields are not pictured; buttons, submits, dialogs, downloads and
    navigations are; orders are never squeezed out by the limit."""
    acts = [
        _a(1, "navigate"),
        _a(2, "type", "textbox"),
        _a(3, "click", "textbox"),
        _a(4, "click", "button"),
        _a(5, "submit"),
        _a(6, "dialog"),
        _a(7, "download"),
    ]
    orders = [Order(9, 9, "P", "WebSocket"), Order(8, 8, "P", "HTTP POST /x")]
    assert [m.seq for m in moments(acts, orders, 100)] == [1, 4, 5, 6, 7, 8, 9]
    assert [m.seq for m in moments(acts, orders, 3)] == [1, 8, 9]
    assert moments(acts, orders, 0) == []


def test_replay_events_start_at_the_last_keyframe_of_the_page_before_the_moment() -> None:
    """Meta + FullSnapshot of the latest keyframe at or before the seq, then the main frame's
    rrweb events up to it; other frames, other kinds and later events are left out."""

    def ev(seq: int, kind: str, frame: str = "P") -> dict[str, Any]:
        return {"seq": seq, "kind": kind, "page": "P", "frame": frame, "payload": {"n": seq}}

    data = {
        "keyframes": {"streams": {"P:P": [{"seq": 1, "full_seq": 2}, {"seq": 10, "full_seq": 11}]}},
        "events": [
            ev(1, "rrweb.meta"),
            ev(2, "rrweb.full_snapshot"),
            ev(10, "rrweb.meta"),
            ev(11, "rrweb.full_snapshot"),
            ev(12, "rrweb.mutation", "F"),
            ev(13, "net.request"),
            ev(14, "rrweb.mutation"),
            ev(15, "rrweb.mutation"),
        ],
    }
    assert [e["n"] for e in replay_events(data, Moment(14, "P"))] == [10, 11, 14]
    assert [e["n"] for e in replay_events(data, Moment(5, "P"))] == [1, 2]
    assert replay_events(data, Moment(14, "Q")) == [] and replay_events(data, Moment(0, "P")) == []
