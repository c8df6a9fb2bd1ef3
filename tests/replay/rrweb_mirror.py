"""A tiny rrweb mirror in Python: the DOM a stream describes at a given seq (test oracle).

Built from the journal alone (full snapshot + mutations), independently of the viewer, so a
test can compute what a blotter cell showed at a seq and compare with the replayed DOM.
"""

from __future__ import annotations

from typing import Any


class Mirror:
    """Nodes by rrweb id with parent/children links."""

    def __init__(self) -> None:
        self.nodes: dict[int, dict[str, Any]] = {}

    def _add(self, node: dict[str, Any], parent: int | None, before: int | None) -> None:
        n = {
            "id": node["id"],
            "type": node["type"],
            "tag": node.get("tagName"),
            "attrs": dict(node.get("attributes") or {}),
            "text": node.get("textContent"),
            "parent": parent,
            "children": [],
        }
        self.nodes[node["id"]] = n
        if parent is not None and parent in self.nodes:
            kids = self.nodes[parent]["children"]
            if before is not None and before in kids:
                kids.insert(kids.index(before), node["id"])
            else:
                kids.append(node["id"])
        for c in node.get("childNodes") or []:
            self._add(c, node["id"], None)

    def full_snapshot(self, data: dict[str, Any]) -> None:
        self.nodes = {}
        self._add(data["node"], None, None)

    def _remove(self, nid: int) -> None:
        n = self.nodes.pop(nid, None)
        if n is None:
            return
        p = self.nodes.get(n["parent"]) if n["parent"] is not None else None
        if p is not None and nid in p["children"]:
            p["children"].remove(nid)
        for c in list(n["children"]):
            self._remove(c)

    def mutation(self, data: dict[str, Any]) -> None:
        for r in data.get("removes", []):
            self._remove(r["id"])
        for a in data.get("adds", []):
            self._add(a["node"], a["parentId"], a.get("nextId"))
        for t in data.get("texts", []):
            if t["id"] in self.nodes:
                self.nodes[t["id"]]["text"] = t["value"]
        for at in data.get("attributes", []):
            if at["id"] in self.nodes:
                self.nodes[at["id"]]["attrs"].update(at["attributes"])

    def text(self, nid: int) -> str:
        n = self.nodes[nid]
        if n["type"] == 3:
            return str(n["text"] or "")
        return "".join(self.text(c) for c in n["children"])

    def find(self, pred: Any) -> int | None:
        return next((i for i, n in self.nodes.items() if pred(n)), None)

    def element_children(self, nid: int, tag: str) -> list[int]:
        return [
            c
            for c in self.nodes[nid]["children"]
            if self.nodes[c]["type"] == 2 and self.nodes[c]["tag"] == tag
        ]


def blotter_cell_ids(m: Mirror) -> dict[int, tuple[int, int]]:
    """td mirror id -> (row, col) of the demo blotter (col counts price columns from 0)."""
    table = m.find(lambda n: n["tag"] == "table" and n["attrs"].get("id") == "blotter")
    assert table is not None
    tbody = m.element_children(table, "tbody")[0]
    out = {}
    for r, tr in enumerate(m.element_children(tbody, "tr")):
        cells = [
            c
            for c in m.nodes[tr]["children"]
            if m.nodes[c]["type"] == 2 and m.nodes[c]["tag"] in ("td", "th")
        ]
        for c, td in enumerate(cells):
            out[td] = (r, c - 1)
    return out
