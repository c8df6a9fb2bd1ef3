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
from typing import Any, TypeGuard

import orjson

from agent.events import Event
from agent.kinds import KINDS
from agent.mutation_columns import AttrColumns, TextColumns, json_default
from agent.rrweb import MouseInteraction
from agent.seal._packc import indexes as _c_indexes
from agent.seal._packc import text_values

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
        if k == "rrweb.mutation" and (bad := _columns(p)):
            rejected.append(f"{k}: {bad}")
            continue
        entries.append((k, t, p))
    hosts = msg.get("hosts", 0)
    return Parsed(n, entries, rejected, hosts if type(hosts) is int and hosts > 0 else 0)


def _columns(p: dict[str, Any]) -> str | None:
    """A mutation's texts and attribute changes sent as columns, turned into
    :class:`TextColumns` and :class:`AttrColumns` in place; what is wrong with them, if
    anything (the rrweb lists pass as they are):

    * ``texts``: ``{"ids": [node id, ...], "values": [string or null, ...]}``;
    * ``attributes``: ``{"ids": [element id, ...], "objs": [object, ...], "of": [i, ...]}``:
      change ``j`` sets ``objs[of[j]]`` on element ``ids[j]`` (a grid's class flips are a
      few distinct objects)."""
    data = p.get("data")
    if type(data) is not dict:
        return None
    texts, attrs = data.get("texts"), data.get("attributes")
    if type(texts) is dict:
        ids, values = texts.get("ids"), texts.get("values")
        if not (len(texts) == 2 and _indexes(ids) and text_values(values, len(ids))):
            return "bad text columns"
        data["texts"] = TextColumns(ids, values)
    if type(attrs) is dict:
        ids, objs, of = attrs.get("ids"), attrs.get("objs"), attrs.get("of")
        if not (
            len(attrs) == 3
            and _indexes(ids)
            and type(objs) is list
            and {dict}.issuperset(map(type, objs))
            and _indexes(of, len(objs))
            and len(of) == len(ids)
        ):
            return "bad attribute columns"
        data["attributes"] = AttrColumns(ids, list(map(objs.__getitem__, of)))
    return None


def as_rrweb(payload: dict[str, Any]) -> dict[str, Any]:
    """A mutation payload as the recorder sent it, with its columns as the rrweb lists (for
    rrweb's own Replayer fed straight from the binding, as the test harness does); raises
    ``ValueError`` naming bad columns."""
    p = dict(payload)
    if type(p.get("data")) is dict:
        p["data"] = dict(p["data"])
    bad = _columns(p)
    if bad:
        raise ValueError(bad)
    parsed: dict[str, Any] = orjson.loads(orjson.dumps(p, default=json_default))
    return parsed


def _indexes(xs: Any, below: int | None = None) -> TypeGuard[list[int]]:
    """``xs`` is a list of non-negative ``int`` (not ``bool``), each under ``below`` if given.

    One compiled pass (:func:`agent.seal._packc.indexes`): a grid's flush carries thousands
    of node ids, and checking their types, least and greatest in Python was a third of the
    agent's work on the message before it reached the journal."""
    return _c_indexes(xs, -1 if below is None else below)


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
