"""The event record that flows capture -> mask -> journal.

An :class:`Event` is what a stage hands to the next. The journal assigns ``seq``
(dense per session) when the event is made durable; the clock fields are set where the
event was observed (capture), never re-stamped later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.errors import InvalidEvent
from agent.kinds import KINDS

EVENT_RECORD_VERSION = 1


@dataclass(slots=True, weakref_slot=True)
class Event:
    """One observed fact, before it has a sequence number.

    Weak-referenceable so the journal can tell a retried event from a new one during an
    outage without keeping events alive.
    """

    kind: str
    payload: dict[str, Any]
    t_utc_ns: int
    t_mono_ns: int
    page: str | None = None
    frame: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ``InvalidEvent`` unless the kind is registered and the clocks are integers."""
        if self.kind not in KINDS:
            raise InvalidEvent(f"unknown event kind {self.kind!r}")
        if type(self.t_utc_ns) is not int or type(self.t_mono_ns) is not int:
            raise InvalidEvent(f"{self.kind}: t_utc_ns and t_mono_ns must be integers")
        if not isinstance(self.payload, dict):
            raise InvalidEvent(f"{self.kind}: payload must be an object")


def to_record(ev: Event, seq: int) -> dict[str, Any]:
    """The persisted form of an event (inside an encrypted chunk)."""
    return _as_json({"v": EVENT_RECORD_VERSION, "seq": seq}, ev, {})


def _as_json(head: dict[str, Any], ev: Event | Record, tail: dict[str, Any]) -> dict[str, Any]:
    """``head``, the event's clocks, kind and payload, ``tail``, then page and frame when set."""
    d: dict[str, Any] = {
        **head,
        "t_utc_ns": ev.t_utc_ns,
        "t_mono_ns": ev.t_mono_ns,
        "kind": ev.kind,
        "payload": ev.payload,
        **tail,
    }
    if ev.page is not None:
        d["page"] = ev.page
    if ev.frame is not None:
        d["frame"] = ev.frame
    return d


@dataclass(frozen=True, slots=True)
class Record:
    """An event as read back from a journal."""

    seq: int
    t_utc_ns: int
    t_mono_ns: int
    kind: str
    payload: dict[str, Any]
    page: str | None
    frame: str | None
    chunk: int
    segment: str

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, chunk: int, segment: str) -> Record:
        """Build from a decoded record; unknown versions are refused."""
        if d.get("v") != EVENT_RECORD_VERSION:
            from agent.errors import UnknownVersion

            raise UnknownVersion(f"event record version {d.get('v')!r} in segment {segment}")
        return cls(
            seq=d["seq"],
            t_utc_ns=d["t_utc_ns"],
            t_mono_ns=d["t_mono_ns"],
            kind=d["kind"],
            payload=d["payload"],
            page=d.get("page"),
            frame=d.get("frame"),
            chunk=chunk,
            segment=segment,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (for JSONL export and the raw-data panel)."""
        return _as_json({"seq": self.seq}, self, {"chunk": self.chunk, "segment": self.segment})
