"""Network pairs on the replay timeline: request + response/failure, WebSocket frames."""

from __future__ import annotations

from typing import Any

from agent.events import Record
from agent.replay.network_index import index_network


def _rec(seq: int, kind: str, payload: dict[str, Any]) -> Record:
    return Record(seq, 1_000 * seq, seq, kind, payload, "p1", "p1", 0, "s")


def test_request_and_response_fold_into_one_entry_with_cause() -> None:
    """Method, URL and the causing action come from the request; status from the response."""
    net: dict[str, dict[str, Any]] = {}
    index_network(
        net,
        _rec(
            1,
            "net.request",
            {
                "request_id": "r1",
                "method": "POST",
                "url": "https://x/",
                "cause": {"action_id": "a"},
            },
        ),
    )
    index_network(net, _rec(2, "net.response", {"request_id": "r1", "status": 201}))
    e = net["r1"]
    assert (e["method"], e["url"], e["cause"], e["status"]) == ("POST", "https://x/", "a", 201)
    assert e["seqs"] == [1, 2] and e["seq"] == 1 and e["response_seq"] == 2


def test_failed_request_records_the_error() -> None:
    """A net.failed record ends the pair with its error."""
    net: dict[str, dict[str, Any]] = {}
    index_network(net, _rec(1, "net.request", {"request_id": "r1", "url": "https://x/"}))
    index_network(net, _rec(2, "net.failed", {"request_id": "r1", "error": "net::ERR_FAILED"}))
    assert net["r1"]["failed"] == "net::ERR_FAILED" and net["r1"]["t_end_utc_ns"] == 2_000


def test_websocket_frames_are_counted_apart_from_http_and_keep_their_causes() -> None:
    """A WebSocket gets its own ``ws:`` entry; frames count up and remember their action."""
    net: dict[str, dict[str, Any]] = {}
    index_network(net, _rec(1, "net.ws_open", {"request_id": "r1", "url": "wss://x/ws"}))
    index_network(net, _rec(2, "net.ws_frame", {"request_id": "r1"}))
    index_network(net, _rec(3, "net.ws_frame", {"request_id": "r1", "cause": {"action_id": "a"}}))
    e = net["ws:r1"]
    assert (e["method"], e["frames"], e["frame_causes"]) == ("WS", 2, [[3, "a"]])
    assert "r1" not in net
