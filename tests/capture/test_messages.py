"""Binding messages (agent/capture/recorder_messages.py): valid batches become entries; the
rest is named, never raised."""

from __future__ import annotations

import orjson
import pytest

from agent.canonical import record_bytes
from agent.capture.recorder_messages import BadMessage, is_user_action, parse_message
from agent.mutation_columns import AttrColumns, TextColumns


def _msg(events: list[object], n: int = 0, v: int = 1) -> str:
    return orjson.dumps({"v": v, "n": n, "events": events}).decode()


def test_valid_batch_yields_kind_time_payload_in_order() -> None:
    """Each {k, t, p} entry of a v1 batch comes back in order with its counter."""
    raw = _msg(
        [
            {"k": "rrweb.meta", "t": 1_700_000_000_000, "p": {"type": 4}},
            {"k": "capture.heartbeat", "t": 1_700_000_000_001, "p": {"batches": 3}},
        ],
        n=7,
    )
    parsed = parse_message(raw)
    assert parsed.n == 7
    assert parsed.entries == [
        ("rrweb.meta", 1_700_000_000_000, {"type": 4}),
        ("capture.heartbeat", 1_700_000_000_001, {"batches": 3}),
    ]
    assert parsed.rejected == []


@pytest.mark.parametrize(
    "raw,why",
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not an object"),
        (_msg([], v=2), "unknown protocol version"),
        ('{"v": 1, "events": []}', "missing batch counter"),
        ('{"v": 1, "n": -1, "events": []}', "missing batch counter"),
    ],
)
def test_malformed_message_is_a_bad_message_naming_the_problem(raw: str, why: str) -> None:
    """Malformed payloads raise BadMessage (the engine records capture.tamper)."""
    with pytest.raises(BadMessage, match=why):
        parse_message(raw)


def test_unknown_kind_float_time_and_non_object_payload_are_rejected_not_kept() -> None:
    """Entries that break the protocol are listed in ``rejected``; valid ones are kept."""
    raw = _msg(
        [
            {"k": "page.navigate", "t": 1, "p": {}},  # not a recorder kind
            {"k": "rrweb.mutation", "t": 1.5, "p": {}},
            {"k": "rrweb.mutation", "t": 2, "p": [1]},
            "junk",
            {"k": "input.key", "t": 3, "p": {"key": "a"}},
        ]
    )
    parsed = parse_message(raw)
    assert parsed.entries == [("input.key", 3, {"key": "a"})]
    assert len(parsed.rejected) == 4
    assert "unknown kind 'page.navigate'" in parsed.rejected[0]


def test_clicks_enter_and_submit_are_user_actions_other_events_are_not() -> None:
    """Click/dblclick/touchend, Enter and submit may cause requests; mousedown/keys do not."""
    assert is_user_action("rrweb.mouse_interaction", {"data": {"type": 2}})
    assert not is_user_action("rrweb.mouse_interaction", {"data": {"type": 1}})
    assert is_user_action("input.key", {"key": "Enter"})
    assert not is_user_action("input.key", {"key": "a"})
    assert is_user_action("input.submit", {})
    assert not is_user_action("rrweb.scroll", {})


@pytest.mark.parametrize(
    ("hosts", "expected"), [(3, 3), (None, 0), (0, 0), (-2, 0), ("5", 0), (True, 0), (1.5, 0)]
)
def test_hosts_waiting_for_the_closed_shadow_check_is_a_positive_integer_or_zero(
    hosts: object, expected: int
) -> None:
    """``"hosts"`` (custom elements the recorder holds for the agent's closed-root check) is
    taken only as a positive integer; anything else the page might forge counts as none."""
    msg: dict[str, object] = {"v": 1, "n": 0, "events": []}
    if hosts is not None:
        msg["hosts"] = hosts
    assert parse_message(orjson.dumps(msg).decode()).hosts == expected


def _mutation(data: dict[str, object]) -> str:
    p = {"type": 3, "data": {"source": 0, "removes": [], "adds": [], **data}}
    return _msg([{"k": "rrweb.mutation", "t": 5, "p": p}])


def test_texts_and_attribute_changes_sent_as_columns_mean_their_rrweb_lists() -> None:
    """A mutation's columns become TextColumns / AttrColumns that iterate as the rrweb lists
    they stand for and are written as those lists in a chunk's JSON."""
    texts = {"ids": [4, 7], "values": ["101.25", None]}
    attrs = {"ids": [9, 3, 9], "objs": [{"class": "up"}, {"class": None}], "of": [0, 1, 0]}
    (entry,) = parse_message(_mutation({"texts": texts, "attributes": attrs})).entries
    data = entry[2]["data"]
    assert type(data["texts"]) is TextColumns and type(data["attributes"]) is AttrColumns
    as_lists = {
        "texts": [{"id": 4, "value": "101.25"}, {"id": 7, "value": None}],
        "attributes": [
            {"id": 9, "attributes": {"class": "up"}},
            {"id": 3, "attributes": {"class": None}},
            {"id": 9, "attributes": {"class": "up"}},
        ],
    }
    assert list(data["texts"]) == as_lists["texts"]
    assert list(data["attributes"]) == as_lists["attributes"]
    (listed,) = parse_message(_mutation(as_lists)).entries
    assert record_bytes(entry[2]) == record_bytes(listed[2])


@pytest.mark.parametrize(
    "data",
    [
        {"texts": {"ids": [1, 2], "values": ["a"]}},  # lengths differ
        {"texts": {"ids": [-1], "values": ["a"]}},  # not a node id
        {"texts": {"ids": [True], "values": ["a"]}},  # a bool is not an id
        {"texts": {"ids": [1], "values": [3]}},  # a value that is not a string or null
        {"texts": {"ids": [1], "values": ["a"], "more": 1}},  # an unknown field
        {"texts": {"ids": "1", "values": ["a"]}},
        {"attributes": {"ids": [1], "objs": [{"a": "b"}], "of": [1]}},  # no such object
        {"attributes": {"ids": [1, 2], "objs": [{"a": "b"}], "of": [0]}},  # lengths differ
        {"attributes": {"ids": [1], "objs": ["a"], "of": [0]}},  # not an object
        {"attributes": {"ids": [1], "objs": [{"a": "b"}]}},  # no "of"
    ],
)
def test_malformed_columns_reject_the_mutation_naming_why(data: dict[str, object]) -> None:
    parsed = parse_message(_mutation(data))
    assert parsed.entries == []
    (why,) = parsed.rejected
    assert why.startswith("rrweb.mutation: bad ") and why.endswith(" columns")
