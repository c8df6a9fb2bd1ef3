"""A node-id → element map per document, fed by rrweb full snapshots and mutations.

rrweb gives every DOM node an integer id; clicks and inputs name only that id. To index a
click with its target's visible text and a stable selector, and an input with its field's
label, the indexer keeps this small mirror of each document (tag, a few attributes, parent,
children, text) - never the page's scripts or styles.
"""

from __future__ import annotations

import contextlib
import operator
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from agent.mutation_columns import AttrColumns, TextColumns
from agent.rrweb import NodeType

ELEMENT, TEXT = NodeType.ELEMENT, NodeType.TEXT  # the node types the mirror keeps apart
_KEEP_ATTRS = frozenset(
    {
        "id",
        "name",
        "type",
        "class",
        "aria-label",
        "placeholder",
        "title",
        "for",
        "value",
        "role",
        "href",
        "data-testid",
        "alt",
    }
)
_ID = operator.itemgetter("id")
_VALUE = operator.itemgetter("value")
_ATTRS = operator.attrgetter("attrs")
_SKIP_TEXT_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title"})
_MASKED = re.compile(r"^(?:(?:tok|esc)_[0-9a-f]{16}|\[redacted\])$")
_WS = re.compile(r"\s+")


@dataclass(slots=True, eq=False)
class Node:
    """One mirrored DOM node (compared by identity: ``None in found`` over a grid's nodes
    stays in C instead of calling a generated ``__eq__`` per node)."""

    id: int
    kind: int
    tag: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    text: str = ""
    parent: int | None = None
    children: list[int] = field(default_factory=list)


def clean(s: str) -> str:
    """Collapse whitespace."""
    return _WS.sub(" ", s).strip()


def is_masked(value: str) -> bool:
    """True for a whole value that masking replaced (a token or the redaction marker)."""
    return bool(_MASKED.match(value.strip()))


class DomMap:
    """The mirror of one document (one frame of one page)."""

    def __init__(self) -> None:
        self.nodes: dict[int, Node] = {}
        self.label_for: dict[str, int] = {}  # <label for=X> → label node id

    # --- feeding -------------------------------------------------------------------------
    def load_snapshot(self, root: dict[str, Any]) -> None:
        """Replace the mirror with a full snapshot's tree."""
        self.nodes.clear()
        self.label_for.clear()
        self._add(root, None)

    def _add(self, sn: dict[str, Any], parent: int | None) -> None:
        stack: list[tuple[dict[str, Any], int | None]] = [(sn, parent)]
        while stack:
            cur, par = stack.pop()
            nid = cur.get("id")
            if not isinstance(nid, int):
                continue
            kind = int(cur.get("type", -1))
            node = Node(nid, kind, parent=par)
            if kind == ELEMENT:
                node.tag = str(cur.get("tagName", "")).lower()
                raw = cur.get("attributes") or {}
                node.attrs = {
                    k: str(v)
                    for k, v in raw.items()
                    if k in _KEEP_ATTRS and isinstance(v, str | int)
                }
                if node.tag == "label" and node.attrs.get("for"):
                    self.label_for[node.attrs["for"]] = nid
            elif kind == TEXT and not cur.get("isStyle"):
                node.text = str(cur.get("textContent", ""))
            self.nodes[nid] = node
            if par is not None and par in self.nodes:
                self.nodes[par].children.append(nid)
            for child in reversed(cur.get("childNodes") or []):
                if isinstance(child, dict):
                    stack.append((child, nid))

    def apply_mutation(self, data: dict[str, Any]) -> list[int]:
        """Apply an rrweb mutation; return the ids of text nodes added or changed."""
        changed: list[int] = []
        for rm in data.get("removes") or []:
            self._remove(rm.get("id"))
        nodes = self.nodes
        for add in data.get("adds") or []:
            node = add.get("node")
            if not isinstance(node, dict):
                continue
            nid, par = node.get("id"), add.get("parentId")
            if node.get("type") == TEXT and isinstance(nid, int):  # fast path: text leaf
                if not node.get("isStyle"):
                    nodes[nid] = Node(nid, TEXT, text=str(node.get("textContent", "")), parent=par)
                    pn = nodes.get(par) if isinstance(par, int) else None
                    if pn is not None:
                        pn.children.append(nid)
                    changed.append(nid)
                continue
            self._add(node, par)
            if node.get("childNodes"):
                changed.extend(_text_ids(node))
        texts = data.get("texts")
        if texts and not self._set_texts(texts, changed):
            for t in texts:
                n = nodes.get(t.get("id"))
                if n is not None and isinstance(t.get("value"), str):
                    n.text = t["value"]
                    changed.append(n.id)
        self._set_attrs(data.get("attributes"))
        return changed

    def _set_attrs(self, attrs: Any) -> None:
        """Keep the changed attributes the mirror names elements by."""
        pairs: Iterable[tuple[Any, Any]]
        if isinstance(attrs, AttrColumns):  # decoded as columns: no dict per change
            if self._set_one_attr(attrs.ids, attrs.objs):
                return
            pairs = zip(attrs.ids, attrs.objs, strict=True)
        else:
            pairs = ((a.get("id"), a.get("attributes")) for a in attrs or [])
        for nid, obj in pairs:
            n = self.nodes.get(nid)
            if n is None:
                continue
            for k, v in (obj or {}).items():
                if k not in _KEEP_ATTRS:
                    continue
                if v is None:
                    n.attrs.pop(k, None)
                elif isinstance(v, str | int):
                    n.attrs[k] = str(v)

    def _set_one_attr(self, ids: list[int], objs: list[dict[str, Any]]) -> bool:
        """Set a grid's class flips with C-level ``map``: when every change sets the same one
        attribute to a string on a mirrored node (the objects are the chunk's few shared
        ones, checked once each); else change nothing and return False."""
        distinct = list(dict(zip(map(id, objs), objs, strict=True)).values())
        keys = {k for o in distinct for k in o}
        if len(keys) != 1 or not all(len(o) == 1 for o in distinct):
            return False
        (key,) = keys
        if key not in _KEEP_ATTRS:
            return True  # nothing the mirror keeps
        if not all(type(o[key]) is str for o in distinct):
            return False
        found = list(map(self.nodes.get, ids))
        if None in found:
            return False
        values = map(operator.itemgetter(key), objs)
        deque(map(dict.__setitem__, map(_ATTRS, found), repeat(key), values), maxlen=0)
        return True

    def _set_texts(self, texts: Any, changed: list[int]) -> bool:
        """Set the texts when every one is ``{id, value}`` of a mirrored node and a string,
        with C-level ``map`` (a grid's mutation is hundreds of them); else change nothing
        and return False. Texts decoded as columns are taken as they are."""
        try:
            if isinstance(texts, TextColumns):
                ids, values = texts.ids, texts.values
            else:
                ids = list(map(_ID, texts))
                values = list(map(_VALUE, texts))
            found = list(map(self.nodes.get, ids))
        except (KeyError, TypeError):
            return False
        if None in found or set(map(type, values)) != {str}:
            return False
        deque(map(setattr, found, repeat("text"), values), maxlen=0)
        changed += ids
        return True

    def _remove(self, nid: Any) -> None:
        node = self.nodes.pop(nid, None) if isinstance(nid, int) else None
        if node is None:
            return
        if node.parent is not None and node.parent in self.nodes:
            with contextlib.suppress(ValueError):
                self.nodes[node.parent].children.remove(nid)
        stack = list(node.children)
        while stack:
            child = self.nodes.pop(stack.pop(), None)
            if child is not None:
                stack.extend(child.children)

    # --- reading -------------------------------------------------------------------------
    def text_of(self, nid: int, limit: int = 200, exclude: int | None = None) -> str:
        """Visible text under a node (document order, whitespace collapsed, capped)."""
        out: list[str] = []
        size = 0
        stack = [nid]
        while stack and size < limit:
            cur = stack.pop()
            n = self.nodes.get(cur)
            if n is None or cur == exclude:
                continue
            if n.kind == TEXT:
                t = clean(n.text)
                if t:
                    out.append(t)
                    size += len(t) + 1
            elif n.tag not in _SKIP_TEXT_TAGS:
                stack.extend(reversed(n.children))
        return clean(" ".join(out))[:limit]

    def element(self, nid: int) -> Node | None:
        """The node, or its parent element when ``nid`` is a text node."""
        n = self.nodes.get(nid)
        if n is not None and n.kind == TEXT and n.parent is not None:
            return self.nodes.get(n.parent)
        return n

    def target_text(self, nid: int) -> str:
        """What a user saw on a clicked element: its text, else its accessible name."""
        n = self.element(nid)
        if n is None:
            return ""
        t = self.text_of(n.id, 120)
        if t:
            return t
        for k in ("aria-label", "title", "alt"):
            if n.attrs.get(k) and not is_masked(n.attrs[k]):
                return clean(n.attrs[k])[:120]
        if n.tag == "input" and n.attrs.get("type") in ("submit", "button", "reset"):
            v = n.attrs.get("value", "")
            return "" if is_masked(v) else clean(v)[:120]
        return ""

    def label(self, nid: int) -> str:
        """A form field's label: aria-label, <label for>, enclosing <label>, placeholder, name."""
        n = self.element(nid)
        if n is None:
            return ""
        if n.attrs.get("aria-label") and not is_masked(n.attrs["aria-label"]):
            return clean(n.attrs["aria-label"])[:80]
        fid = n.attrs.get("id")
        if fid and fid in self.label_for:
            t = self.text_of(self.label_for[fid], 80)
            if t:
                return t
        p = n.parent
        depth = 0
        while p is not None and depth < 4:
            pn = self.nodes.get(p)
            if pn is None:
                break
            if pn.tag == "label":
                t = self.text_of(pn.id, 80, exclude=n.id)
                if t:
                    return t
            p, depth = pn.parent, depth + 1
        for k in ("placeholder", "title", "name", "id"):
            v = n.attrs.get(k, "")
            if v and not is_masked(v):
                return clean(v)[:80]
        return ""

    def selector(self, nid: int) -> str:
        """A stable CSS selector: ``#id``, else a path of tag:nth-of-type up to an id."""
        n = self.element(nid)
        parts: list[str] = []
        depth = 0
        while n is not None and n.kind == ELEMENT and depth < 8:
            if n.attrs.get("id") and not is_masked(n.attrs["id"]):
                parts.append(f"{n.tag}#{n.attrs['id']}")
                break
            part = n.tag
            if n.attrs.get("name") and not is_masked(n.attrs["name"]):
                part += f'[name="{n.attrs["name"]}"]'
            elif n.parent is not None and n.parent in self.nodes:
                sibs = [
                    c
                    for c in self.nodes[n.parent].children
                    if (s := self.nodes.get(c)) is not None and s.tag == n.tag
                ]
                if len(sibs) > 1:
                    part += f":nth-of-type({sibs.index(n.id) + 1})"
            parts.append(part)
            if n.tag in ("html", "body"):
                break
            n = self.nodes.get(n.parent) if n.parent is not None else None
            depth += 1
        return " > ".join(reversed(parts))

    def tag(self, nid: int) -> str:
        """The element's tag name ('' when unknown)."""
        n = self.element(nid)
        return n.tag if n is not None else ""

    def field_names(self, nid: int) -> list[str]:
        """Normalised names a field is known by (label, name, id) for field-scoped tokens."""
        n = self.element(nid)
        names = [self.label(nid)]
        if n is not None:
            names += [n.attrs.get("name", ""), n.attrs.get("id", "")]
        return unique_fields(names)

    def visible_strings(self, nid: int | None = None) -> list[str]:
        """Distinct non-empty text strings of the document (or subtree), document order."""
        out: list[str] = []
        seen: set[str] = set()
        roots = [nid] if nid is not None else [i for i, n in self.nodes.items() if n.parent is None]
        stack = list(reversed(roots))
        while stack:
            n = self.nodes.get(stack.pop())
            if n is None:
                continue
            if n.kind == TEXT:
                t = clean(n.text)
                if t and t not in seen:
                    seen.add(t)
                    out.append(t)
            elif n.tag not in _SKIP_TEXT_TAGS:
                stack.extend(reversed(n.children))
        return out


def _text_ids(sn: dict[str, Any]) -> list[int]:
    out: list[int] = []
    stack = [sn]
    while stack:
        cur = stack.pop()
        if cur.get("type") == TEXT and isinstance(cur.get("id"), int) and not cur.get("isStyle"):
            out.append(cur["id"])
        stack.extend(c for c in cur.get("childNodes") or [] if isinstance(c, dict))
    return out


_FIELD = re.compile(r"[^0-9a-z]+")


def norm_field(name: str) -> str:
    """``"Account number"`` → ``account_number`` (how field names are stored and queried)."""
    return _FIELD.sub("_", name.lower()).strip("_")[:60]


def unique_fields(names: list[str]) -> list[str]:
    """Normalised, non-empty, distinct."""
    out: list[str] = []
    for n in names:
        f = norm_field(n)
        if f and f not in out:
            out.append(f)
    return out
