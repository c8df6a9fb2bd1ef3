"""What a journal record means on the replay timeline: category, label, links.

One function, :func:`entry`, maps a record to a timeline entry (or ``None`` for records that
only matter to the DOM replay, such as mutations and mouse moves). Labels are built from the
journal payload, which is already masked; nothing here sees an unmasked value.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from typing import Any

from agent.actions.model import Action
from agent.events import Record
from agent.mask.masker import tokens_in
from agent.mask.strings import MARKER
from agent.rrweb import MouseInteraction

# rrweb MouseInteractions that a person does on purpose (mouseup/down, focus, blur are noise).
_CLICKS: dict[int, str] = {
    MouseInteraction.CLICK: "click",
    MouseInteraction.CONTEXT_MENU: "context menu",
    MouseInteraction.DBL_CLICK: "double click",
    MouseInteraction.TOUCH_START: "touch",
    MouseInteraction.TOUCH_END: "touch end",
}
_ACTION_KINDS = {
    "input.key",
    "input.clipboard",
    "input.submit",
    "input.file_chooser",
    "rrweb.input",
    "rrweb.scroll",
    "page.dialog",
}


def _short(text: Any, n: int = 90) -> str:
    s = str(text)
    return s if len(s) <= n else s[: n - 1] + "…"


def _element_name(p: dict[str, Any]) -> str:
    """`` on 'Send (REST)'`` from the recorder's description of the element, else ``""``."""
    el = p.get("element")
    name = el.get("name") if isinstance(el, dict) else None
    return f" on '{_short(name, 60)}'" if isinstance(name, str) and name else ""


def _click_label(p: dict[str, Any]) -> str | None:
    """``click on 'Send (REST)' at (3, 4)``; None for mouse interactions that are noise."""
    data: dict[str, Any] = p["data"] if isinstance(p.get("data"), dict) else {}
    name = _CLICKS.get(int(data.get("type", -1)))
    if name is None:
        return None
    return f"{name}{_element_name(p)} at ({data.get('x')}, {data.get('y')})"


def _action_label(k: str, p: dict[str, Any]) -> str:
    """The label of a user action other than a mouse interaction."""
    if k == "input.key":
        mods = "+".join(m for m in ("ctrl", "alt", "meta", "shift") if p.get(m))
        return f"key {(mods + '+') if mods else ''}{p.get('key')} in {p.get('selector')}"
    if k == "rrweb.input":
        data = p.get("data", {})
        return f"input{_element_name(p)} = {_short(data.get('text'), 60)!s}"
    if k == "rrweb.scroll":
        data = p.get("data", {})
        return f"scroll node {data.get('id')} to ({data.get('x')}, {data.get('y')})"
    if k == "input.submit":
        return f"submit {p.get('selector')} ({p.get('method')} {p.get('action')})"
    if k == "page.dialog":
        return f"dialog {p.get('type')} {p.get('phase')}: {_short(p.get('message'), 60)}" + (
            f" -> {'accepted' if p.get('accepted') else 'dismissed'}"
            if p.get("phase") == "closed"
            else ""
        )
    return f"{k.split('.', 1)[1]} {_short(p.get('selector') or p.get('files') or '')}"


def _network_label(k: str, p: dict[str, Any]) -> tuple[str, str] | None:
    """Category and label of an HTTP or WebSocket record; None for the others."""
    if k == "net.request":
        return "network", f"{p.get('method')} {_short(p.get('url'))}"
    if k == "net.response":
        return "network", f"{p.get('status')} {_short(p.get('url'))}"
    if k == "net.failed":
        return (
            "network",
            f"failed {_short(p.get('url') or p.get('request_id'))}: "
            f"{p.get('error') or p.get('error_text')}",
        )
    if k == "net.redirect":
        return "network", f"{p.get('status')} redirect to {_short(p.get('to'))}"
    if k in ("net.ws_open", "net.ws_close"):
        return "ws", f"{k.split('_')[1]} {_short(p.get('url') or p.get('request_id'))}"
    if k == "net.ws_frame":
        direction = p.get("direction") or ("sent" if p.get("sent") else "received")
        return "ws", f"{direction} {_short(p.get('data') or p.get('note') or '', 70)}"
    return None


def _page_label(r: Record) -> tuple[str, str] | None:
    """Category and label of a page or capture record; None when it is not shown."""
    k, p = r.kind, r.payload
    if k == "page.navigate":
        if not p.get("main_frame") and p.get("url") == "about:blank":
            return None
        return "navigation", (
            ("navigate " if p.get("main_frame") else "frame navigates ") + _short(p.get("url"))
        )
    if k in ("page.created", "page.closed"):
        return "page", (
            f"{'page opened' if k == 'page.created' else 'page closed'} "
            f"{r.page[:8] if r.page else ''} {_short(p.get('url') or '')}"
        )
    if k == "page.console":
        if p.get("level") not in ("error", "exception", "assert"):
            return None
        return "console", f"{p.get('level')}: {_short(p.get('text'))}"
    if k == "capture.gap":
        return "gap", f"capture gap ({p.get('cause')})"
    if k in ("capture.tamper", "capture.degraded", "mask.failed", "page.crash"):
        return "capture", f"{k}: {_short(p.get('reason') or p.get('rule') or '')}"
    if k == "page.download":
        return "page", f"download {p.get('name')} ({p.get('size')} bytes)"
    if k == "page.screenshot":
        return "page", f"screenshot for action {p.get('action_id')}"
    return None


def _category_and_label(r: Record) -> tuple[str, str] | None:
    """What the timeline shows for a record, or None when it is not shown."""
    k, p = r.kind, r.payload
    if k == "rrweb.mouse_interaction":
        label = _click_label(p)
        return None if label is None else ("action", label)
    if k in _ACTION_KINDS:
        return "action", _action_label(k, p)
    if k.startswith("net."):
        return _network_label(k, p)
    return _page_label(r)


def entry(r: Record) -> dict[str, Any] | None:
    """The timeline entry for a record, or None when it is not shown on the timeline."""
    shown = _category_and_label(r)
    if shown is None:
        return None
    cat, label = shown
    p = r.payload
    k = r.kind
    out: dict[str, Any] = {
        "seq": r.seq,
        "t_utc_ns": r.t_utc_ns,
        "kind": k,
        "cat": cat,
        "label": label,
        "page": r.page,
        "frame": r.frame,
    }
    if "action_id" in p:
        out["action_id"] = p["action_id"]
    if k.startswith("net.") and "request_id" in p:
        out["request_id"] = p["request_id"]
    if k == "capture.gap":
        out["gap_start_ns"], out["gap_end_ns"] = p.get("start"), p.get("end")
    if k == "net.response" and isinstance(p.get("status"), int):
        out["status"] = p["status"]
    if _masked(p):
        out["masked"] = True
    return out


def _masked(payload: dict[str, Any]) -> bool:
    """True when the masker replaced a value in this payload (its marker or a token)."""
    text = json.dumps(payload, ensure_ascii=False)
    return MARKER in text or bool(tokens_in(text))


_RAW_INPUT_KINDS = frozenset({"input.key", "rrweb.input", "rrweb.mouse_interaction"})


def apply_actions(timeline: list[dict[str, Any]], actions: Sequence[Action]) -> None:
    """Put the actions' words on the timeline: the entry that completed action ``i`` gets its
    text as ``label`` and ``action_index: i``; the raw keystrokes, value changes and clicks of
    a field edit (seq_first..seq, same page) get ``part_of: i`` and keep their raw label."""
    by_seq = {a.seq: i for i, a in enumerate(actions)}
    spans = sorted(
        (a.seq_first, a.seq, a.page, i) for i, a in enumerate(actions) if a.seq_first < a.seq
    )
    firsts = [sp[0] for sp in spans]
    for e in timeline:
        seq = e.get("seq")
        if not isinstance(seq, int):
            continue
        i = by_seq.get(seq)
        if i is not None:
            e["label"] = actions[i].text
            e["action_index"] = i
            continue
        if e.get("kind") not in _RAW_INPUT_KINDS:
            continue
        j = bisect.bisect_right(firsts, seq) - 1
        while j >= 0 and spans[j][0] <= seq:
            lo, hi, page, idx = spans[j]
            if seq <= hi and page == e.get("page"):
                e["part_of"] = idx
                break
            j -= 1
