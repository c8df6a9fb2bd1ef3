"""Gaps are events: a silent recorder, a renderer crash and a killed browser each produce a
``capture.gap`` with start and end, and recording continues afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import pytest

from tests.capture.servers import of_kind, recording, sites, wait_for

pytestmark = pytest.mark.browser


def test_paused_page_recorder_silence_is_a_gap_with_start_and_end(tmp_path: Path) -> None:
    """Debugger.pause stops the recorder; after gap_silence_ms a gap opens; the first
    message after resume closes it with start <= end."""

    async def main() -> None:
        async with (
            sites() as s,
            recording(tmp_path, s.a + "/plain.html", gap_silence_ms=1500) as (cs, sink),
        ):
            await wait_for(lambda: of_kind(sink, "capture.heartbeat"))
            await cs.page.send("Debugger.enable")
            await cs.page.send("Debugger.pause")
            paused_at = cs.clock.utc_ns()
            assert cs.engine is not None
            health = cs.engine.health
            await wait_for(lambda: health.open_causes() == ["recorder_silent"], timeout=10)
            assert not of_kind(sink, "capture.gap")  # still open: its end is unknown yet
            await cs.page.send("Debugger.resume")
            gap = await wait_for(lambda: of_kind(sink, "capture.gap"))
            p = gap[0].payload
            assert p["cause"] == "recorder_silent"
            assert paused_at - 1_200_000_000 <= p["start"] <= paused_at + 1_200_000_000
            # a silence gap opens only after gap_silence_ms without a message: the recorded
            # outage is at least that long
            assert p["end"] - p["start"] >= 1_500_000_000
            assert gap[0].page == of_kind(sink, "page.created")[0].page
            n = len(of_kind(sink, "capture.heartbeat"))
            await wait_for(lambda: len(of_kind(sink, "capture.heartbeat")) > n, timeout=5)

    asyncio.run(main())


def test_renderer_crash_records_page_crash_and_gap_then_recording_continues(tmp_path: Path) -> None:
    """Page.crash -> page.crash + capture.gap(renderer_crash); the page is reloaded and its
    new document is recorded."""

    async def main() -> None:
        async with sites() as s, recording(tmp_path, s.a + "/plain.html") as (cs, sink):
            await wait_for(lambda: of_kind(sink, "rrweb.full_snapshot"))
            with contextlib.suppress(Exception):
                await asyncio.wait_for(cs.page.send("Page.crash"), 2)
            crash = await wait_for(lambda: of_kind(sink, "page.crash"))
            gap = await wait_for(lambda: of_kind(sink, "capture.gap"), timeout=15)
            assert gap[0].payload["cause"] == "renderer_crash"
            assert gap[0].payload["start"] <= crash[0].t_utc_ns <= gap[0].payload["end"]
            snaps = await wait_for(
                lambda: [
                    e
                    for e in of_kind(sink, "rrweb.full_snapshot")
                    if e.t_utc_ns > crash[0].t_utc_ns
                ]
            )
            assert snaps[0].page == crash[0].page

    asyncio.run(main())


def test_killed_browser_is_a_gap_and_capture_relaunches(tmp_path: Path) -> None:
    """SIGKILL of the Chromium process -> capture.gap(browser_exited) and a new browser
    records the URL again."""

    async def main() -> None:
        async with sites() as s, recording(tmp_path, s.a + "/plain.html") as (cs, sink):
            await wait_for(lambda: of_kind(sink, "rrweb.full_snapshot"))
            assert cs.engine is not None
            info = await cs.engine.conn.send("SystemInfo.getProcessInfo")
            pid = next(p["id"] for p in info["processInfo"] if p["type"] == "browser")
            killed_at = cs.clock.utc_ns()
            os.kill(pid, signal.SIGKILL)
            gap = await wait_for(lambda: of_kind(sink, "capture.gap"), timeout=30)
            p = gap[0].payload
            assert p["cause"] == "browser_exited" and p["relaunched"] is True
            assert p["start"] <= killed_at <= p["end"]
            await wait_for(
                lambda: [
                    e
                    for e in of_kind(sink, "rrweb.full_snapshot")
                    if e.t_utc_ns > p["end"] - 1_000_000_000 and e.t_utc_ns > killed_at
                ],
                timeout=15,
            )
            assert cs.relaunches == 1
            await cs.page.click("#b")  # the new first tab is drivable
            await wait_for(
                lambda: [e for e in of_kind(sink, "rrweb.mutation") if "changed" in str(e.payload)]
            )

    asyncio.run(main())


def test_recorder_broken_in_its_world_is_a_gap_and_a_fresh_recorder_takes_over(
    tmp_path: Path,
) -> None:
    """A recorder that cannot send although its page runs (here: Array.prototype.push broken
    in its world) is a gap (recorder_silent); restart is tried, then a fresh recorder in a
    new world captures later changes."""

    async def main() -> None:
        async with (
            sites() as s,
            recording(tmp_path, s.a + "/plain.html", gap_silence_ms=1500) as (cs, sink),
        ):
            await wait_for(lambda: of_kind(sink, "capture.heartbeat"))
            engine = cs.engine
            assert engine is not None
            t = next(t for t in engine.targets.values() if t.is_page)
            ctx = t.world_context(t.main_frame_id or "")
            await engine.conn.send(
                "Runtime.evaluate",
                {
                    "expression": "Array.prototype.push = () => { throw new Error('no'); }",
                    "contextId": ctx,
                },
                t.session_id,
            )
            broken_at = cs.clock.utc_ns()
            gap = await wait_for(lambda: of_kind(sink, "capture.gap"), timeout=15)
            p = gap[0].payload
            assert p["cause"] == "recorder_silent"
            assert broken_at - 1_200_000_000 <= p["start"] <= broken_at < p["end"]
            assert [e.payload["how"] for e in of_kind(sink, "capture.injected")] == [
                "restart",
                "new_world",
            ]
            await cs.page.click("#b")
            await wait_for(
                lambda: [e for e in of_kind(sink, "rrweb.mutation") if "changed" in str(e.payload)]
            )

    asyncio.run(main())
