"""The DOM mirror fed a mutation decoded as columns ends exactly where the same mutation as
lists of dicts leaves it, on the fast paths (a grid's texts and class flips) and off them."""

from __future__ import annotations

from typing import Any

import pytest

from agent.index.dom import DomMap
from agent.mutation_columns import AttrColumns
from agent.seal import chunk_codec

ELEMENT, TEXT = 2, 3


def _grid() -> dict[str, Any]:
    """A document with 20 cells, each an element (id 10+2k) holding a text (id 11+2k)."""
    cells = [
        {
            "type": ELEMENT,
            "id": 10 + 2 * k,
            "tagName": "td",
            "attributes": {"class": "flat", "style": "x"},
            "childNodes": [{"type": TEXT, "id": 11 + 2 * k, "textContent": "1.00"}],
        }
        for k in range(20)
    ]
    return {"type": 0, "id": 1, "childNodes": [
        {"type": ELEMENT, "id": 2, "tagName": "table", "attributes": {}, "childNodes": cells}
    ]}  # fmt: skip


def _record(texts: list[Any], attributes: list[Any]) -> dict[str, Any]:
    data = {"source": 0, "adds": [], "removes": [], "texts": texts, "attributes": attributes}
    payload = {"type": 3, "timestamp": 1, "data": data}
    return {"v": 1, "seq": 1, "t_utc_ns": 1, "t_mono_ns": 1, "kind": "rrweb.mutation",
            "payload": payload}  # fmt: skip


FLIPS: list[dict[str, Any]] = [
    {"id": 10 + 2 * k, "attributes": {"class": "up" if k % 3 else "down"}} for k in range(20)
]
CASES = {
    "a grid's prices and class flips": (
        [{"id": 11 + 2 * k, "value": f"{k}.25"} for k in range(20)],
        FLIPS,
    ),
    "a change on a node the mirror lacks": (
        [],
        [*FLIPS, {"id": 999, "attributes": {"class": "up"}}],
    ),
    "an attribute the mirror does not keep": ([], [{"id": 10, "attributes": {"style": "y"}}] * 3),
    "two attributes at once, and a removed one": (
        [],
        [
            {"id": 10, "attributes": {"class": "up", "title": "t"}},
            {"id": 12, "attributes": {"class": None}},
        ],
    ),  # fmt: skip
    "a number as the value": ([], [{"id": 10, "attributes": {"title": 5}}] * 2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_columns_and_lists_leave_the_same_mirror(name: str) -> None:
    texts, attrs = CASES[name]
    body = chunk_codec.encode([_record(texts, attrs)], 3)
    mirrors = []
    changed = []
    for columns in (False, True):
        (rec,) = chunk_codec.decode(body, 3, columns=columns)
        data = rec["payload"]["data"]
        assert isinstance(data["attributes"], AttrColumns) is (columns and bool(attrs))
        dom = DomMap()
        dom.load_snapshot(_grid())
        changed.append(dom.apply_mutation(data))
        mirrors.append({i: (dict(n.attrs), n.text) for i, n in dom.nodes.items()})
    assert mirrors[0] == mirrors[1]
    assert changed[0] == changed[1]
    if name == "a grid's prices and class flips":
        assert mirrors[1][10] == ({"class": "down"}, "")  # style is not mirrored
        assert mirrors[1][13] == ({}, "1.25")


def test_a_grids_class_flips_take_the_column_path_and_a_missing_node_does_not() -> None:
    dom = DomMap()
    dom.load_snapshot(_grid())
    ids, objs = [f["id"] for f in FLIPS], [f["attributes"] for f in FLIPS]
    assert dom._set_one_attr(ids, objs) is True
    assert dom.nodes[12].attrs["class"] == "up"
    assert dom._set_one_attr([*ids, 999], [*objs, {"class": "down"}]) is False
    assert dom._set_one_attr([10], [{"class": "up", "title": "t"}]) is False
