"""JSON shapes: keys and types, never values; array elements merged; the differences named
by their path."""

from __future__ import annotations

from agent.redrive.shapes import json_shape, shape_diff, shape_of


def test_values_do_not_matter_types_and_keys_do() -> None:
    a = shape_of({"order_id": "RS-1", "qty": 5, "ok": True, "note": None})
    assert a == shape_of({"order_id": "RS-2", "qty": 7.5, "ok": False, "note": None})
    assert shape_diff(a, shape_of({"order_id": 1, "qty": 5, "ok": True})) == [
        "$.note: null -> missing",
        "$.order_id: string -> number",
    ]


def test_array_elements_are_one_shape_and_paths_name_them() -> None:
    rec = shape_of({"orders": [{"id": "a", "status": "open"}, {"id": "b", "status": "done"}]})
    now = shape_of({"orders": [{"id": "c"}], "extra": [1]})
    assert shape_diff(rec, now) == [
        "$.extra: missing -> array",
        "$.orders[].status: string -> missing",
    ]
    assert shape_diff(rec, shape_of({"orders": []})) == []  # an empty list tells nothing
    assert shape_diff(rec, shape_of({"orders": {"id": "a"}})) == ["$.orders: array -> object"]


def test_elements_that_vary_are_mixed_and_match_anything() -> None:
    mixed = shape_of([{"a": 1}, {"b": "x"}])
    assert shape_diff(mixed, shape_of([{"a": "now a string"}])) == []
    assert shape_diff(shape_of([1, "x"]), shape_of([True])) == []


def test_json_shape_of_text() -> None:
    assert json_shape('{"a": [1, 2]}') == {"object": {"a": {"array": "number"}}}
    assert json_shape("not json") is None
