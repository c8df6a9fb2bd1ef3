"""One table of masking selectors x the elements of ``fx_selectors.html`` they must mask.

Both engines are checked against it: the recorder in real Chromium (the browser's own
matching, ``tests/capture/test_recorder_selectors.py``) and the agent's matcher
(``tests/mask/test_selectors.py``). Each row lists exactly the observed elements (those
with an id and a value or their own text) whose value or text the rule masks.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from agent.rrweb import NodeType

PAGE = Path(__file__).resolve().parents[1] / "fixtures" / "pages" / "fx_selectors.html"

# Elements whose own value (controls) or first own text shows whether a rule masked them.
OBSERVED = (
    "plain-p", "plain", "pay-card", "pay-ref", "other-ref", "ce", "ce-span", "ce-b",
    "child-span", "grand-span", "top-span", "priv", "mail", "pre", "suf", "mid", "cls-p",
    "shadow-span", "late",
)  # fmt: skip

ROWS: list[tuple[str, frozenset[str]]] = [
    ("#plain", frozenset({"plain"})),
    (".cls", frozenset({"cls-p", "shadow-span"})),
    ("input[type=email]", frozenset({"mail"})),
    ("[data-private]", frozenset({"priv"})),
    ("form#pay input", frozenset({"pay-card", "pay-ref", "late"})),
    ("[contenteditable] *", frozenset({"ce-span", "ce-b"})),
    ("div > span", frozenset({"child-span", "ce-span"})),
    ("#wrap span", frozenset({"child-span", "grand-span"})),
    ("#host span", frozenset()),
    ("input:not([type=email]):not(.ref)", frozenset({"plain", "pay-card"})),
    ("[data-k^=prefix]", frozenset({"pre"})),
    ("[data-k$=suffix]", frozenset({"suf"})),
    ("[data-k*=middle]", frozenset({"mid"})),
    ("#plain-p, .ref", frozenset({"plain-p", "pay-ref", "other-ref", "late"})),
]

# The fixture's script-made nodes, as the recorder serializes them.
_SHADOW = {
    "tag": "span",
    "attrs": {"id": "shadow-span", "class": "cls"},
    "text": "shadow span text",
}
LATE = {"tag": "input", "attrs": {"id": "late", "class": "ref", "value": "late value"}}


class _Builder(HTMLParser):
    """The fixture page as rrweb serialized nodes (what the recorder sends, unmasked)."""

    def __init__(self) -> None:
        super().__init__()
        self.next_id = 2
        self.root: dict[str, Any] = {"type": NodeType.DOCUMENT.value, "id": 1, "childNodes": []}
        self.stack = [self.root]
        self.ids: dict[str, int] = {}

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        nid = self._id()
        node = {"type": NodeType.ELEMENT.value, "id": nid, "tagName": tag,
                "attributes": a, "childNodes": []}  # fmt: skip
        self.stack[-1]["childNodes"].append(node)
        if "id" in a:
            self.ids[a["id"]] = nid
        if tag not in ("input", "meta"):
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("input", "meta") and len(self.stack) > 1:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack[-1].get("tagName") == "script":
            return
        self.stack[-1]["childNodes"].append(
            {"type": NodeType.TEXT.value, "id": self._id(), "textContent": data}
        )


def element(spec: dict[str, Any], nid: int) -> dict[str, Any]:
    """A serialized element (with one text child when ``spec`` has text)."""
    kids = []
    if "text" in spec:
        kids = [{"type": NodeType.TEXT.value, "id": nid + 1, "textContent": spec["text"]}]
    return {"type": NodeType.ELEMENT.value, "id": nid, "tagName": spec["tag"],
            "attributes": dict(spec["attrs"]), "childNodes": kids}  # fmt: skip


def page_snapshot() -> tuple[dict[str, Any], dict[str, int]]:
    """The fixture's DOM after its script, as a serialized tree; and id attribute -> node id."""
    b = _Builder()
    b.feed(PAGE.read_text(encoding="utf-8"))
    host = _find(b.root, b.ids["host"])
    shadow = element(_SHADOW, 9000)
    shadow["isShadow"] = True
    host["childNodes"].append(shadow)
    b.ids["shadow-span"] = 9000
    return b.root, b.ids


def _find(n: dict[str, Any], nid: int) -> dict[str, Any]:
    if n.get("id") == nid:
        return n
    for c in n.get("childNodes", []):
        try:
            return _find(c, nid)
        except KeyError:
            continue
    raise KeyError(nid)


def by_dom_id(*trees: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Serialized elements by their id attribute, across trees (snapshots, added nodes)."""
    out: dict[str, dict[str, Any]] = {}

    def walk(n: dict[str, Any]) -> None:
        a = n.get("attributes") or {}
        if "id" in a:
            out[str(a["id"])] = n
        for c in n.get("childNodes") or []:
            walk(c)

    for t in trees:
        walk(t)
    return out


def shown(n: dict[str, Any]) -> str:
    """What an observed element shows: its value (controls) or its first own text."""
    if n.get("tagName") in ("input", "textarea", "select"):
        return str((n.get("attributes") or {}).get("value", ""))
    for c in n.get("childNodes") or []:
        if c.get("type") == NodeType.TEXT.value:
            return str(c.get("textContent", ""))
    return ""
