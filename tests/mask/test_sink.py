"""MaskingSink: mask, then forward; durability is the inner sink's."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from agent.errors import JournalError
from agent.events import Event
from agent.mask.sink import MaskingSink
from agent.mask.testing import build_masker
from agent.testing import MemorySink, make_event


def test_masked_events_and_side_events_reach_the_inner_sink_in_order() -> None:
    """The inner sink sees masked payloads, each followed by its mask.failed events."""
    inner = MemorySink()
    sink = MaskingSink(inner, build_masker())
    events = [
        make_event("page.console", {"text": "ssn 078-05-1120"}),
        make_event("page.console", {"text": "\x01stm:tokenize:r\x02x"}),
        make_event("page.console", {"text": "ok"}),
    ]
    asyncio.run(sink.append_many(events))
    assert inner.kinds() == ["page.console", "page.console", "mask.failed", "page.console"]
    assert "078-05-1120" not in inner.events[0].payload["text"]
    assert inner.events[3].payload["text"] == "ok"


class _FailingSink:
    async def append_many(self, events: Sequence[Event]) -> None:
        raise JournalError("disk full")


def test_inner_failure_propagates() -> None:
    """If the journal cannot make events durable, the caller is told."""
    sink = MaskingSink(_FailingSink(), build_masker())
    with pytest.raises(JournalError):
        asyncio.run(sink.append_many([make_event("page.console", {"text": "x"})]))
