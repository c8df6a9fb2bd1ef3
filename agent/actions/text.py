"""Actions in words: the sentence of one action, and the narrative of a session.

Values are shown as recorded: a clear value in quotes (``typed 'MSFT' into 'Symbol'``), a
masked one as its token with the mode (``typed tok_… (tokenized) into 'Account'``) or as
``[redacted]``. An element without a name is called by its id, CSS path or tag - never by a
node number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from agent.actions.model import Action, Target
from agent.clock import utc_iso

MARKER = "[redacted]"
_TOKEN = re.compile(r"\b(tok|esc)_[0-9a-f]{16}\b")
_MODES = {"tok": "tokenize", "esc": "escrow"}
_SHOWN_MODE = {"tokenize": "tokenized", "escrow": "escrowed", "redact": "redacted"}
_CAP = 80

_CLICK_WORDS = {"click": "clicked", "dblclick": "double-clicked", "contextmenu": "right-clicked"}
_ROLE_WORDS = frozenset(
    {"button", "link", "checkbox", "radio", "tab", "menuitem", "option", "switch", "textbox",
     "combobox", "listbox", "searchbox", "slider", "img", "heading"}
)  # fmt: skip


def masked_mode(value: str | None) -> str:
    """``redact`` / ``tokenize`` / ``escrow`` when masking replaced (part of) the value, else
    ``""`` (the strongest mode when several are present)."""
    if not value:
        return ""
    if MARKER in value:
        return "redact"
    modes = {_MODES[m.group(1)] for m in _TOKEN.finditer(value)}
    return "escrow" if "escrow" in modes else ("tokenize" if modes else "")


def _short(s: str, n: int = _CAP) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def shown_value(value: str | None, masked: str) -> str:
    """A value as the text shows it."""
    if value is None:
        return "''"
    if masked == "redact" and value.strip() == MARKER:
        return MARKER
    if masked:
        return f"{_short(value)} ({_SHOWN_MODE.get(masked, masked)})"
    return f"'{_short(value)}'"


def element_words(t: Target, *, role: bool = True) -> str:
    """How the text calls an element: ``button 'Send (REST)'``, ``'Symbol'``, ``#order-form``."""
    kind = t.role if role and t.role in _ROLE_WORDS else ""
    if t.name:
        return f"{kind} '{_short(t.name)}'".strip()
    if t.element_id:
        return f"{kind or t.tag or 'element'} #{t.element_id}"
    if t.test_id:
        return f"{kind or t.tag or 'element'} [test id {t.test_id}]"
    if t.css:
        return f"{kind or 'element'} {_short(t.css)}"
    if t.tag:
        return f"a <{t.tag}> element"
    return "an unnamed element"


def _context(t: Target, already: str) -> str:
    """`` in 'Order ticket'`` (the form, else the region), unless it repeats the name."""
    where = t.form or t.region
    return f" in '{_short(where)}'" if where and where != already else ""


def field_words(t: Target) -> str:
    """How the text calls a form field: ``'Account' in 'Client lookup'``."""
    return element_words(t, role=False) + _context(t, t.name)


def click_words(verb: str, t: Target) -> str:
    """``clicked button 'Send (REST)' in 'Order ticket'`` (``verb``: click, dblclick,
    contextmenu)."""
    return f"{_CLICK_WORDS.get(verb, verb)} {element_words(t)}{_context(t, t.name)}"


def _field_words(a: Action) -> str:
    return field_words(a.target)


def action_text(a: Action) -> str:
    """The sentence for an action, from its fields (``Action.text`` holds the same)."""
    t, d = a.target, a.detail
    if a.verb in _CLICK_WORDS:
        return click_words(a.verb, t)
    if a.verb == "type":
        if not a.value:
            return f"cleared {_field_words(a)}"
        return f"typed {shown_value(a.value, a.masked)} into {_field_words(a)}"
    if a.verb == "select":
        return f"selected {shown_value(a.value, a.masked)} in {_field_words(a)}"
    if a.verb in ("check", "uncheck"):
        return f"{a.verb}ed {_field_words(a)}"
    if a.verb == "submit":
        name = t.form or t.name
        return f"submitted form '{_short(name)}'" if name else f"submitted {element_words(t)}"
    if a.verb == "key":
        where = f" in {_field_words(a)}" if (t.name or t.css or t.element_id) else ""
        return f"pressed {d.get('combo', a.value)}{where}"
    return _page_text(a)


def _page_text(a: Action) -> str:
    """Sentences of the actions that happen to pages rather than to elements."""
    d = a.detail
    if a.verb == "navigate":
        how = str(d.get("how", ""))
        word = {
            "reload": "reloaded",
            "typed": "typed the address",
            "link": "followed a link to",
            "bookmark": "opened the bookmark",
        }
        return f"{word.get(how, 'opened')} {_short(a.url, 120)}"
    if a.verb == "popup":
        name = a.target.name
        if name:
            return f"opened popup '{_short(name)}'"
        return f"opened popup {_short(a.url, 120)}" if a.url else "opened popup"
    if a.verb == "dialog":
        return _dialog_text(a)
    if a.verb == "download":
        size = d.get("bytes")
        sha = str(d.get("sha256") or "")
        facts = [f"{size} bytes" if size is not None else "", f"sha256 {sha[:16]}…" if sha else ""]
        inner = ", ".join(f for f in facts if f)
        return f"downloaded {a.value or 'a file'}" + (f" ({inner})" if inner else "")
    if a.verb == "upload":
        return f"uploaded {a.value or 'no file'}" + (
            f" into {_field_words(a)}" if a.target.name or a.target.css else ""
        )
    return f"{a.verb} {element_words(a.target)}"


def _dialog_text(a: Action) -> str:
    d = a.detail
    kind = str(d.get("type") or "dialog")
    msg = _short(str(d.get("message") or ""))
    if kind == "alert":
        return f"closed alert '{msg}'"
    answer = "OK" if d.get("accepted") else "Cancel"
    if kind == "prompt" and d.get("accepted"):
        answer = f"{shown_value(a.value, a.masked)} (OK)"
    noun = "dialog" if kind in ("confirm", "dialog") else kind
    return f"answered {noun} '{msg}' with {answer}"


def requests_summary(a: Action) -> str:
    """``POST /api/orders → 200; GET /x → failed net::ERR_…`` for one action's requests."""
    parts = []
    for r in a.requests:
        if r.ws:
            parts.append(f"WS sent {_short(r.url, 60)}")
            continue
        outcome = f"failed {r.failed}" if r.failed else (str(r.status) if r.status else "pending")
        parts.append(f"{r.method} {_short(r.url, 80)} → {outcome}")
    return "; ".join(parts)


def narrative(actions: Iterable[Action]) -> list[dict[str, Any]]:
    """One entry per action for a report: ``{seq, time, text, requests, action}`` (``time``
    in UTC ISO form, ``requests`` the summary, ``action`` the :meth:`Action.as_dict`)."""
    return [
        {
            "seq": a.seq,
            "time": utc_iso(a.t_utc_ns),
            "text": a.text,
            "requests": requests_summary(a),
            "action": a.as_dict(),
        }
        for a in actions
    ]
