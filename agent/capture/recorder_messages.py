"""Recorder -> agent binding messages (``{"v":1,"n":..,"events":[{"k","t","p"}]}``) to events.

A message may also carry ``"hosts": k``: the recorder holds ``k`` custom elements for the
agent to check for closed shadow roots (:mod:`agent.capture.closed_shadow`).

The binding lives only in our isolated world, so a message normally comes from our recorder.
Still, everything is validated: a malformed message or an unknown kind becomes a
``capture.tamper`` event (never a crash, never a silent drop); a hole in the batch counter
becomes a ``capture.gap``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from agent.events import Event
from agent.kinds import KINDS
from agent.rrweb import MouseInteraction

# Kinds the recorder may send; anything else from the page is suspicious.
RECORDER_KINDS = frozenset(
    k
    for k in KINDS
    if k.startswith(("rrweb.", "input."))
    or k in {"capture.heartbeat", "capture.degraded", "capture.tamper", "indicator.tampered"}
)

MAX_PAYLOAD_CHARS = 16 * 1024 * 1024
# The latest entry time (ms since the epoch) whose nanoseconds fit the journal's 64-bit
# integers (year 2262); a later one would make the journal refuse the whole batch.
MAX_TIME_MS = (2**63 - 1) // 1_000_000

# The mouse interactions that are user actions (may cause a request). A tuple, not a set:
# ``in`` must not raise on an unhashable value from the page.
_ACTION_INTERACTIONS = (
    MouseInteraction.CLICK,
    MouseInteraction.DBL_CLICK,
    MouseInteraction.TOUCH_END,
)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A decoded batch: its counter and its (kind, t_ms, payload) entries."""

    n: int
    entries: list[tuple[str, int, dict[str, Any]]]
    rejected: list[str]
    hosts: int = 0  # custom elements waiting for the agent's closed-shadow-root check


class BadMessage(ValueError):
    """The binding payload is not a protocol message."""


def parse_message(raw: str) -> Parsed:
    """Decode and validate one binding payload; bad entries are listed in ``rejected``."""
    if len(raw) > MAX_PAYLOAD_CHARS:
        raise BadMessage(f"message of {len(raw)} chars exceeds the limit")
    try:
        msg = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadMessage(f"not JSON: {exc}") from None
    if not isinstance(msg, dict):
        raise BadMessage("not an object")
    if msg.get("v") != 1:
        raise BadMessage(f"unknown protocol version {msg.get('v')!r}")
    n = msg.get("n")
    events = msg.get("events")
    if type(n) is not int or n < 0 or not isinstance(events, list):
        raise BadMessage("missing batch counter or events")
    entries: list[tuple[str, int, dict[str, Any]]] = []
    rejected: list[str] = []
    for item in events:
        if not isinstance(item, dict):
            rejected.append("entry is not an object")
            continue
        k, t, p = item.get("k"), item.get("t"), item.get("p")
        if not isinstance(k, str) or k not in RECORDER_KINDS:
            rejected.append(f"unknown kind {str(k)[:80]!r}")
            continue
        if type(t) is not int or not 0 < t <= MAX_TIME_MS:
            rejected.append(f"{k}: bad time")
            continue
        if not isinstance(p, dict):
            rejected.append(f"{k}: payload is not an object")
            continue
        entries.append((k, t, p))
    hosts = msg.get("hosts", 0)
    return Parsed(n, entries, rejected, hosts if type(hosts) is int and hosts > 0 else 0)


def is_user_action(kind: str, payload: dict[str, Any]) -> bool:
    """A click, an Enter keystroke or a form submission: what may cause a request."""
    if kind == "rrweb.mouse_interaction":
        data = payload.get("data")
        return isinstance(data, dict) and data.get("type") in _ACTION_INTERACTIONS
    if kind == "input.key":
        return payload.get("key") == "Enter"
    return kind == "input.submit"


def tamper_event(
    reason: str, raw_len: int, utc: int, mono: int, page: str, frame: str | None
) -> Event:
    """The event recorded instead of a message that breaks the protocol."""
    return Event(
        kind="capture.tamper",
        payload={"reason": reason[:300], "source": "binding", "bytes": raw_len},
        t_utc_ns=utc,
        t_mono_ns=mono,
        page=page,
        frame=frame,
    )
