"""The shape of an action: what the timeline, the report, the CSV export, search snippets and
the QA re-drive all read.

An :class:`Action` is one thing a person did on purpose - a click, one edit of a field (not one
per key), a selection, a submit, a navigation, a popup, a dialog answer, a download, an upload,
a keyboard shortcut - with the element it was done to as the recorder named it at record time
(accessible name, label, role, ids and a CSS path, so a later DOM change cannot rename it), the
value as recorded (already masked: a token, ``[redacted]`` or an escrow id when a rule hit it),
and the network requests it caused (from the capture's cause links) with their outcome.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

VERBS = (
    "click",
    "dblclick",
    "contextmenu",
    "type",
    "select",
    "check",
    "uncheck",
    "submit",
    "navigate",
    "popup",
    "dialog",
    "download",
    "upload",
    "key",
)
"""Every ``Action.verb``; the words of ``Action.text`` are built from these."""


@dataclass(frozen=True)
class Target:
    """The element acted on, as named when it was recorded (every field may be empty)."""

    role: str = ""  # ARIA role, computed ("button", "textbox", "combobox", "link", ...)
    name: str = ""  # accessible name: label, aria-label, text, title, placeholder, name
    tag: str = ""  # lower-case tag name
    element_id: str = ""  # the id attribute
    test_id: str = ""  # data-testid / data-test / data-qa
    css: str = ""  # a CSS path unique in its document when recorded
    form: str = ""  # accessible name of the enclosing form ("Order ticket")
    region: str = ""  # nearest landmark / section / dialog heading the element is in
    node_id: int | None = None  # the rrweb node id (for the replayer; never shown)
    x: float | None = None  # viewport coordinates of a click (last resort for a re-drive)
    y: float | None = None


@dataclass(frozen=True)
class CausedRequest:
    """A network request an action caused (linked by the capture's cause id)."""

    seq: int
    method: str
    url: str
    status: int | None = None  # HTTP status; None while pending or when it failed
    failed: str = ""  # the network error when it failed ("net::ERR_…")
    ws: bool = False  # a WebSocket message rather than an HTTP request


@dataclass(frozen=True)
class Action:
    """One action, in the order it happened (``seq`` orders them)."""

    seq: int  # the event that completed the action (the last keystroke of an edit, the click)
    seq_first: int  # the first event of the action (the first keystroke of an edit)
    t_utc_ns: int
    verb: str  # one of VERBS
    text: str  # "clicked button 'Send (REST)' in 'Order ticket'", "typed 'MSFT' into 'Symbol'"
    target: Target = field(default_factory=Target)
    value: str | None = None  # the value typed/selected/answered, as recorded (masked or not)
    masked: str = ""  # "redact" | "tokenize" | "escrow" when ``value`` is masked, else ""
    page: str | None = None  # the page (tab/popup) id
    frame: str | None = None
    url: str = ""  # the page URL when it happened (a navigation: its target)
    requests: tuple[CausedRequest, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)  # verb-specific extras (bytes, sha256)
    cause_ids: tuple[str, ...] = ()  # the capture's action ids of its events (screenshots, causes)

    def as_dict(self) -> dict[str, Any]:
        """JSON for the viewer, the bundle and the re-drive (``requests`` as a list)."""
        d = asdict(self)
        d["requests"] = [asdict(r) for r in self.requests]
        d["cause_ids"] = list(self.cause_ids)
        return d


def time_order(a: Action) -> tuple[int, int]:
    """The order actions happened in: time, then journal order among equal times (a dialog
    is journaled before the recorder's batch that holds the click that opened it)."""
    return (a.t_utc_ns, a.seq)
