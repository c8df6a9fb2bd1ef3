"""Scroll steps from the recording's rrweb scroll events: a run of scrolls of one element with
no action in between is one step to where it landed; the page's own scroll is a page step;
a scroll right after an action (a field scrolled into view) and a field's own text scroll are
not steps."""

from __future__ import annotations

from agent.actions.model import Action
from agent.events import Record
from agent.redrive.scroll import CONSEQUENCE_NS, scroll_actions, with_scrolls
from agent.rrweb import EventType, IncrementalSource, NodeType

S = 1_000_000_000


def _rec(seq: int, t_ns: int, kind: str, data: dict[str, object]) -> Record:
    return Record(seq, t_ns, t_ns, kind, {"data": data}, "p1", None, 0, "s")


def _el(nid: int, tag: str, attrs: dict[str, str]) -> dict[str, object]:
    return {"type": NodeType.ELEMENT, "id": nid, "tagName": tag, "attributes": attrs,
            "childNodes": []}  # fmt: skip


def _scroll(seq: int, t_ns: int, nid: int, y: int) -> Record:
    return _rec(seq, t_ns, "rrweb.scroll", {"source": IncrementalSource.SCROLL, "id": nid,
                                           "x": 0, "y": y})  # fmt: skip


SNAPSHOT = {
    "type": NodeType.DOCUMENT,
    "id": 1,
    "childNodes": [_el(2, "div", {"id": "wrap"}), _el(3, "input", {"id": "name"})],
}


def _click(seq: int, t_ns: int) -> Action:
    return Action(seq, seq, t_ns, "click", "clicked button 'Go'", page="p1")


def test_scroll_runs_become_steps_to_where_they_landed() -> None:
    records = [
        _rec(1, 1 * S, "rrweb.full_snapshot", {"node": SNAPSHOT, "type": EventType.FULL_SNAPSHOT}),
        _scroll(2, 2 * S, 2, 300),
        _scroll(3, 2 * S + 10, 2, 690),  # same run: no action in between
        _scroll(5, 5 * S, 2, 100),  # after the click at seq 4: a new run
        _scroll(6, 6 * S, 1, 250),  # the page itself
        _scroll(8, 7 * S + CONSEQUENCE_NS // 2, 1, 40),  # right after the click at seq 7
        _scroll(9, 9 * S, 3, 80),  # a field's own text
    ]
    actions = [_click(4, 4 * S), _click(7, 7 * S)]
    got = scroll_actions(records, actions)
    assert [(a.seq_first, a.seq, a.text) for a in got] == [
        (2, 3, "scrolled #wrap to x=0, y=690"),
        (5, 5, "scrolled #wrap to x=0, y=100"),
        (6, 6, "scrolled the page to x=0, y=250"),
    ]
    assert got[0].target.element_id == "wrap" and got[0].detail == {"x": 0, "y": 690,
                                                                    "element": True}  # fmt: skip
    assert got[2].detail["element"] is False
    assert [a.seq for a in with_scrolls(actions, records)] == [3, 4, 5, 6, 7]


def test_with_scrolls_keeps_the_order_actions_happened_in_not_journal_order() -> None:
    """A dialog is journaled (seq 768) before the recorder's batch with the click that opened
    it (seq 775) but closed 5 ms after the click: merged with a scroll, the click still comes
    first, as the derivation put it."""
    records = [
        _rec(1, 1 * S, "rrweb.full_snapshot", {"node": SNAPSHOT, "type": EventType.FULL_SNAPSHOT}),
        _scroll(2, 2 * S, 2, 300),
    ]
    click = _click(775, 5 * S)
    dialog = Action(768, 768, 5 * S + 5_000_000, "dialog", "answered dialog 'Sure?' with OK",
                    page="p1")  # fmt: skip
    assert [a.seq for a in with_scrolls([click, dialog], records)] == [2, 775, 768]
