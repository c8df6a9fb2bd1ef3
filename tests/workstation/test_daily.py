"""The working day: the service seals the day's session at ``agent.rotate_at`` and goes on in
a new session linked to it, with the trader's browser open throughout (real Chromium on Xvfb,
real keyboard input); and the pieces that decide when."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.errors import ConfigError
from agent.workstation.daily import local_zone, rotation_loop
from tests.waiting import wait_until
from tests.workstation.desktop import Desktop, LoginSite, find, records, start_agent, verify


def _sessions_announced(out: str) -> list[str]:
    prefix = "sessiontape agent: recording session "
    return [ln[len(prefix) :] for ln in out.splitlines() if ln.startswith(prefix)]


@pytest.mark.browser
def test_rotation_at_the_configured_time_keeps_the_browser_and_loses_nothing(
    tmp_path: Path, display: str, site: LoginSite
) -> None:
    home = tmp_path / "home"
    at = (datetime.now(UTC) + timedelta(seconds=12)).strftime("%H:%M:%S")
    env = {
        "TZ": "UTC",
        "SESSIONTAPE_AGENT_START_PAGES": json.dumps([site.base + "/login"]),
        "SESSIONTAPE_AGENT_ROTATE_AT": at,
    }
    desk = Desktop(display)
    agent = start_agent(home, display, tmp_path, env=env)
    try:
        first = agent.session()
        a, b = wait_until(
            lambda: (s := _sessions_announced(agent.out()))[1:] and s,
            what=f"the rotation at {at} UTC",
            timeout_s=90,
        )
        assert a == first
        desk.type_url(site.base + "/after-rotation")  # the same browser, still recording
        wait_until(
            lambda: find(home, b, "page.navigate", url=site.base + "/after-rotation"),
            what="the typed URL in the new session",
        )
    finally:
        code = agent.stop()
    assert code == 0, agent.err()
    assert "verified" in agent.out()

    (end_a,) = find(home, a, "session.end")
    assert end_a.payload == {"reason": "rotation", "next_session": b}
    (start_b,) = find(home, b, "session.start")
    assert start_b.payload["previous_session"]["session_id"] == a
    assert start_b.payload["previous_session"]["reason"] == "rotation"
    assert find(home, b, "rrweb.full_snapshot"), "the new session replays on its own"
    assert not find(home, b, "capture.gap"), "nothing was lost at the rotation"
    recs_a, recs_b = records(home, a), records(home, b)
    assert recs_a[-1].kind == "session.end"
    assert recs_b[0].kind == "session.start"
    # Adjacent: the new session starts where the old one ended, nothing in between.
    assert recs_a[-1].t_utc_ns <= recs_b[0].t_utc_ns
    for sid in (a, b):
        report = verify(home, sid)
        assert report.ok, report.first_failure


def test_rotation_loop_rotates_once_per_day_at_the_local_time() -> None:
    zone = ZoneInfo("America/New_York")
    times = iter(
        [
            datetime(2026, 12, 6, 23, 59, 59, 990000, tzinfo=zone),  # plans today's midnight
            datetime(2026, 12, 7, 0, 0, 0, 1000, tzinfo=zone),  # woke: it is time
            datetime(2026, 12, 7, 0, 0, 0, 2000, tzinfo=zone),  # plans tomorrow's
        ]
    )
    planned: list[datetime] = []

    def now(_z: object) -> datetime:
        try:
            t = next(times)
        except StopIteration:
            raise asyncio.CancelledError from None
        planned.append(t)
        return t

    rotated: list[datetime] = []

    async def rotate() -> None:
        rotated.append(planned[-1])

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(rotation_loop("00:00", rotate, zone=zone, now=now))
    assert rotated == [datetime(2026, 12, 7, 0, 0, 0, 1000, tzinfo=zone)]


def test_no_rotate_at_means_no_daily_rotation() -> None:
    async def rotate() -> None:
        raise AssertionError("rotated")

    asyncio.run(rotation_loop("", rotate, zone=UTC))


def test_local_zone_from_tz_and_an_unknown_tz_is_an_error(tmp_path: Path) -> None:
    assert local_zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        local_zone("Mars/Olympus")
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Asia/Tokyo")
    assert local_zone("", link) == ZoneInfo("Asia/Tokyo")
