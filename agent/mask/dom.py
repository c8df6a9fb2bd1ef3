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

import re
from typing import Any

from agent.mask.compiled import RuleSet
from agent.mask.ctx import Ctx
from agent.mask.dom_mutation import MutationMasker
from agent.mask.dom_snapshot import CONTROL_TAGS, NodeMasker, PageState
from agent.mask.net import NetMasker
from agent.mask.rules import KEEP, NONE
from agent.mask.strings import MARKER, StringMasker
from agent.rrweb import EventType, IncrementalSource

_SEL_TAG = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
MAX_PAGES = 512
# rrweb incremental sources whose data carries no page strings.
_NO_STRING_SOURCES = frozenset(
    {
        IncrementalSource.MOUSE_MOVE,
        IncrementalSource.MOUSE_INTERACTION,
        IncrementalSource.SCROLL,
        IncrementalSource.VIEWPORT_RESIZE,
        IncrementalSource.TOUCH_MOVE,
        IncrementalSource.MEDIA_INTERACTION,
        IncrementalSource.DRAG,
        IncrementalSource.SELECTION,
    }
)


class DomMasker:
    """Masks rrweb events and ``input.key`` events, keeping per-page node state."""

    def __init__(self, sm: StringMasker, net: NetMasker) -> None:
        self.sm = sm
        self.net = net
        self.rules: RuleSet = sm.rules
        self.pages: dict[tuple[str | None, str | None], PageState] = {}
        self.nodes = NodeMasker(sm)
        self.mutations = MutationMasker(sm, self.nodes)

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
        if etype == EventType.INCREMENTAL_SNAPSHOT:
            src = data.get("source")
            if src in _NO_STRING_SOURCES:
                return payload
            st = self.page(key)
            if src == IncrementalSource.MUTATION:
                nd = self.mutations.mutation(data, st, ctx)
            elif src == IncrementalSource.INPUT:
                nd = self.input(data, st, ctx)
            else:
                nd = self.net.walk(data, ctx, "$.data")
        elif etype == EventType.FULL_SNAPSHOT:
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
                nn = self.nodes.node(node, st, None, ctx, "$.data.node")
                nd = data if nn is node else {**data, "node": nn}
        else:  # meta (href), custom, plugin, load ...: URLs and free text
            if etype == EventType.META:
                st = self.page(key)
                href = data.get("href")
                if st.href is not None and href != st.href:
                    st.navigated = True  # a new document: node ids start again
                st.href = href if isinstance(href, str) else None
            nd = self.net.walk(data, ctx, "$.data")
        return payload if nd is data else {**payload, "data": nd}

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
