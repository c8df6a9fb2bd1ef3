"""Where an action's :class:`Target` comes from: the recorder's description of the element,
made when the action happened (payload ``element``), or - for journals recorded before the
recorder described elements - the best name the DOM mirror of the session gives.

The mirror is the one the search index keeps (:class:`agent.index.dom.DomMap`), fed by the
stream's snapshots and mutations, so it names the element as it was when the action happened
too. A name is never a node number: with no name at all, the text falls back to the id, the
CSS path or the tag.
"""

from __future__ import annotations

from typing import Any

from agent.actions.model import Target
from agent.index.dom import ELEMENT, DomMap, clean, is_masked

_REGION_TAGS = frozenset(
    {"section", "article", "aside", "nav", "main", "header", "footer", "dialog", "fieldset"}
)
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6", "legend")
_BUTTON_INPUTS = frozenset({"button", "submit", "reset", "image"})
_NAME_CAP = 120


def target_from_element(el: dict[str, Any], x: Any = None, y: Any = None) -> Target:
    """A :class:`Target` from the recorder's ``element`` description (fields missing or of the
    wrong type are left empty: the payload comes from the page's renderer)."""

    def s(k: str) -> str:
        v = el.get(k)
        return clean(v)[: _NAME_CAP * 2] if isinstance(v, str) else ""

    nid = el.get("node_id")
    return Target(
        role=s("role"),
        name=s("name"),
        tag=s("tag"),
        element_id=s("element_id"),
        test_id=s("test_id"),
        css=s("css"),
        form=s("form"),
        region=s("region"),
        node_id=nid if type(nid) is int else None,
        x=xy(x),
        y=xy(y),
    )


def xy(v: Any) -> float | None:
    """A coordinate, or None when the payload has none."""
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _role(tag: str, attrs: dict[str, str]) -> str:
    """The implicit ARIA role of a mirrored element (the common cases)."""
    if attrs.get("role"):
        return attrs["role"].split()[0]
    typ = attrs.get("type", "").lower()
    if tag == "button" or (tag == "input" and typ in _BUTTON_INPUTS):
        return "button"
    if tag == "a" and "href" in attrs:
        return "link"
    if tag == "select":
        return "combobox"
    if tag == "textarea" or (tag == "input" and typ in ("", "text", "email", "tel", "url")):
        return "textbox"
    if tag == "input" and typ in ("checkbox", "radio", "search"):
        return "searchbox" if typ == "search" else typ
    return ""


def _heading_of(dom: DomMap, nid: int) -> str:
    """The text of the first heading or legend among a container's descendants."""
    stack = [nid]
    while stack:
        n = dom.nodes.get(stack.pop())
        if n is None or n.kind != ELEMENT:
            continue
        if n.tag in _HEADINGS:
            return dom.text_of(n.id, 80)
        stack.extend(reversed(n.children))
    return ""


def _container_name(dom: DomMap, nid: int) -> str:
    n = dom.nodes[nid]
    label = n.attrs.get("aria-label", "")
    if label and not is_masked(label):
        return clean(label)[:80]
    return _heading_of(dom, nid)


def _enclosing(dom: DomMap, nid: int) -> tuple[str, str]:
    """(form name, region name) of the containers around a mirrored node."""
    form = region = ""
    in_form = False
    p = dom.nodes[nid].parent if nid in dom.nodes else None
    while p is not None and p in dom.nodes and not (region and (form or not in_form)):
        n = dom.nodes[p]
        if n.tag == "form" and not in_form:
            in_form = True
            form = _container_name(dom, p)
        elif (n.tag in _REGION_TAGS or n.attrs.get("role") in ("dialog", "region")) and not region:
            region = _container_name(dom, p)
        p = n.parent
    if in_form and not form:
        form = region
    return form, region


def target_from_dom(
    dom: DomMap | None, nid: Any, *, field: bool, x: Any = None, y: Any = None
) -> Target:
    """The best :class:`Target` the mirror gives for rrweb node ``nid`` (``field``: name it
    like a form field - by its label - rather than by its text)."""
    if dom is None or type(nid) is not int:
        return Target(x=xy(x), y=xy(y))
    n = dom.element(nid)
    if n is None:
        return Target(node_id=nid, x=xy(x), y=xy(y))
    if n.tag == "form":
        form, region = _enclosing(dom, n.id)
        name = _container_name(dom, n.id) or region
        return Target(
            name=name,
            tag="form",
            element_id=n.attrs.get("id", ""),
            css=dom.selector(n.id),
            form=name,
            region=region,
            node_id=nid,
            x=xy(x),
            y=xy(y),
        )
    form, region = _enclosing(dom, n.id)
    name = dom.label(n.id) if field else (dom.target_text(n.id) or dom.label(n.id))
    return Target(
        role=_role(n.tag, n.attrs),
        name=name,
        tag=n.tag,
        element_id=n.attrs.get("id", ""),
        test_id=n.attrs.get("data-testid", ""),
        css=dom.selector(n.id),
        form=form,
        region=region,
        node_id=nid,
        x=xy(x),
        y=xy(y),
    )
