"""Test doubles shipped with the package (for unit tests of one stage, never the real path).

* :class:`FakeClock` - manual UTC and monotonic clocks.
* :func:`make_event` - a valid :class:`~agent.events.Event` with sensible defaults.
* :class:`MemorySink` - an ``EventSink`` that keeps events in a list.

Stages add their own doubles here (``MemoryVault``, ``FlakyVault`` ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.events import Event

_BASE_UTC = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


class FakeClock:
    """A clock that moves only when told to; UTC and monotonic move together unless jumped."""

    def __init__(self, utc_ns: int = _BASE_UTC, mono_ns: int = 1_000_000_000) -> None:
        self._utc = utc_ns
        self._mono = mono_ns

    def utc_ns(self) -> int:
        return self._utc

    def mono_ns(self) -> int:
        return self._mono

    def advance(self, ns: int) -> None:
        """Move both clocks forward by ``ns``."""
        self._utc += ns
        self._mono += ns

    def advance_s(self, s: float) -> None:
        """Move both clocks forward by ``s`` seconds."""
        self.advance(int(s * 1_000_000_000))

    def jump_wall(self, ns: int) -> None:
        """Move only the wall clock (an NTP step or a user changing the time)."""
        self._utc += ns


def make_event(
    kind: str = "clock.tick",
    payload: dict[str, Any] | None = None,
    *,
    clock: FakeClock | None = None,
    page: str | None = None,
    frame: str | None = None,
) -> Event:
    """A valid event; times come from ``clock`` (or a fixed instant)."""
    c = clock or FakeClock()
    return Event(
        kind=kind,
        payload=payload if payload is not None else {"n": 1},
        t_utc_ns=c.utc_ns(),
        t_mono_ns=c.mono_ns(),
        page=page,
        frame=frame,
    )


class MemorySink:
    """An ``EventSink`` that keeps every event in ``self.events`` (durable = in the list)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def append_many(self, events: Sequence[Event]) -> None:
        for ev in events:
            ev.validate()
        self.events.extend(events)

    def kinds(self) -> list[str]:
        """The kinds seen, in order."""
        return [e.kind for e in self.events]


# Stage doubles live beside their stage and are re-exported here lazily, so importing
# agent.testing never pulls in every stage.
_STAGE_DOUBLES = {
    "MemoryVault": "agent.ship.testing",
    "FlakyVault": "agent.ship.testing",
    "FakeSource": "agent.ship.testing",
    "build_masker": "agent.mask.testing",
    "rr_snapshot": "agent.mask.testing",
    "rr_mutation": "agent.mask.testing",
    "rr_input": "agent.mask.testing",
    "el": "agent.mask.testing",
    "text": "agent.mask.testing",
    "TEST_HMAC_KEY": "agent.mask.testing",
}


def __getattr__(name: str) -> Any:
    mod = _STAGE_DOUBLES.get(name)
    if mod is None:
        raise AttributeError(f"module 'agent.testing' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(mod), name)
