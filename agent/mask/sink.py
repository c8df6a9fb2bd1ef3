"""``MaskingSink``: the mask stage as an ``EventSink`` wrapping the next stage's sink."""

from __future__ import annotations

from collections.abc import Sequence

from agent.events import Event
from agent.mask.masker import Masker
from agent.sink import EventSink


class MaskingSink:
    """Masks every event, then forwards the batch (with ``mask.failed`` events) to ``inner``.

    Returning means the inner sink made the masked batch durable (*None means durable*); if
    the inner sink raises, the exception propagates and nothing is reported written.
    """

    def __init__(self, inner: EventSink, masker: Masker) -> None:
        self.inner = inner
        self.masker = masker

    async def append_many(self, events: Sequence[Event]) -> None:
        """Mask ``events`` and append them to the inner sink."""
        await self.inner.append_many(self.masker.mask_events(events))
