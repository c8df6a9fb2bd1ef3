"""The small interface where stages meet: something events are appended to.

``await sink.append_many(events)`` returns only once every event is durable (or raises):
*None means durable*. Capture writes to a sink; mask is a sink that wraps the journal's sink.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from agent.events import Event


class EventSink(Protocol):
    """Append events; returning means durable."""

    async def append_many(self, events: Sequence[Event]) -> None: ...
