"""The snapshot walk: masking of serialized DOM nodes (full snapshots and added subtrees).

Each element is matched against the element rules; a masked element passes its mode down to
its text nodes, and form controls (and contenteditable elements) remember the mode for their
value in the page's :class:`PageState`, so later events that carry only a node id are masked
the same way.
"""

from __future__ import annotations

from typing import Any

from agent.mask.compiled import Hit, RuleSet
from agent.mask.ctx import Ctx
from agent.mask.rules import KEEP, NONE
from agent.mask.selectors import Elem
from agent.mask.strings import StringMasker
from agent.rrweb import NodeType

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
_TEXT_NODES = frozenset({NodeType.TEXT, NodeType.CDATA, NodeType.COMMENT})


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
        "elems",
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
        # Only when a rule has a combinator: every element's tag, rule-referenced attributes
        # and parent (``None`` for a document), so nodes added later are matched in place.
        self.elems: dict[int, Elem | None] = {}


def is_editable(attrs: dict[str, Any]) -> bool:
    """True for an element the user can type into (``contenteditable`` not false)."""
    v = attrs.get("contenteditable")
    return v is not None and v is not False and str(v).lower() != "false"


class NodeMasker:
    """Masks serialized nodes and element attributes, recording masked nodes and controls."""

    def __init__(self, sm: StringMasker) -> None:
        self.sm = sm
        self.rules: RuleSet = sm.rules

    def elem(self, tag: str | None, attrs: dict[str, Any], parent: Elem | None) -> Elem:
        """The element as the selectors see it (only rule-referenced attributes are kept)."""
        ref = self.rules.referenced_attributes
        return Elem(tag, {k: v for k, v in attrs.items() if k.lower() in ref}, parent)

    def _element(
        self,
        n: dict[str, Any],
        st: PageState,
        inherited: Hit | None,
        ctx: Ctx,
        path: str,
        parent: Elem | None,
    ) -> tuple[dict[str, Any], Hit | None, Elem | None]:
        nid = n.get("id")
        tag = str(n.get("tagName") or "").lower()
        attrs = n.get("attributes")
        if not isinstance(attrs, dict):
            attrs = {}
        if n.get("isShadow"):
            parent = None  # a shadow root's children: selectors do not cross it
        hit = self.rules.element_hit(tag, attrs, parent)
        me: Elem | None = None
        if self.rules.needs_ancestors:
            me = self.elem(tag, attrs, parent)
            if isinstance(nid, int):
                st.elems[nid] = me
        # An inherited rule wins when stronger; the inherited default input mode (an editable
        # ancestor's) yields to any rule naming this element, a keep rule included.
        if inherited is not None and (
            hit is None
            or (inherited.strength > hit.strength and inherited is not self.rules.default_input)
        ):
            hit = inherited
        masked = hit if hit is not None and hit.strength > KEEP else None
        control: Hit | None = None
        if tag in CONTROL_TAGS or is_editable(attrs):
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
                if control.strength > KEEP and (tag == "textarea" or is_editable(attrs)):
                    st.masked[nid] = control if masked is None else masked
                    child_hit = st.masked[nid]
        new_attrs = self.attrs(attrs, masked, control, ctx, f"{path}.attributes")
        return (n if new_attrs is attrs else {**n, "attributes": new_attrs}), child_hit, me

    def node(
        self,
        n: dict[str, Any],
        st: PageState,
        inherited: Hit | None,
        ctx: Ctx,
        path: str,
        parent: Elem | None = None,
    ) -> dict[str, Any]:
        """Mask one serialized node and its subtree (``parent``: its parent element chain)."""
        t = n.get("type")
        me: Elem | None = None
        if t == NodeType.ELEMENT:
            n, child_hit, me = self._element(n, st, inherited, ctx, path, parent)
        elif t in _TEXT_NODES:
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
        elif t == NodeType.DOCUMENT:
            child_hit = None
            if self.rules.needs_ancestors and isinstance(n.get("id"), int):
                st.elems[n["id"]] = None
        else:
            return n
        kids = n.get("childNodes")
        if not isinstance(kids, list) or not kids:
            return n
        new: list[Any] | None = None
        for i, c in enumerate(kids):
            if isinstance(c, dict):
                nc = self.node(c, st, child_hit, ctx, f"{path}.childNodes[{i}]", me)
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
