"""Masking of rrweb Mutation events: changed texts and attributes, added subtrees, and
forgetting removed nodes.

Most mutations on a busy page (a trading blotter's price ticks) need no masking at all;
:meth:`MutationMasker.quiet` proves that with C-level builtins before the full pass runs.
"""

from __future__ import annotations

import operator
from itertools import chain
from typing import Any

from agent.mask.compiled import RuleSet
from agent.mask.ctx import Ctx
from agent.mask.dom_snapshot import URL_ATTRS, NodeMasker, PageState
from agent.mask.rules import KEEP
from agent.mask.selectors import UNKNOWN, Elem
from agent.mask.strings import StringMasker
from agent.mutation_columns import AttrColumns, TextColumns

_VALUE = operator.itemgetter("value")
_ID = operator.itemgetter("id")
_ATTRIBUTES = operator.itemgetter("attributes")
SENTINEL_MIN = len("\x01stm:escrow:") + 1 + 2  # prefix, a one-char rule id, \x02 and \x03


class MutationMasker:
    """Masks mutations against the node state the snapshot walk recorded."""

    def __init__(self, sm: StringMasker, nodes: NodeMasker) -> None:
        self.sm = sm
        self.nodes = nodes
        self.rules: RuleSet = sm.rules
        # A mutation whose strings are all shorter than the shortest value pattern, carry no
        # control characters and touch no tracked node or watched attribute needs no masking.
        self._minlen = self.rules.min_pattern_len
        # Every sentinel the recorder writes is at least SENTINEL_MIN chars long, so when no
        # value pattern is longer than that, the length test alone also catches sentinels.
        self._ctrl_check = self._minlen > SENTINEL_MIN
        self._watched = frozenset(
            self.rules.referenced_attributes
            | URL_ATTRS
            | self.rules.masked_attributes
            | {"type", "contenteditable"}
        )

    def quiet(self, data: dict[str, Any], st: PageState) -> bool:
        """True when a mutation provably needs no masking (checked with C-level builtins).

        The blotter case: many text changes, each too short for any value pattern, free of
        control characters (sentinels), on nodes that are not masked.
        """
        if data.get("adds"):
            return False
        try:
            for part in ("texts", "attributes", "removes"):
                items = data.get(part)
                if not items:
                    continue
                if part == "texts":
                    cols = isinstance(items, TextColumns)
                    vals = items.values if cols else list(map(_VALUE, items))
                    if max(map(len, vals)) >= self._minlen:  # TypeError: a None value
                        return False
                    if self._ctrl_check and not "".join(vals).isprintable():
                        return False
                    ids = items.ids if cols else map(_ID, items)
                    if st.masked_text and not st.masked_text.isdisjoint(ids):
                        return False
                elif part == "attributes":
                    if not self._quiet_attributes(items, st):
                        return False
                elif (st.masked or st.controls) and not (
                    st.masked.keys().isdisjoint(map(_ID, items))
                    and st.controls.keys().isdisjoint(map(_ID, items))
                ):
                    return False
        except (KeyError, TypeError, AttributeError, ValueError):
            return False  # an unexpected shape: let the full pass look at it
        return True

    def _quiet_attributes(self, items: list[Any] | AttrColumns, st: PageState) -> bool:
        """True when attribute changes provably need no masking: no masked node or control,
        no watched attribute name, every value a string too short for any value pattern and
        free of control characters (a removed attribute's ``None`` is left to the full pass).

        Checked over the whole list with C-level builtins: a grid's class flips are hundreds
        of items per update. A non-dict item or ``attributes`` raises ``TypeError``/``KeyError``
        (caught by :meth:`quiet`).
        """
        if isinstance(items, AttrColumns):  # a grid's changes share a few objects: each once
            objs = items.objs
            ids, changed = items.ids, list(dict(zip(map(id, objs), objs, strict=True)).values())
        else:
            ids, changed = list(map(_ID, items)), list(map(_ATTRIBUTES, items))
        if not (st.masked.keys().isdisjoint(ids) and st.controls.keys().isdisjoint(ids)):
            return False
        values = list(chain.from_iterable(map(dict.values, changed)))  # TypeError: not a dict
        if not self._watched.isdisjoint(map(str.lower, set(chain.from_iterable(changed)))):
            return False
        joined = "".join(values)  # TypeError when a value is not a string
        return max(map(len, values), default=0) < self._minlen and joined.isprintable()

    def mutation(self, data: dict[str, Any], st: PageState, ctx: Ctx) -> dict[str, Any]:
        """Mask an rrweb Mutation (texts, attributes, adds); track removed nodes."""
        if self.quiet(data, st):
            return data
        nd: dict[str, Any] | None = None
        texts = data.get("texts")
        if texts:
            new_t: list[Any] | None = None
            masked = st.masked
            for i, t in enumerate(texts):
                v = t.get("value")
                if not isinstance(v, str) or not v:
                    continue
                h = masked.get(t.get("id"))
                out = self.sm.apply(v, h) if h is not None else self.sm.scan(v)
                if out is not None:
                    new_t = new_t if new_t is not None else list(texts)
                    new_t[i] = {**t, "value": ctx.take(v, out, f"$.data.texts[{i}].value")}
            if new_t is not None:
                nd = {**data, "texts": new_t}
        attrs_list = data.get("attributes")
        if attrs_list:
            new_a = self._attr_mutations(attrs_list, st, ctx)
            if new_a is not attrs_list:
                nd = nd if nd is not None else dict(data)
                nd["attributes"] = new_a
        adds = data.get("adds")
        if adds:
            new_adds: list[Any] | None = None
            for i, a in enumerate(adds):
                node = a.get("node") if isinstance(a, dict) else None
                if not isinstance(node, dict):
                    continue
                parent = a.get("parentId")
                inherit = st.masked.get(parent) if isinstance(parent, int) else None
                chain = st.elems.get(parent, UNKNOWN) if isinstance(parent, int) else UNKNOWN
                nn = self.nodes.node(node, st, inherit, ctx, f"$.data.adds[{i}].node", chain)
                if nn is not node:
                    new_adds = new_adds if new_adds is not None else list(adds)
                    new_adds[i] = {**a, "node": nn}
            if new_adds is not None:
                nd = nd if nd is not None else dict(data)
                nd["adds"] = new_adds
        for r in data.get("removes") or ():
            rid = r.get("id") if isinstance(r, dict) else None
            if isinstance(rid, int) and (rid in st.masked or rid in st.controls):
                st.masked.pop(rid, None)
                st.masked_text.discard(rid)
                st.controls.pop(rid, None)
                st.cattrs.pop(rid, None)
            if isinstance(rid, int):
                st.elems.pop(rid, None)
        return data if nd is None else nd

    def _attr_mutations(self, items: list[Any], st: PageState, ctx: Ctx) -> list[Any]:
        new: list[Any] | None = None
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            nid = item.get("id")
            changed = item.get("attributes")
            if not isinstance(changed, dict) or not isinstance(nid, int):
                continue
            known = st.cattrs.get(nid)
            view = {**known, **changed} if known is not None else changed
            # Tag unknown (only controls are remembered unless a rule has a combinator): tag
            # tests pass - over-masking on re-evaluation is the safe direction.
            tag = str(known["_tag"]) if known is not None else None
            chain = st.elems.get(nid)
            parent: Elem | None = UNKNOWN
            if chain is not None:
                tag = chain.tag
                parent = chain.parent
                view = {**chain.attrs, **view}
                st.elems[nid] = self.nodes.elem(
                    tag, {k: v for k, v in view.items() if v is not None}, parent
                )
            hit = self.rules.element_hit(tag, view, parent)
            masked = st.masked.get(nid)
            if (
                hit is not None
                and hit.strength > KEEP
                and (masked is None or hit.strength > masked.strength)
            ):
                masked = st.masked[nid] = hit
            control = st.controls.get(nid)
            if control is not None:
                if hit is not None and hit.strength > control.strength:
                    control = st.controls[nid] = hit
                st.cattrs[nid] = {k: v for k, v in view.items() if v is not None}
            na = self.nodes.attrs(
                changed, masked, control, ctx, f"$.data.attributes[{i}].attributes"
            )
            if na is not changed:
                new = new if new is not None else list(items)
                new[i] = {**item, "attributes": na}
        return items if new is None else new
