"""Agent-side masking of the rrweb DOM stream and keystrokes (the authoritative second pass).

The recorder masks in the page first; this pass re-applies the element rules to the
serialized DOM it receives, so a recorder bug or an old bundle cannot leak a value. Per page
and frame it remembers which node ids are masked (rule-matched elements and their text
nodes) and which are form controls (with the mode for their value), so later mutations,
input events and keystrokes that carry only a node id are masked too. Masking is never
downgraded: once a node is masked, a later attribute change (``type=password`` → ``text``)
keeps it masked.
"""

from __future__ import annotations

import operator
import re
from typing import Any

from agent.mask.compiled import Hit, RuleSet
from agent.mask.ctx import Ctx
from agent.mask.net import NetMasker
from agent.mask.rules import KEEP, NONE
from agent.mask.strings import MARKER, StringMasker

CONTROL_TAGS = frozenset({"input", "textarea", "select"})
URL_ATTRS = frozenset(
    {
        "href",
        "src",
        "action",
        "formaction",
        "poster",
        "cite",
        "background",
        "data",
        "rr_dataurl",
        "xlink:href",
        "ping",
        "longdesc",
    }
)
NO_MASK = Hit("none", NONE, str.strip)
_VALUE = operator.itemgetter("value")
_ID = operator.itemgetter("id")
_SEL_TAG = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
MAX_PAGES = 512
SENTINEL_MIN = len("\x01stm:escrow:") + 1 + 2  # prefix, a one-char rule id, \x02 and \x03
# rrweb IncrementalSource values whose data carries no page strings.
_NO_STRING_SOURCES = frozenset({1, 2, 3, 4, 6, 7, 12, 14})


class PageState:
    """What the agent knows about one page/frame's DOM.

    Only masked nodes and form controls are remembered: memory follows what is sensitive,
    not the size of the page.
    """

    __slots__ = (
        "masked",
        "masked_text",
        "controls",
        "cattrs",
        "snapshot",
        "prior",
        "href",
        "navigated",
    )

    def __init__(self) -> None:
        # Masking of form controls seen before this keyframe of the same document: a later
        # keyframe must not un-mask a field (password shown as text) - never downgrade.
        self.prior: dict[int, Hit] = {}
        self.href: str | None = None
        self.navigated = False
        self.masked: dict[int, Hit] = {}
        self.masked_text: set[int] = set()  # text-node ids among ``masked``
        self.controls: dict[int, Hit] = {}
        self.cattrs: dict[int, dict[str, Any]] = {}
        self.snapshot = False


def _editable(attrs: dict[str, Any]) -> bool:
    v = attrs.get("contenteditable")
    return v is not None and v is not False and str(v).lower() != "false"


class DomMasker:
    """Masks rrweb events and ``input.key`` events, keeping per-page node state."""

    def __init__(self, sm: StringMasker, net: NetMasker) -> None:
        self.sm = sm
        self.net = net
        self.rules: RuleSet = sm.rules
        self.pages: dict[tuple[str | None, str | None], PageState] = {}
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

    def page(self, key: tuple[str | None, str | None], reset: bool = False) -> PageState:
        """The state for a page/frame (a full snapshot resets it)."""
        st = self.pages.get(key)
        if st is None or reset:
            if st is None and len(self.pages) >= MAX_PAGES:
                self.pages.pop(next(iter(self.pages)))
            st = PageState()
            self.pages[key] = st
        return st

    def forget(self, page: str | None) -> None:
        """Drop the state of a closed page (all its frames)."""
        for key in [k for k in self.pages if k[0] == page]:
            del self.pages[key]

    # -- rrweb events -------------------------------------------------------------------
    def rrweb(
        self, payload: dict[str, Any], key: tuple[str | None, str | None], ctx: Ctx
    ) -> dict[str, Any]:
        """Masked copy of an rrweb event (the same object when nothing changed)."""
        etype = payload.get("type")
        data = payload.get("data")
        if not isinstance(data, dict):
            return self.net.walk(payload, ctx, "$")  # type: ignore[no-any-return]
        if etype == 3:
            src = data.get("source")
            if src in _NO_STRING_SOURCES:
                return payload
            st = self.page(key)
            if src == 0:
                nd = self.mutation(data, st, ctx)
            elif src == 5:
                nd = self.input(data, st, ctx)
            else:
                nd = self.net.walk(data, ctx, "$.data")
        elif etype == 2:
            old = self.pages.get(key)
            st = self.page(key, reset=True)
            st.snapshot = True
            if old is not None:
                st.href = old.href
                if not old.navigated:
                    for nid, h in (*old.prior.items(), *old.controls.items(), *old.masked.items()):
                        p = st.prior.get(nid)
                        if h.strength > KEEP and (p is None or h.strength > p.strength):
                            st.prior[nid] = h
            node = data.get("node")
            nd = data
            if isinstance(node, dict):
                nn = self.node(node, st, None, ctx, "$.data.node")
                nd = data if nn is node else {**data, "node": nn}
        else:  # meta (href), custom, plugin, load ...: URLs and free text
            if etype == 4:
                st = self.page(key)
                href = data.get("href")
                if st.href is not None and href != st.href:
                    st.navigated = True  # a new document: node ids start again
                st.href = href if isinstance(href, str) else None
            nd = self.net.walk(data, ctx, "$.data")
        return payload if nd is data else {**payload, "data": nd}

    def _element(
        self, n: dict[str, Any], st: PageState, inherited: Hit | None, ctx: Ctx, path: str
    ) -> tuple[dict[str, Any], Hit | None]:
        nid = n.get("id")
        tag = str(n.get("tagName") or "").lower()
        attrs = n.get("attributes")
        if not isinstance(attrs, dict):
            attrs = {}
        hit = self.rules.element_hit(tag, attrs)
        if inherited is not None and (hit is None or inherited.strength > hit.strength):
            hit = inherited
        masked = hit if hit is not None and hit.strength > KEEP else None
        control: Hit | None = None
        if tag in CONTROL_TAGS or _editable(attrs):
            prior = st.prior.get(nid) if isinstance(nid, int) else None
            if prior is not None and (hit is None or prior.strength > hit.strength):
                hit = prior
                masked = hit
            if hit is not None:
                control = hit
            elif tag == "input" and str(attrs.get("type") or "").lower() in (
                self.rules.unmasked_input_types
            ):
                control = NO_MASK
            else:
                control = self.rules.default_input
        child_hit = masked
        if isinstance(nid, int):
            if masked is not None:
                st.masked[nid] = masked
            if control is not None:
                st.controls[nid] = control
                st.cattrs[nid] = {"_tag": tag, **attrs}
                if control.strength > KEEP and (tag == "textarea" or _editable(attrs)):
                    st.masked[nid] = control if masked is None else masked
                    child_hit = st.masked[nid]
        new_attrs = self.attrs(attrs, masked, control, ctx, f"{path}.attributes")
        return (n if new_attrs is attrs else {**n, "attributes": new_attrs}), child_hit

    def node(
        self, n: dict[str, Any], st: PageState, inherited: Hit | None, ctx: Ctx, path: str
    ) -> dict[str, Any]:
        """Mask one serialized node and its subtree."""
        t = n.get("type")
        if t == 2:
            n, child_hit = self._element(n, st, inherited, ctx, path)
        elif t in (3, 4, 5):
            text = n.get("textContent")
            if not isinstance(text, str) or not text:
                return n
            nid = n.get("id")
            if inherited is not None:
                if isinstance(nid, int):
                    st.masked[nid] = inherited
                    st.masked_text.add(nid)
                out = self.sm.apply(text, inherited)
            else:
                out = self.sm.scan(text)
            if out is None:
                return n
            return {**n, "textContent": ctx.take(text, out, f"{path}.textContent")}
        elif t == 0:
            child_hit = None
        else:
            return n
        kids = n.get("childNodes")
        if not isinstance(kids, list) or not kids:
            return n
        new: list[Any] | None = None
        for i, c in enumerate(kids):
            if isinstance(c, dict):
                nc = self.node(c, st, child_hit, ctx, f"{path}.childNodes[{i}]")
                if nc is not c:
                    new = new if new is not None else list(kids)
                    new[i] = nc
        return n if new is None else {**n, "childNodes": new}

    def attrs(
        self, attrs: dict[str, Any], masked: Hit | None, control: Hit | None, ctx: Ctx, path: str
    ) -> dict[str, Any]:
        """Mask attribute values of one element."""
        new: dict[str, Any] | None = None
        masked_names = self.rules.masked_attributes
        for name, v in attrs.items():
            if not isinstance(v, str) or not v:
                continue
            lname = name.lower()
            if masked is not None and lname in masked_names:
                out = self.sm.apply(v, masked)
            elif control is not None and lname == "value" and control.strength > NONE:
                out = self.sm.apply(v, control)
            elif lname in URL_ATTRS:
                out = self.sm.url(v)
            else:
                out = self.sm.scan(v)
            if out is not None:
                new = new if new is not None else dict(attrs)
                new[name] = ctx.take(v, out, f"{path}.{name}")
        return attrs if new is None else new

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
                    if self._ctrl_check:
                        vals = list(map(_VALUE, items))
                        if max(map(len, vals)) >= self._minlen or not "".join(vals).isprintable():
                            return False
                    elif max(map(len, map(_VALUE, items))) >= self._minlen:
                        return False
                    if st.masked_text and not st.masked_text.isdisjoint(map(_ID, items)):
                        return False
                elif part == "attributes":
                    for item in items:
                        if item["id"] in st.masked or item["id"] in st.controls:
                            return False
                        changed = item["attributes"]
                        if not self._watched.isdisjoint(map(str.lower, changed)):
                            return False
                        for v in changed.values():
                            if (
                                v.__class__ is not str
                                or len(v) >= self._minlen
                                or (not v.isprintable())
                            ):
                                return False
                elif (st.masked or st.controls) and not (
                    st.masked.keys().isdisjoint(map(_ID, items))
                    and st.controls.keys().isdisjoint(map(_ID, items))
                ):
                    return False
        except (KeyError, TypeError, AttributeError, ValueError):
            return False  # an unexpected shape: let the full pass look at it
        return True

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
                nn = self.node(node, st, inherit, ctx, f"$.data.adds[{i}].node")
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
            # Tag unknown (only controls are remembered): tag tests pass - over-masking on
            # re-evaluation is the safe direction.
            tag = str(known["_tag"]) if known is not None else None
            hit = self.rules.element_hit(tag, view)
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
            na = self.attrs(changed, masked, control, ctx, f"$.data.attributes[{i}].attributes")
            if na is not changed:
                new = new if new is not None else list(items)
                new[i] = {**item, "attributes": na}
        return items if new is None else new

    def input(self, data: dict[str, Any], st: PageState, ctx: Ctx) -> dict[str, Any]:
        """Mask an rrweb Input event's text by the control's mode (default when unknown)."""
        text = data.get("text")
        if not isinstance(text, str) or not text:
            return data
        nid = data.get("id")
        hit = st.controls.get(nid) if isinstance(nid, int) else None
        m = st.masked.get(nid) if isinstance(nid, int) else None
        if m is not None and (hit is None or m.strength > hit.strength):
            hit = m
        if hit is None:
            hit = self.rules.default_input
        out = self.sm.apply(text, hit) if hit.strength > NONE else self.sm.scan(text)
        if out is None:
            return data
        return {**data, "text": ctx.take(text, out, "$.data.text")}

    def clipboard(
        self, payload: dict[str, Any], key: tuple[str | None, str | None], ctx: Ctx
    ) -> dict[str, Any]:
        """Clipboard content (when capture records it) is user data: the target field's mode,
        else the default input mode (a pasted password must not pass in clear)."""
        content = payload.get("content")
        if not isinstance(content, str) or not content:
            return self.net.walk(payload, ctx, "$")  # type: ignore[no-any-return]
        st = self.pages.get(key)
        target = payload.get("target")
        hit = self.rules.default_input
        if st is not None and isinstance(target, int):
            for known in (st.controls.get(target), st.masked.get(target)):
                if known is not None and known.strength > hit.strength:
                    hit = known
        rest = self.net.walk({k: v for k, v in payload.items() if k != "content"}, ctx, "$")
        return {**rest, "content": ctx.take(content, self.sm.apply(content, hit), "$.content")}

    # -- keystrokes -----------------------------------------------------------------------
    def key(
        self, payload: dict[str, Any], key: tuple[str | None, str | None], ctx: Ctx
    ) -> dict[str, Any]:
        """Redact keystrokes typed into masked fields (key *and* code: ``Digit7`` leaks)."""
        k = payload.get("key")
        if not isinstance(k, str):
            return payload
        target = payload.get("target")
        st = self.pages.get(key)
        redact = False
        if k == MARKER or "\x01" in k or "\x03" in k:
            redact = True
        elif len(k) == 1 or not k.isascii():  # a printable character, not Enter/Tab/F5...
            if st is not None and isinstance(target, int) and target in st.masked:
                redact = True
            elif st is not None and isinstance(target, int) and target in st.controls:
                redact = st.controls[target].strength > KEEP
            else:
                # Not a control we know of: trust the recorder's selector of the target when
                # it names a non-field element (grid hotkeys); otherwise fail closed.
                sel = payload.get("selector")
                last = (
                    _SEL_TAG.match(sel.rsplit(">", 1)[-1].strip()) if isinstance(sel, str) else None
                )
                redact = (
                    st is None
                    or not st.snapshot
                    or last is None
                    or last.group(0).lower() in CONTROL_TAGS
                )
        if not redact:
            return payload
        new = {**payload, "key": MARKER}
        if "code" in new:
            new["code"] = MARKER
        return new
