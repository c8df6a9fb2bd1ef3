"""Scroll steps: what the person scrolled - the page or a scrollable element - and where it
landed, from the recording's rrweb scroll events (the action derivation names no scrolls).

Consecutive scroll events of one element (or of the page) with no action in between are one
scroll, to where the last one landed. A scroll that starts during an action or within
:data:`CONSEQUENCE_NS` after it is that action's consequence (a focused field scrolled into
view, a field's text scrolled while typing) and is not a step; neither is a scroll of a form
field. The element is described from the session's DOM mirror as it was then (id, CSS path,
role and name), so the re-drive finds it like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from agent.actions.labels import target_from_dom
from agent.actions.model import Action, Target, time_order
from agent.events import Record
from agent.index.dom import DomMap
from agent.rrweb import IncrementalSource

CONSEQUENCE_NS = 500_000_000
"""A scroll starting this soon after an action is taken to be that action's doing."""

_FIELD_TAGS = frozenset({"input", "textarea", "select"})

Stream = tuple[str | None, str | None]  # (page, frame)


@dataclass
class _Run:
    first: Record
    last: Record
    target: Target


def mirror_record(doms: dict[Stream, DomMap], r: Record) -> None:
    """Keep the DOM mirror of each (page, frame) up to date with one record."""
    data = r.payload.get("data")
    if not isinstance(data, dict):
        return
    s = (r.page, r.frame)
    if r.kind == "rrweb.full_snapshot" and isinstance(data.get("node"), dict):
        doms[s] = DomMap()
        doms[s].load_snapshot(data["node"])
    elif r.kind == "rrweb.mutation" and s in doms:
        doms[s].apply_mutation(data)


def _is_consequence(r: Record, actions: list[Action]) -> bool:
    return any(
        a.page == r.page
        and (
            a.seq_first <= r.seq <= a.seq
            or 0 <= r.t_utc_ns - a.t_utc_ns <= CONSEQUENCE_NS
            and r.seq > a.seq
        )
        for a in actions
    )


def _runs(records: list[Record], actions: list[Action]) -> list[_Run]:
    """Scroll runs: one per element between two actions, landing where the last event did."""
    doms: dict[Stream, DomMap] = {}
    runs: list[_Run] = []
    open_runs: dict[tuple[Stream, int], _Run] = {}
    action_seqs = sorted(a.seq for a in actions)
    for r in records:
        mirror_record(doms, r)
        data = r.payload.get("data")
        if r.kind != "rrweb.scroll" or not isinstance(data, dict):
            continue
        if data.get("source") != IncrementalSource.SCROLL or type(data.get("id")) is not int:
            continue
        key = ((r.page, r.frame), int(data["id"]))
        run = open_runs.get(key)
        if run is not None and not any(run.last.seq < s < r.seq for s in action_seqs):
            run.last = r
            continue
        dom = doms.get(key[0])
        page_scroll = dom is None or dom.element(key[1]) is None
        # a scrolled container's text is its whole content, not a name
        t = Target() if page_scroll else replace(target_from_dom(dom, key[1], field=False), name="")
        open_runs[key] = run = _Run(r, r, t)
        runs.append(run)
    return [
        run
        for run in runs
        if run.target.tag not in _FIELD_TAGS and not _is_consequence(run.first, actions)
    ]


def scroll_actions(records: list[Record], actions: list[Action]) -> list[Action]:
    """The session's scrolls as actions of verb ``scroll`` (``detail``: ``x``, ``y``)."""
    out: list[Action] = []
    for run in _runs(records, actions):
        d = run.last.payload["data"]
        x, y = int(d.get("x") or 0), int(d.get("y") or 0)
        t = run.target
        where = f"#{t.element_id}" if t.element_id else (t.css or "the page")
        if t.region and where != "the page":
            where += f" in '{t.region}'"
        out.append(
            Action(
                seq=run.last.seq,
                seq_first=run.first.seq,
                t_utc_ns=run.last.t_utc_ns,
                verb="scroll",
                text=f"scrolled {where} to x={x}, y={y}",
                target=t,
                page=run.last.page,
                frame=run.last.frame,
                detail={"x": x, "y": y, "element": bool(t.css or t.element_id)},
            )
        )
    return out


def with_scrolls(actions: list[Action], records: list[Record]) -> list[Action]:
    """The derived actions and the scrolls, in the order they happened."""
    return sorted([*actions, *scroll_actions(records, actions)], key=time_order)
