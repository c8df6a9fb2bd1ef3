"""Fuzzing the recorder's binding messages through the real channel, masker and journal.

A binding payload (any string: not JSON, JSON of any shape, or a protocol-shaped batch with
any kinds, times and payloads) is handed to :class:`agent.capture.recorders.RecorderChannel`
as ``Runtime.bindingCalled``; its events are flushed through the shipped masking rules into
a real journal. The property: nothing raises, the journal accepts every batch (the emitter
records no sink failure), and a payload that is not a protocol message is journaled as
``capture.tamper`` (never dropped silently).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.capture.assets import AssetStore
from agent.capture.cause import CauseLinker
from agent.capture.config import CaptureConfig
from agent.capture.context import CaptureContext, Commands
from agent.capture.emitter import Emitter
from agent.capture.health import Health
from agent.capture.recorder_messages import RECORDER_KINDS, BadMessage, parse_message
from agent.capture.recorders import RecorderChannel
from agent.capture.state import Target, TargetRegistry
from agent.capture.tasks import TaskSpawner
from agent.events import Event
from agent.journal.journal import Journal
from agent.mask.sink import MaskingSink
from agent.mask.testing import build_masker
from agent.testing import FakeClock
from tests.fuzz.profiles import budget
from tests.fuzz.segments import JSON_VALUES, json_bytes
from tests.journals import open_journal

BINDING = "__st_fuzz"


class JournalAppender:
    """The journal as an event sink, appending in the caller's thread."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.kinds: list[str] = []

    async def append_many(self, events: Sequence[Event]) -> None:
        self.journal.append_many(events)
        self.kinds.extend(e.kind for e in events)


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JournalAppender]:
    j = open_journal(tmp_path_factory.mktemp("fuzz-rec") / "home", clock=FakeClock())
    yield JournalAppender(j)
    j.close()


async def _deliver(appender: JournalAppender, raw: str, root: Path) -> Emitter:
    """One binding call through a fresh channel; the emitter after its flush."""
    clock = FakeClock()
    emitter = Emitter(MaskingSink(appender, build_masker()), clock)
    ctx = CaptureContext(
        cdp=cast(Commands, None),  # used only for screenshots and re-injection: both off
        cfg=CaptureConfig(),
        emitter=emitter,
        clock=clock,
        targets=TargetRegistry(),
        tasks=TaskSpawner(),
        causes=CauseLinker(500),
        assets=AssetStore(root),
        binding=BINDING,
        source="",
        downloads_dir=root,
    )
    target = Target("S1", "T1", "page", "P1")
    channel = RecorderChannel(ctx, Health(ctx))
    channel.handlers()["Runtime.bindingCalled"](
        {"name": BINDING, "executionContextId": 1, "payload": raw}, target
    )
    await emitter.flush()
    return emitter


def check_message(appender: JournalAppender, raw: str, root: Path) -> None:
    """The property for one payload."""
    before = len(appender.kinds)
    emitter = asyncio.run(_deliver(appender, raw, root))
    assert emitter.sink_error is None, repr(emitter.sink_error)
    written = appender.kinds[before:]
    try:
        parse_message(raw)
    except BadMessage:
        assert written == ["capture.tamper"]


_kinds = st.sampled_from(sorted(RECORDER_KINDS)) | st.sampled_from(["page.navigate", "", "x"])
_times = st.one_of(
    st.integers(1, 2**64 - 1),
    st.sampled_from([1, 1_700_000_000_000, 2**63 // 1_000_000, 2**63 - 1, 2**64 - 1]),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=4),
)
_rrweb_payloads = st.fixed_dictionaries(
    {"type": st.integers(0, 7) | JSON_VALUES},
    optional={
        "data": st.fixed_dictionaries(
            {"source": st.integers(0, 16) | JSON_VALUES},
            optional={
                "type": st.integers(0, 10) | JSON_VALUES,
                "text": JSON_VALUES,
                "id": JSON_VALUES,
                "node": JSON_VALUES,
                "adds": JSON_VALUES,
                "attributes": JSON_VALUES,
                "texts": JSON_VALUES,
            },
        )
        | JSON_VALUES,
        "timestamp": JSON_VALUES,
    },
)
_payloads = (
    _rrweb_payloads
    | JSON_VALUES
    | st.dictionaries(
        st.sampled_from(["key", "value", "selector", "url", "text", "name", "type"]), JSON_VALUES
    )
)
_entries = st.one_of(
    st.fixed_dictionaries({"k": _kinds, "t": _times, "p": _payloads}),
    st.fixed_dictionaries({"k": _kinds, "t": _times, "p": _payloads}),
    JSON_VALUES,
)
BATCHES = st.fixed_dictionaries(
    {
        # Mostly a valid envelope, so that the entries inside are exercised.
        "v": st.one_of(st.just(1), st.just(1), st.just(1), JSON_VALUES),
        "n": st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 9), JSON_VALUES),
        "events": st.one_of(
            st.lists(_entries, max_size=4), st.lists(_entries, max_size=4), JSON_VALUES
        ),
    }
).map(lambda m: json_bytes(m).decode("utf-8", "surrogatepass"))
ANY_TEXT = st.text(alphabet=st.characters(), max_size=200)


@budget(100)
@given(BATCHES)
def test_protocol_shaped_batches_become_events_or_tamper_records(
    journal: JournalAppender, tmp_path_factory: pytest.TempPathFactory, raw: str
) -> None:
    """Batches with any kinds, times and payloads: journaled events, never a crash."""
    check_message(journal, raw, tmp_path_factory.getbasetemp())


@budget(100)
@given(ANY_TEXT | JSON_VALUES.map(lambda v: json.dumps(v)))
def test_any_payload_string_is_journaled_or_recorded_as_tamper(
    journal: JournalAppender, tmp_path_factory: pytest.TempPathFactory, raw: str
) -> None:
    """Any string (surrogates included) or JSON document: events or capture.tamper."""
    check_message(journal, raw, tmp_path_factory.getbasetemp())


def _entry(**entry: Any) -> str:
    return json.dumps({"v": 1, "n": 0, "events": [entry]})


@pytest.mark.parametrize(
    "raw",
    [
        _entry(k="rrweb.meta", t=2**64 - 1, p={"type": 4}),
        _entry(k="input.key", t=10**17, p={"key": "Enter"}),
    ],
)
def test_regression_times_beyond_64_bit_nanoseconds(
    journal: JournalAppender, tmp_path_factory: pytest.TempPathFactory, raw: str
) -> None:
    """A time in ms whose nanoseconds do not fit 64 bits is rejected as tamper, and the
    journal keeps accepting the batch."""
    check_message(journal, raw, tmp_path_factory.getbasetemp())
    assert journal.kinds[-1] == "capture.tamper"
