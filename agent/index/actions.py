"""Index actions: the ``events.action`` values, which journal kinds produce them, and how a
``kind:`` query filter resolves to them."""

from __future__ import annotations

from collections.abc import Sequence

from agent.rrweb import MouseInteraction

# The mouse interactions indexed as actions (others - mouse up/down, focus, blur - are not).
CLICK_TYPES: dict[int, str] = {
    MouseInteraction.CLICK: "click",
    MouseInteraction.CONTEXT_MENU: "contextmenu",
    MouseInteraction.DBL_CLICK: "dblclick",
}

# Which actions each journal kind can produce (``kind:`` filters resolve to actions).
KIND_ACTIONS: dict[str, tuple[str, ...]] = {
    "rrweb.full_snapshot": ("keyframe",),
    "rrweb.mutation": ("text",),
    "rrweb.mouse_interaction": ("click", "dblclick", "contextmenu"),
    "rrweb.input": ("input",),
    "input.submit": ("submit",),
    "page.navigate": ("navigate",),
    "page.title": ("title",),
    "net.request": ("request",),
    "net.response": ("response",),
    "net.ws_frame": ("ws_sent", "ws_received"),
    "net.ws_open": ("ws_open",),
    "page.console": ("console",),
    "page.dialog": ("dialog",),
    "page.download": ("download",),
    "session.start": ("session",),
    "session.end": ("session",),
    "capture.gap": ("gap",),
    "capture.tamper": ("tamper",),
    "capture.degraded": ("degraded",),
    "page.crash": ("crash",),
    "net.failed": ("failed",),
    "mask.failed": ("mask_failed",),
    "clock.jump": ("clock",),
}

ACTIONS = frozenset(
    {
        "keyframe",
        "text",
        "click",
        "contextmenu",
        "dblclick",
        "input",
        "submit",
        "navigate",
        "title",
        "request",
        "response",
        "ws_sent",
        "ws_received",
        "ws_open",
        "console",
        "dialog",
        "download",
        "session",
        "gap",
        "tamper",
        "degraded",
        "crash",
        "failed",
        "mask_failed",
        "clock",
    }
)


def actions_for(kinds: Sequence[str]) -> list[str]:
    """``kind:`` values → the actions stored in ``events.action``."""
    from agent.kinds import KINDS

    out: set[str] = set()
    for k in kinds:
        if k in ACTIONS:
            out.add(k)
            continue
        for name in KINDS:
            if name == k or name.startswith(k + "."):
                out.update(KIND_ACTIONS.get(name, ()))
    return sorted(out) or ["-none-"]
