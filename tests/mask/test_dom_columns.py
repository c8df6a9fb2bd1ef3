"""Masking of a mutation whose texts and attribute changes came as columns (as the recorder
sends them): the same result as for the rrweb lists they stand for."""

from __future__ import annotations

from typing import Any

from agent.events import Event
from agent.mask.testing import build_masker, el, rr_mutation, rr_snapshot, text
from agent.mutation_columns import AttrColumns, TextColumns
from agent.testing import make_event


def _ev(kind: str, payload: dict[str, Any]) -> Event:
    return make_event(kind, payload, page="p1")


NOTES = '[[rules]]\nid = "notes"\nkind = "selector"\nmode = "tokenize"\nselector = "#notes"\n'


def _columns(
    texts: list[dict[str, Any]], attrs: list[dict[str, Any]], shared: bool = False
) -> dict[str, Any]:
    """Columns; ``shared``: equal attribute objects are one object, as the parser makes them
    from the recorder's ``{ids, objs, of}``."""
    first: dict[str, Any] = {}
    objs = [a["attributes"] for a in attrs]
    if shared:
        objs = [first.setdefault(repr(o), o) for o in objs]
    return rr_mutation(
        texts=TextColumns([t["id"] for t in texts], [t["value"] for t in texts]),  # type: ignore[arg-type]
        attributes=AttrColumns([a["id"] for a in attrs], objs),  # type: ignore[arg-type]
    )


def test_changes_sent_as_columns_are_masked_exactly_as_their_lists() -> None:
    """The recorder sends a mutation's texts and attribute changes as columns: the quiet
    ones pass as they came, and one that needs masking among them (a card number in a text
    or an attribute, a masked node's text, a sentinel) is masked as in the list."""
    prices = [{"id": 100 + i, "value": f"{100 + i % 50}.25"} for i in range(400)]
    flips = [
        {"id": 1000 + i, "attributes": {"class": "up" if i % 2 else "down"}} for i in range(300)
    ]
    cases: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = [
        (prices, flips),
        ([*prices[:5], {"id": 6, "value": "4417"}, *prices[5:]], flips),  # #notes's text
        ([*prices, {"id": 9, "value": "card 4111 1111 1111 1111"}], flips),
        ([*prices, {"id": 9, "value": "\x01stm:none\x02x\x03"}], flips),
        (prices, [*flips, {"id": 50, "attributes": {"data-x": "4111 1111 1111 1111"}}]),
        (prices, [{"id": 3, "attributes": {"class": "shown", "value": "hunter2"}}, *flips]),
        ([{"id": 9, "value": None}], [{"id": 60, "attributes": {"class": None}}]),
    ]
    for k, (texts, attrs) in enumerate(cases):
        outs = []
        lists = rr_mutation(texts=texts, attributes=attrs)
        for data in (lists, _columns(texts, attrs), _columns(texts, attrs, shared=True)):
            m = build_masker(NOTES)
            snap = rr_snapshot(
                el(3, "input", {"type": "password"}), el(5, "div", {"id": "notes"}, text(6, "x"))
            )
            m.mask_event(_ev("rrweb.full_snapshot", snap))
            got = m.mask_event(_ev("rrweb.mutation", data)).payload["data"]
            outs.append((list(got["texts"]), list(got["attributes"])))
        assert outs[0] == outs[1] == outs[2]
        assert (outs[0] == (texts, attrs)) is (k in (0, len(cases) - 1))  # masked or not
    quiet = build_masker().mask_event(_ev("rrweb.mutation", _columns(prices, flips)))
    assert type(quiet.payload["data"]["texts"]) is TextColumns  # passed on as it came
