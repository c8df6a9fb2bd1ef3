"""TEMPORARY adapter: today's timeline entries as :class:`agent.actions.model.Action` for the
report, until ``agent.actions.derive.derive_actions(records)`` lands; then
:func:`actions_for_report` becomes a call to it and this module goes.

It names an element from the recorded DOM (rrweb full snapshots and added nodes): its
``aria-label``, its text, its label, ``placeholder``, ``title``, ``name`` or id, and its role
from the tag - so no sentence says "node 12". Keystrokes are folded into the edit they made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.actions.model import Action, CausedRequest, Target
from agent.events import Record
from agent.rrweb import MouseInteraction, NodeType

_ROLES = {
    "button": "button",
    "a": "link",
    "input": "textbox",
    "select": "combobox",
    "textarea": "textbox",
    "form": "form",
}
_BUTTON_TYPES = ("button", "submit", "reset")


@dataclass
class _Dom:
    """Enough of the recorded DOM to name an element: tag, attributes, parent, children."""

    nodes: dict[int, dict[str, Any]] = field(default_factory=dict)
    kids: dict[int, list[int]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # for= id -> label node id

    def add(self, n: dict[str, Any], parent: int | None) -> None:
        nid = int(n.get("id", -1))
        self.nodes[nid] = {
            "type": n.get("type"),
            "tag": str(n.get("tagName") or "").lower(),
            "attrs": n.get("attributes") or {},
            "text": n.get("textContent") or "",
        }
        if parent is not None:
            self.kids.setdefault(parent, []).append(nid)
        attrs = self.nodes[nid]["attrs"]
        if self.nodes[nid]["tag"] == "label" and attrs.get("for"):
            self.labels[str(attrs["for"])] = str(nid)
        for c in n.get("childNodes") or []:
            if isinstance(c, dict):
                self.add(c, nid)

    def text(self, nid: int, depth: int = 0) -> str:
        n = self.nodes.get(nid)
        if n is None or depth > 8:
            return ""
        if n["type"] == NodeType.TEXT:
            return str(n["text"])
        return " ".join(self.text(k, depth + 1) for k in self.kids.get(nid, [])).strip()

    def target(self, nid: Any) -> Target:
        n = self.nodes.get(int(nid)) if isinstance(nid, int) else None
        if n is None:
            return Target()
        a, tag = n["attrs"], n["tag"]
        role = str(a.get("role") or _ROLES.get(tag, ""))
        if tag == "input" and a.get("type") in _BUTTON_TYPES:
            role = "button"
        label = self.labels.get(str(a.get("id") or ""))
        name = (
            a.get("aria-label")
            or (" ".join(self.text(int(nid)).split())[:60] if tag in ("button", "a") else "")
            or (" ".join(self.text(int(label)).split())[:60] if label else "")
            or a.get("value" if role == "button" else "placeholder")
            or a.get("placeholder")
            or a.get("title")
            or a.get("name")
            or a.get("id")
            or ""
        )
        words = str(name).split()
        half = len(words) // 2
        if half and len(words) % 2 == 0 and words[:half] == words[half:]:
            name = " ".join(words[:half])  # a label that wraps a copy of its own text
        return Target(role=role, name=str(name), tag=tag, element_id=str(a.get("id") or ""))


def _feed_dom(dom: _Dom, r: Record) -> None:
    data = r.payload.get("data")
    if not isinstance(data, dict):
        return
    if r.kind == "rrweb.full_snapshot" and isinstance(data.get("node"), dict):
        dom.add(data["node"], None)
    for add in data.get("adds") or []:
        if isinstance(add, dict) and isinstance(add.get("node"), dict):
            dom.add(add["node"], add.get("parentId"))


def _what(t: Target) -> str:
    """``button 'Send (REST)'`` / ``field 'Symbol'`` / ``an element``."""
    kind = {"textbox": "field", "combobox": "list"}.get(t.role, t.role or "element")
    return f"{kind} '{t.name}'" if t.name else f"an unnamed {kind}"


def _action(r: Record, dom: _Dom, reqs: dict[str, list[CausedRequest]]) -> Action | None:
    p, k = r.payload, r.kind
    data: dict[str, Any] = p["data"] if isinstance(p.get("data"), dict) else {}
    aid = str(p.get("action_id") or "")
    base: dict[str, Any] = {
        "seq": r.seq,
        "seq_first": r.seq,
        "t_utc_ns": r.t_utc_ns,
        "page": r.page,
        "frame": r.frame,
        "requests": tuple(reqs.get(aid, ())),
    }
    if k == "rrweb.mouse_interaction" and data.get("type") == MouseInteraction.CLICK:
        t = dom.target(data.get("id"))
        return Action(verb="click", text=f"clicked {_what(t)}", target=t, **base)
    if k == "rrweb.input":
        t = dom.target(data.get("id"))
        v = str(data.get("text", ""))
        masked = "tokenize" if v.startswith("tok_") else "redact" if "[redacted]" in v else ""
        text = f"typed '{v}' into {_what(t)}"
        return Action(verb="type", text=text, target=t, value=v, masked=masked, **base)
    if k == "input.submit":
        t = dom.target(p.get("target"))
        return Action(verb="submit", text=f"submitted form {t.name or p.get('selector')}", **base)
    if k == "page.dialog" and p.get("phase") == "closed":
        how = "accepted" if p.get("accepted") else "dismissed"
        text = f"{how} the {p.get('type')} dialog '{p.get('message')}'"
        return Action(verb="dialog", text=text, value=how, **base)
    if k == "page.download":
        text = f"downloaded '{p.get('name')}' ({p.get('size')} bytes, sha256 {p.get('sha256')})"
        return Action(verb="download", text=text, url=str(p.get("url") or ""), **base)
    if k == "page.navigate" and p.get("main_frame"):
        return Action(verb="navigate", text=f"page loaded {p.get('url')}", **base)
    if k == "page.created" and p.get("opener"):
        return Action(verb="popup", text="a popup window opened", **base)
    return None


def _caused(records: list[Record], network: dict[str, dict[str, Any]]) -> dict[str, list[Any]]:
    out: dict[str, list[CausedRequest]] = {}
    for n in network.values():
        url = str(n.get("url") or "")
        for seq, aid in n.get("frame_causes") or []:  # WebSocket messages an action sent
            out.setdefault(str(aid), []).append(CausedRequest(int(seq), "WS", url, ws=True))
        aid = n.get("cause")
        if not aid or n.get("seq") is None or n.get("method") == "WS":
            continue
        out.setdefault(str(aid), []).append(
            CausedRequest(
                seq=int(n["seq"]),
                method=str(n.get("method") or ""),
                url=url,
                status=n.get("status") if isinstance(n.get("status"), int) else None,
                failed=str(n.get("failed") or ""),
            )
        )
    return out


def actions_for_report(records: list[Record], network: dict[str, dict[str, Any]]) -> list[Action]:
    """The session's actions in order; consecutive inputs into one field are one edit."""
    dom, out = _Dom(), list[Action]()
    reqs = _caused(records, network)
    for r in records:
        if r.kind in ("rrweb.full_snapshot", "rrweb.mutation"):
            _feed_dom(dom, r)
            continue
        a = _action(r, dom, reqs)
        if a is None:
            continue
        prev = out[-1] if out else None
        if prev is not None and a.verb == prev.verb == "type" and a.target == prev.target:
            a = Action(**{**a.__dict__, "seq_first": prev.seq_first})
            out[-1] = a
        else:
            out.append(a)
    return out
