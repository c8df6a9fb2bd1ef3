"""User input in words: clicks, field edits (one per field, not per key), selections,
checks, shortcut keys, submits and file choices, from the rrweb and ``input.*`` records.

Each element is named by the recorder's description made when the action happened (payload
``element``), else by one made earlier in the same stream for the same node, else - for
journals recorded before the recorder described elements - by the DOM mirror of the stream.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.actions.labels import target_from_dom, target_from_element, xy
from agent.actions.model import Target
from agent.events import Record
from agent.index.dom import DomMap
from agent.rrweb import MouseInteraction

Stream = tuple[str | None, str | None]

_CLICKS: dict[int, str] = {
    MouseInteraction.CLICK: "click",
    MouseInteraction.DBL_CLICK: "dblclick",
    MouseInteraction.CONTEXT_MENU: "contextmenu",
}
_FIELD_ROLES = frozenset(
    {"textbox", "searchbox", "combobox", "listbox", "checkbox", "radio", "slider", "spinbutton"}
)
_CHOICE_ROLES = frozenset({"combobox", "listbox"})
_BOX_ROLES = frozenset({"checkbox", "radio"})
_MODIFIER_KEYS = frozenset({"Control", "Shift", "Alt", "Meta", "AltGraph", "CapsLock", "OS"})
_EDIT_COMBOS = frozenset({"a", "c", "v", "x", "z", "y", "[redacted]"})
_ENDS_EDIT = frozenset({"Enter", "Tab"})


def is_field(t: Target) -> bool:
    """A form control that a click only focuses (its edit or selection is the action)."""
    return t.role in _FIELD_ROLES or t.tag in ("textarea", "select")


@dataclass
class Draft:
    """An action being built (requests and text are added when the list is read)."""

    seq: int
    seq_first: int
    t_utc_ns: int
    verb: str
    target: Target
    page: str | None
    frame: str | None
    url: str
    value: str | None = None
    aids: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Edit:
    """Keystrokes, value changes and a held focus click on one field."""

    stream: Stream
    node: int | None
    target: Target
    click: Record | None = None
    first_seq: int | None = None
    last_seq: int = 0
    t_utc_ns: int = 0
    value: str | None = None
    has_input: bool = False
    keys: int = 0
    aids: list[str] = field(default_factory=list)


def aid_of(p: dict[str, Any]) -> list[str]:
    a = p.get("action_id")
    return [str(a)] if a else []


def stream_of(r: Record) -> Stream:
    return (r.page, r.frame)


def _combo(p: dict[str, Any]) -> str:
    mods = [w for k, w in (("ctrl", "Ctrl"), ("alt", "Alt"), ("meta", "Meta")) if p.get(k)]
    key = str(p.get("key", ""))
    if p.get("shift") and (mods or len(key) > 1):
        mods.append("Shift")
    return "+".join([*mods, key.upper() if len(key) == 1 else key])


Emit = Callable[..., Draft]
"""``emit(record, verb, target, **draft fields)``: add an action draft."""


class InputActions:
    """The user-input half of the derivation: holds the field edit in progress."""

    def __init__(self, emit: Emit, activity: Callable[[Record], None]) -> None:
        self._emit = emit
        self._activity = activity  # an input happened in this page (navigation attribution)
        self._edit: _Edit | None = None
        self._doms: dict[Stream, DomMap] = {}
        self._described: set[Stream] = set()
        self._known: dict[tuple[Stream, int], Target] = {}
        self._recent: dict[Stream, int | None] = {}  # the field last edited, per stream

    def note(self, r: Record) -> None:
        """Every record passes here first: described streams need no DOM mirror."""
        if isinstance(r.payload.get("element"), dict) and stream_of(r) not in self._described:
            self._described.add(stream_of(r))
            self._doms.pop(stream_of(r), None)

    def mirror(self, r: Record) -> None:
        s = stream_of(r)
        if s in self._described:
            return
        data = r.payload.get("data")
        if not isinstance(data, dict):
            return
        if r.kind == "rrweb.full_snapshot" and isinstance(data.get("node"), dict):
            dom = self._doms.setdefault(s, DomMap())
            dom.load_snapshot(data["node"])
        elif s in self._doms:
            self._doms[s].apply_mutation(data)

    def _target(self, r: Record, nid: Any, *, field: bool, x: Any = None, y: Any = None) -> Target:
        """The element of an action: as the recorder described it, else as described earlier
        in this stream, else from the DOM mirror."""
        el = r.payload.get("element")
        s = stream_of(r)
        if isinstance(el, dict):
            t = target_from_element(el, x, y)
            for key in {nid, t.node_id}:
                if type(key) is int:
                    self._known[(s, key)] = t
            return t
        if type(nid) is int and (s, nid) in self._known:
            return dataclasses.replace(self._known[(s, nid)], x=xy(x), y=xy(y))
        return target_from_dom(self._doms.get(s), nid, field=field, x=x, y=y)

    def _same_field(self, r: Record, nid: Any) -> bool:
        e = self._edit
        return e is not None and e.stream == stream_of(r) and e.node == nid

    def flush(self) -> None:
        """End the edit in progress: one ``type`` action, else its held click, else nothing."""
        e, self._edit = self._edit, None
        if e is None:
            return
        if e.has_input:
            first = e.first_seq if e.first_seq is not None else e.last_seq
            rec = e.click or _fake(e)
            self._emit(
                rec, "type", e.target, seq=e.last_seq, seq_first=first, t_utc_ns=e.t_utc_ns,
                value=e.value, aids=e.aids, detail={"keys": e.keys},
            )  # fmt: skip
        elif e.click is not None:
            self._emit(e.click, "click", e.target, aids=e.aids)

    def _start_edit(self, r: Record, nid: Any, target: Target) -> _Edit:
        if not self._same_field(r, nid):
            self.flush()
            self._edit = _Edit(stream_of(r), nid if type(nid) is int else None, target)
            self._recent[stream_of(r)] = self._edit.node
        assert self._edit is not None
        return self._edit

    # --- user input ---------------------------------------------------------------------
    def mouse(self, r: Record) -> None:
        data = r.payload.get("data")
        if not isinstance(data, dict):
            return
        typ, nid = data.get("type"), data.get("id")
        if typ == MouseInteraction.BLUR:
            if self._same_field(r, nid):
                self.flush()
            return
        verb = _CLICKS.get(typ) if isinstance(typ, int) else None
        if verb is None:
            return
        t = self._target(r, nid, field=False, x=data.get("x"), y=data.get("y"))
        if verb == "click" and is_field(t):
            e = self._start_edit(r, nid, t)
            e.click = e.click or r
            e.aids.extend(aid_of(r.payload))
            self._activity(r)
            return
        self.flush()
        self._emit(r, verb, t, aids=aid_of(r.payload))

    def input(self, r: Record) -> None:
        data = r.payload.get("data")
        if not isinstance(data, dict):
            return
        nid = data.get("id")
        same = self._same_field(r, nid)
        # The recorder describes only an edit's first input: later ones of the same field
        # (after a dialog or popup ended the action) are the user's too.
        recent = self._recent.get(stream_of(r)) == nid
        user = isinstance(r.payload.get("element"), dict) or same or recent
        if not user and stream_of(r) in self._described:
            return  # a page script wrote the value (the recorder polled it)
        t = self._target(r, nid, field=True) if not same or "element" in r.payload else None
        t = t or (self._edit.target if self._edit is not None else Target())
        text = data.get("text")
        value = text if isinstance(text, str) else None
        if t.role in _BOX_ROLES:
            if t.role == "radio" and not data.get("isChecked"):
                return  # the radio a new choice unchecked
            self._choice(r, nid, t, "check" if data.get("isChecked") else "uncheck", None)
        elif t.role in _CHOICE_ROLES or t.tag == "select":
            self._choice(r, nid, t, "select", value)
        else:
            e = self._start_edit(r, nid, t)
            if "element" in r.payload:
                e.target = t  # the recorder's description beats one guessed from a keystroke
            e.value, e.has_input, e.last_seq, e.t_utc_ns = value, True, r.seq, r.t_utc_ns
            e.first_seq = r.seq if e.first_seq is None else e.first_seq
            self._activity(r)

    def _choice(self, r: Record, nid: Any, t: Target, verb: str, value: str | None) -> None:
        """A select or check action, absorbing the click that opened or toggled the field."""
        aids: list[str] = []
        first = r.seq
        if self._same_field(r, nid) and self._edit is not None:
            aids = self._edit.aids
            first = self._edit.click.seq if self._edit.click is not None else r.seq
            self._edit = None
        self.flush()
        self._emit(r, verb, t, value=value, aids=aids + aid_of(r.payload), seq_first=first)

    def key(self, r: Record) -> None:
        p = r.payload
        key, nid = str(p.get("key", "")), p.get("target")
        same = self._same_field(r, nid)
        if key in _MODIFIER_KEYS:
            if same and self._edit is not None:
                self._edit.keys += 1
            return
        mods = bool(p.get("ctrl") or p.get("alt") or p.get("meta"))
        command = key == "Escape" or (key[:1] == "F" and key[1:].isdigit())
        editing = not command and (not mods or (key.lower() in _EDIT_COMBOS and not p.get("alt")))
        if editing and key not in _ENDS_EDIT and (len(key) == 1 or key == "[redacted]" or same
                                                  or key in ("Backspace", "Delete")):  # fmt: skip
            t = self._edit.target if same and self._edit else self._target(r, nid, field=True)
            e = self._start_edit(r, nid, t)
            e.keys += 1
            e.first_seq = r.seq if e.first_seq is None else e.first_seq
            e.aids.extend(aid_of(p))
            return
        if key in _ENDS_EDIT and same and self._edit is not None:
            self._edit.keys += 1
            self._edit.aids.extend(aid_of(p))
            self.flush()
            return
        if not mods and not command and key != "Enter":
            return  # navigation keys (Tab, arrows, Home...) outside an edit: no action
        self.flush()
        t = self._target(r, nid, field=True)
        self._emit(r, "key", t, value=_combo(p), aids=aid_of(p), detail={"combo": _combo(p)})

    def submit(self, r: Record) -> None:
        """A form submission, named by the form."""
        self.flush()
        p = r.payload
        t = self._target(r, p.get("target"), field=False)
        if not t.form and not t.name and isinstance(p.get("selector"), str):
            t = dataclasses.replace(t, css=t.css or str(p["selector"]))
        detail = {k: p[k] for k in ("method", "action") if isinstance(p.get(k), str)}
        self._emit(r, "submit", t, aids=aid_of(p), detail=detail)

    def upload(self, r: Record) -> None:
        """Files chosen in a file chooser (their names only)."""
        self.flush()
        p = r.payload
        files = p.get("files") or p.get("names") or []
        names = [str(f.get("name", f)) if isinstance(f, dict) else str(f) for f in files]
        t = self._target(r, p.get("target"), field=True)
        self._emit(r, "upload", t, value=", ".join(names), aids=aid_of(p),
                   detail={"files": names})  # fmt: skip


def _fake(e: _Edit) -> Record:
    """A record standing for an edit whose first event was not a click (for page/frame)."""
    return Record(
        seq=e.last_seq, t_utc_ns=e.t_utc_ns, t_mono_ns=0, kind="", payload={},
        page=e.stream[0], frame=e.stream[1], chunk=0, segment="",
    )  # fmt: skip
