"""What a recorded step visibly led to: the texts that appeared in its page's main frame
(rrweb mutations: added text nodes and changed texts) between the step and the next one,
for the assertions of an exported test.

Only texts an assertion can rely on are kept: a few words (:data:`MIN_CHARS` to
:data:`MAX_CHARS` characters) with no digit (counters, prices, ids and times change between
runs) and nothing the masking put there (a token, an escrow id, ``[redacted]``).
"""

from __future__ import annotations

import re
from typing import Any

from agent.events import Record
from agent.index.dom import DomMap
from agent.redrive.scroll import Stream, mirror_record
from agent.rrweb import NodeType

MIN_CHARS = 3
MAX_CHARS = 60
PER_STEP = 2
"""At most this many texts are asserted after a step."""

_UNSHOWN = frozenset({"title", "script", "style", "noscript", "template", "head"})
_MASKED = re.compile(r"\b(?:tok|esc)_[0-9a-f]{16}\b|\[redacted\]")


def _usable(text: str) -> str:
    t = " ".join(text.split())
    if not MIN_CHARS <= len(t) <= MAX_CHARS or any(c.isdigit() for c in t) or _MASKED.search(t):
        return ""
    return t


def _shown(dom: DomMap | None, parent: Any) -> bool:
    """Whether text under this parent node is on the page's surface (not a title, script or
    style; an unknown parent counts as shown)."""
    el = dom.element(parent) if dom is not None and type(parent) is int else None
    return el is None or el.tag not in _UNSHOWN


def _texts(data: dict[str, Any], dom: DomMap | None) -> list[str]:
    """Texts a mutation adds where they are shown: new text nodes, then changed texts."""
    out: list[str] = []
    for add in data.get("adds") or []:
        node = add.get("node") if isinstance(add, dict) else None
        is_text = isinstance(node, dict) and node.get("type") == NodeType.TEXT
        if is_text and isinstance(node, dict) and _shown(dom, add.get("parentId")):
            out.append(str(node.get("textContent") or ""))
    for change in data.get("texts") or []:
        if isinstance(change, dict) and dom is not None and type(change.get("id")) is int:
            node = dom.nodes.get(change["id"])
            if node is not None and _shown(dom, node.parent):
                out.append(str(change.get("value") or ""))
    return out


def appeared_texts(records: list[Record], seqs: list[tuple[int, str | None]]) -> list[list[str]]:
    """For each step (its action's seq and page, in order), the texts that appeared in that
    page's main frame until the next step; a text is asserted once, where it first appears."""
    bounds = [s for s, _p in seqs[1:]] + [records[-1].seq + 1 if records else 0]
    out: list[list[str]] = [[] for _ in seqs]
    asserted: set[str] = set()
    doms: dict[Stream, DomMap] = {}
    step = -1
    for r in records:
        mirror_record(doms, r)
        while step + 1 < len(seqs) and r.seq > seqs[step + 1][0]:
            step += 1
        if step < 0 or r.seq >= bounds[step] or r.kind != "rrweb.mutation":
            continue
        page = seqs[step][1]
        if r.page != page or r.frame not in (None, page):
            continue  # another page's or frame's text is not on the step page's surface
        data = r.payload.get("data")
        for raw in _texts(data if isinstance(data, dict) else {}, doms.get((r.page, r.frame))):
            t = _usable(raw)
            if t and t not in asserted and len(out[step]) < PER_STEP:
                asserted.add(t)
                out[step].append(t)
    return out
