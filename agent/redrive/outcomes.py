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
from agent.rrweb import NodeType

MIN_CHARS = 3
MAX_CHARS = 60
PER_STEP = 2
"""At most this many texts are asserted after a step."""

_MASKED = re.compile(r"\b(?:tok|esc)_[0-9a-f]{16}\b|\[redacted\]")


def _usable(text: str) -> str:
    t = " ".join(text.split())
    if not MIN_CHARS <= len(t) <= MAX_CHARS or any(c.isdigit() for c in t) or _MASKED.search(t):
        return ""
    return t


def _texts(data: dict[str, Any]) -> list[str]:
    """Texts a mutation adds: new text nodes, then changed node texts."""
    out: list[str] = []
    for add in data.get("adds") or []:
        node = add.get("node") if isinstance(add, dict) else None
        if isinstance(node, dict) and node.get("type") == NodeType.TEXT:
            out.append(str(node.get("textContent") or ""))
    for change in data.get("texts") or []:
        if isinstance(change, dict):
            out.append(str(change.get("value") or ""))
    return out


def appeared_texts(records: list[Record], seqs: list[tuple[int, str | None]]) -> list[list[str]]:
    """For each step (its action's seq and page, in order), the texts that appeared in that
    page's main frame until the next step; a text is asserted once, where it first appears."""
    bounds = [s for s, _p in seqs[1:]] + [records[-1].seq + 1 if records else 0]
    out: list[list[str]] = []
    asserted: set[str] = set()
    for (seq, page), until in zip(seqs, bounds, strict=True):
        got: list[str] = []
        for r in records:
            if not seq < r.seq < until or r.kind != "rrweb.mutation" or r.page != page:
                continue
            if r.frame not in (None, page):
                continue  # another frame's text is not on the page's own surface
            data = r.payload.get("data")
            for raw in _texts(data if isinstance(data, dict) else {}):
                t = _usable(raw)
                if t and t not in asserted and len(got) < PER_STEP:
                    asserted.add(t)
                    got.append(t)
        out.append(got)
    return out
