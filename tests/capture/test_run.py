"""run_capture: records a URL into a sink until the duration ends, and says why it stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.capture.run import run_capture
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
