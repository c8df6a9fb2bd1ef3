"""What a journal record means on the replay timeline: category, label, links.

One function, :func:`entry`, maps a record to a timeline entry (or ``None`` for records that
only matter to the DOM replay, such as mutations and mouse moves). Labels are built from the
journal payload, which is already masked; nothing here sees an unmasked value.
"""

from __future__ import annotations

from typing import Any

from agent.events import Record

# rrweb MouseInteractions that a person does on purpose (mouseup/down, focus, blur are noise):
# 2 Click, 3 ContextMenu, 4 DblClick, 7 TouchStart, 9 TouchEnd.
_CLICKS = {2: "click", 3: "context menu", 4: "double click", 7: "touch", 9: "touch end"}
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


def entry(r: Record) -> dict[str, Any] | None:
    """The timeline entry for a record, or None when it is not shown on the timeline."""
    p = r.payload
    cat, label = "", ""
    k = r.kind
    if k == "rrweb.mouse_interaction":
        data: dict[str, Any] = p["data"] if isinstance(p.get("data"), dict) else {}
        name = _CLICKS.get(int(data.get("type", -1)))
        if name is None:
            return None
        cat, label = (
            "action",
            f"{name} on node {data.get('id')} at ({data.get('x')}, {data.get('y')})",
        )
    elif k in _ACTION_KINDS:
        cat = "action"
        if k == "input.key":
            mods = "+".join(m for m in ("ctrl", "alt", "meta", "shift") if p.get(m))
            label = f"key {(mods + '+') if mods else ''}{p.get('key')} in {p.get('selector')}"
        elif k == "rrweb.input":
            data = p.get("data", {})
            label = f"input node {data.get('id')} = {_short(data.get('text'), 60)!s}"
        elif k == "rrweb.scroll":
            data = p.get("data", {})
            label = f"scroll node {data.get('id')} to ({data.get('x')}, {data.get('y')})"
        elif k == "input.submit":
            label = f"submit {p.get('selector')} ({p.get('method')} {p.get('action')})"
        elif k == "page.dialog":
            label = f"dialog {p.get('type')} {p.get('phase')}: {_short(p.get('message'), 60)}" + (
                f" -> {'accepted' if p.get('accepted') else 'dismissed'}"
                if p.get("phase") == "closed"
                else ""
            )
        else:
            label = f"{k.split('.', 1)[1]} {_short(p.get('selector') or p.get('files') or '')}"
    elif k == "page.navigate":
        if not p.get("main_frame") and p.get("url") == "about:blank":
            return None
        cat = "navigation"
        label = ("navigate " if p.get("main_frame") else "frame navigates ") + _short(p.get("url"))
    elif k in ("page.created", "page.closed"):
        cat = "page"
        label = (
            f"{'page opened' if k == 'page.created' else 'page closed'} "
            f"{r.page[:8] if r.page else ''} {_short(p.get('url') or '')}"
        )
    elif k == "net.request":
        cat, label = "network", f"{p.get('method')} {_short(p.get('url'))}"
    elif k == "net.response":
        cat, label = "network", f"{p.get('status')} {_short(p.get('url'))}"
    elif k == "net.failed":
        cat, label = (
            "network",
            f"failed {_short(p.get('url') or p.get('request_id'))}: "
            f"{p.get('error') or p.get('error_text')}",
        )
    elif k == "net.redirect":
        cat, label = "network", f"{p.get('status')} redirect to {_short(p.get('to'))}"
    elif k in ("net.ws_open", "net.ws_close"):
        cat, label = "ws", f"{k.split('_')[1]} {_short(p.get('url') or p.get('request_id'))}"
    elif k == "net.ws_frame":
        direction = p.get("direction") or ("sent" if p.get("sent") else "received")
        cat, label = "ws", f"{direction} {_short(p.get('data') or p.get('note') or '', 70)}"
    elif k == "page.console":
        if p.get("level") not in ("error", "exception", "assert"):
            return None
        cat, label = "console", f"{p.get('level')}: {_short(p.get('text'))}"
    elif k == "capture.gap":
        cat, label = "gap", f"capture gap ({p.get('cause')})"
    elif k in ("capture.tamper", "capture.degraded", "mask.failed", "page.crash"):
        cat, label = "capture", f"{k}: {_short(p.get('reason') or p.get('rule') or '')}"
    elif k in ("page.download", "page.screenshot"):
        cat = "page"
        label = (
            f"download {p.get('name')} ({p.get('size')} bytes)"
            if k == "page.download"
            else f"screenshot for action {p.get('action_id')}"
        )
    else:
        return None
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
    return out
