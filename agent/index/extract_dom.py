"""Extraction from rrweb events: keyframes, text as it appears, clicks and typed input.

Each document (page, frame) has a :class:`DocState`: a :class:`~agent.index.dom.DomMap`
mirror, its URL and the text already indexed, so a click carries its target's visible text
and a stable selector, and an input its field's label. Masked values never become searchable
text: a value masking replaced by a token is indexed only as that token (with the field it
was typed into), and ``[redacted]`` is dropped.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.actions.labels import target_from_dom, target_from_element
from agent.actions.model import Target
from agent.actions.text import click_words, field_words
from agent.events import Record
from agent.index.actions import CLICK_TYPES
from agent.index.dom import DomMap, clean, is_masked
from agent.index.rows import Row
from agent.index.text import TOKEN_RE, strip_tokens

if TYPE_CHECKING:
    from agent.index.extract import Extractor, Handler

_NUMERIC = re.compile(r"[\d\s.,:;%+\-$€£¥()/*#x]*\Z")
_TEXT = operator.attrgetter("text")


@dataclass
class DocState:
    """One document as extraction sees it: its DOM mirror, URL and text already indexed."""

    dom: DomMap = field(default_factory=DomMap)
    href: str = ""
    seen_text: set[str] = field(default_factory=set)
    targets: dict[int, Target] = field(default_factory=dict)  # as the recorder described them


@dataclass
class PendingInput:
    """The latest ``rrweb.input`` of a field run, held until the run ends (then one row)."""

    doc: tuple[str, str]
    node: int
    rec: Record
    value: str


def node_id(rec: Record) -> int | None:
    """The rrweb node id an event names (``data.id``), if any."""
    data = rec.payload.get("data")
    if isinstance(data, dict) and isinstance(data.get("id"), int):
        return int(data["id"])
    return None


def input_row(x: Extractor, p: PendingInput) -> Row:
    """The one row of a folded input run: label, selector, tokens and unmasked text."""
    d = x.docs.get(p.doc) or DocState()
    tgt = d.targets.get(p.node) or target_from_dom(d.dom, p.node, field=True)
    lbl = tgt.name or d.dom.label(p.node)
    fields = d.dom.field_names(p.node) or [""]
    value = p.value
    toks = [(t, f) for t in TOKEN_RE.findall(value) for f in fields]
    plain = "" if is_masked(value) else strip_tokens(value).strip()
    where = field_words(tgt)
    text = f"typed '{plain}' into {where}" if plain else f"typed into {where}"
    return x.row(
        p.rec,
        "input",
        d.href,
        label=lbl,
        selector=tgt.css or d.dom.selector(p.node),
        target=d.dom.tag(p.node),
        text=text.strip(),
        tokens=toks,
    )


def _full_snapshot(x: Extractor, rec: Record) -> Row | None:
    _, d = x.doc(rec)
    node = (rec.payload.get("data") or {}).get("node")
    if not isinstance(node, dict):
        return None
    d.dom.load_snapshot(node)
    strings = d.dom.visible_strings()
    d.seen_text = set(strings)
    keep = [s for s in strings if not (x.limits.skip_numeric_text and _NUMERIC.match(s))]
    text = strip_tokens(" · ".join(keep))[: x.limits.keyframe_text_chars]
    toks: list[tuple[str, str]] = []
    for nid, n in d.dom.nodes.items():
        v = n.attrs.get("value", "")
        if n.tag in ("input", "select", "textarea") and TOKEN_RE.search(v):
            toks.extend((t, f) for t in TOKEN_RE.findall(v) for f in d.dom.field_names(nid))
    if not text and not toks:
        return None
    return x.row(rec, "keyframe", d.href, text=text, tokens=toks)


def _mutation(x: Extractor, rec: Record) -> Row | None:
    _, d = x.doc(rec)
    data = rec.payload.get("data")
    if not isinstance(data, dict):
        return None
    changed = d.dom.apply_mutation(data)
    if x.limits.skip_numeric_text and _all_numeric(d.dom, changed):
        return None
    new: list[str] = []
    size = 0
    skip_numeric = x.limits.skip_numeric_text
    for nid in changed:
        n = d.dom.nodes.get(nid)
        if n is None or (skip_numeric and _NUMERIC.match(n.text)):
            continue
        t = clean(n.text)
        if not t or t in d.seen_text:
            continue
        if len(d.seen_text) < 100_000:
            d.seen_text.add(t)
        new.append(t)
        size += len(t)
        if size > x.limits.mutation_text_chars:
            break
    text = strip_tokens(" · ".join(new))[: x.limits.mutation_text_chars]
    toks = [(t, "") for s in new for t in TOKEN_RE.findall(s)]
    if not text and not toks:
        return None
    return x.row(rec, "text", d.href, text=text, tokens=toks)


def _all_numeric(dom: DomMap, changed: list[int]) -> bool:
    """Whether every changed text is numeric (a grid's ticks), checked over their joined text
    with one match (the pattern is a character class: the whole matches when each part does)."""
    try:
        return bool(_NUMERIC.match("".join(map(_TEXT, map(dom.nodes.__getitem__, changed)))))
    except KeyError:  # a changed node that is gone: the loop below skips it
        return False


def _meta(x: Extractor, rec: Record) -> Row | None:
    _, d = x.doc(rec)
    href = str((rec.payload.get("data") or {}).get("href") or "")
    if href:
        d.href = href
    return None


def _click(x: Extractor, rec: Record) -> Row | None:
    data = rec.payload.get("data") or {}
    action = CLICK_TYPES.get(int(data.get("type", -1)))
    nid = data.get("id")
    if action is None or not isinstance(nid, int):
        return None
    _, d = x.doc(rec)
    el = rec.payload.get("element")
    if isinstance(el, dict):
        tgt = target_from_element(el)
        d.targets[tgt.node_id if tgt.node_id is not None else nid] = tgt
    else:
        tgt = target_from_dom(d.dom, nid, field=False)
    target = tgt.name or d.dom.target_text(nid)
    tag = tgt.tag or d.dom.tag(nid)
    lbl = (tgt.name or d.dom.label(nid)) if tag in ("input", "select", "textarea") else ""
    sel = tgt.css or d.dom.selector(nid)
    text = click_words(action, tgt)
    return x.row(rec, action, d.href, label=lbl, selector=sel, target=target, text=text)


def _input(x: Extractor, rec: Record) -> Row | None:
    data = rec.payload.get("data") or {}
    nid = data.get("id")
    if not isinstance(nid, int):
        return None
    key, d = x.doc(rec)
    el = rec.payload.get("element")
    if isinstance(el, dict):
        d.targets[nid] = target_from_element(el)
    value = data.get("text")
    if not isinstance(value, str):
        value = "checked" if data.get("isChecked") else "unchecked"
    x.pending = PendingInput(key, nid, rec, value)
    return None


HANDLERS: dict[str, Handler] = {
    "rrweb.full_snapshot": _full_snapshot,
    "rrweb.mutation": _mutation,
    "rrweb.meta": _meta,
    "rrweb.mouse_interaction": _click,
    "rrweb.input": _input,
}
