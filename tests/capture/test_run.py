"""run_capture: records a URL into a sink until the duration ends, and says why it stopped."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from agent.capture.run import run_capture
from agent.errors import JournalError
from agent.events import Event
from agent.testing import MemorySink
from tests.capture.servers import capture_config, sites

pytestmark = pytest.mark.browser


def test_run_capture_stops_after_duration_with_everything_durable(tmp_path: Path) -> None:
    """--duration: the summary counts exactly what reached the sink, reason 'duration'."""

    async def main() -> None:
        sink = MemorySink()
        async with sites() as s:
            summary = await run_capture(
                s.a + "/plain.html", capture_config(), tmp_path, sink, headless=True, duration=2.0
            )
        assert summary.reason == "duration"
        assert summary.events == len(sink.events)
        assert summary.kinds["rrweb.full_snapshot"] >= 1
        assert summary.kinds["page.closed"] == 1
        assert summary.ended_utc_ns - summary.started_utc_ns >= 2_000_000_000
        assert "capture.gap" not in summary.kinds

    asyncio.run(main())


def test_a_page_that_loads_counts_as_loaded_without_load_failures(tmp_path: Path) -> None:
    """A reachable page: one loaded main-frame document, no ``page.load_failed``."""

    async def main() -> None:
        sink = MemorySink()
        async with sites() as s:
            summary = await run_capture(
                s.a + "/plain.html", capture_config(), tmp_path, sink, headless=True, duration=1.0
            )
        assert summary.loaded >= 1
        assert summary.load_errors == []
        assert "page.load_failed" not in summary.kinds

    asyncio.run(main())


class _RefusesLoads(MemorySink):
    """Refuses (as a full disk would) every batch that holds a main-frame navigation."""

    async def append_many(self, events: Sequence[Event]) -> None:
        if any(e.kind == "page.navigate" for e in events):
            raise JournalError("no space left on device (injected)")
        await super().append_many(events)


def test_a_page_whose_load_was_not_written_still_counts_as_loaded(tmp_path: Path) -> None:
    """The page loaded while its events could not be written: it counts as loaded (``record``
    must not say nothing was loaded); the events count only what was written, and the loss is
    the gap."""

    async def main() -> None:
        sink = _RefusesLoads()
        async with sites() as s:
            summary = await run_capture(
                s.a + "/plain.html", capture_config(), tmp_path, sink, headless=True, duration=1.0
            )
        assert summary.loaded == 1
        assert "page.navigate" not in summary.kinds
        assert summary.events == len(sink.events)
        gaps = [e.payload for e in sink.events if e.kind == "capture.gap"]
        assert gaps and {g["cause"] for g in gaps} == {"sink_failed"}  # about:blank's too

    asyncio.run(main())


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://127.0.0.1:1/", "net::ERR_UNSAFE_PORT"),
        ("http://no-such-host.invalid/", "net::ERR_NAME_NOT_RESOLVED"),
    ],
)
def test_unreachable_url_is_a_load_failure_not_a_crash(
    tmp_path: Path, url: str, error: str
) -> None:
    """A navigation that fails: ``page.load_failed`` with the URL and net error; no
    ``page.crash`` and no ``renderer_crash`` gap; nothing counted as loaded."""

    async def main() -> None:
        sink = MemorySink()
        summary = await run_capture(
            url, capture_config(), tmp_path, sink, headless=True, duration=2.0
        )
        failed = [e.payload for e in sink.events if e.kind == "page.load_failed"]
        assert failed and failed[0] == {"url": url, "error": error}
        assert summary.load_errors[0] == error
        assert summary.loaded == 0
        assert "page.crash" not in summary.kinds
        assert "capture.gap" not in summary.kinds

    asyncio.run(main())
