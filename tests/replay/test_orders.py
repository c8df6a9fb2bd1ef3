"""Orders found in recorded requests and WebSocket messages, with their fields as recorded."""

from __future__ import annotations

from agent.events import Record
from agent.replay.orders import find_orders, sent_fields


def _rec(seq: int, kind: str, payload: dict[str, object]) -> Record:
    return Record(seq, seq, seq, kind, dict(payload), "P", "P", chunk=0, segment="s")


def test_orders_are_requests_matching_the_patterns_and_sent_ws_messages_of_an_order_type() -> None:
    """A JSON POST, a form POST and a sent WS order count; a lookup, a received ack and a
    non-order WS message do not; a tokenized account stays its token."""
    recs = [
        _rec(
            1,
            "net.request",
            {
                "url": "https://oms/api/orders",
                "method": "POST",
                "request_id": "r1",
                "cause": {"action_id": "a3"},
                "post_data": '{"symbol":"AAPL","side":"SELL","quantity":"250","price":"187.25",'
                '"account":"tok_9df29b03a571e81f"}',
            },
        ),
        _rec(
            2,
            "net.request",
            {
                "url": "https://oms/api/lookup",
                "method": "POST",
                "post_data": '{"ssn":"tok_1438f6fec1b8f5e8"}',
            },
        ),
        _rec(
            3,
            "net.ws_frame",
            {
                "direction": "sent",
                "data": '{"type":"order","symbol":"MSFT","side":"BUY","quantity":"100"}',
            },
        ),
        _rec(4, "net.ws_frame", {"direction": "received", "data": '{"type":"order"}'}),
        _rec(5, "net.ws_frame", {"direction": "sent", "data": '{"type":"ping"}'}),
        _rec(
            6,
            "net.request",
            {
                "url": "https://oms/api/confirm",
                "method": "POST",
                "post_data": "symbol=IBM&side=BUY&quantity=5&price=1",
            },
        ),
    ]
    orders = find_orders(recs, ("*/api/orders*", "*/api/confirm*"), ("order",), {"r1": "201"})
    assert [o.seq for o in orders] == [1, 3, 6]
    assert orders[0].text() == (
        "order sent over HTTP POST /api/orders: side SELL, quantity 250, symbol AAPL, "
        "price 187.25 (account tok_9df29b03a571e81f)"
    )
    assert (orders[0].action_id, orders[0].status) == ("a3", "201")
    assert orders[1].text() == (
        "order sent over WebSocket: side BUY, quantity 100, symbol MSFT, price (not recorded)"
    )
    assert orders[2].fields == {"symbol": "IBM", "side": "BUY", "quantity": "5", "price": "1"}


def test_sent_fields_reads_json_objects_and_forms_and_nothing_else() -> None:
    """Top-level scalar fields only; a JSON list or an empty body gives nothing."""
    assert sent_fields('{"a": 1, "b": {"c": 2}, "d": ""}') == {"a": "1"}
    assert sent_fields("user=x&pin=%5Bredacted%5D") == {"user": "x", "pin": "[redacted]"}
    assert sent_fields("[1, 2]") == {} and sent_fields(None) == {}
