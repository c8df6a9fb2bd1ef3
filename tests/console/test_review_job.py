"""The daily review sampling's schedule: the next run at ``sample_at`` local time in the
review time zone, sampling the day before it; off when ``sample_at`` is empty."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from pydantic import ValidationError

from agent.clock import dt_to_ns
from agent.console.review_config import ReviewConfig
from agent.console.review_job import next_run

NY = "America/New_York"


def _ns(y: int, mo: int, d: int, h: int, mi: int, zone: str) -> int:
    return dt_to_ns(dt.datetime(y, mo, d, h, mi, tzinfo=zoneinfo.ZoneInfo(zone)))


def test_before_the_time_runs_today_for_yesterday() -> None:
    cfg = ReviewConfig(timezone=NY, sample_at="06:00")
    got = next_run(_ns(2026, 11, 26, 5, 59, NY), cfg)
    assert got == (_ns(2026, 11, 26, 6, 0, NY), dt.date(2026, 11, 25))


def test_at_or_after_the_time_runs_tomorrow_for_today() -> None:
    cfg = ReviewConfig(timezone=NY, sample_at="06:00")
    got = next_run(_ns(2026, 11, 26, 6, 0, NY), cfg)
    assert got == (_ns(2026, 11, 27, 6, 0, NY), dt.date(2026, 11, 26))


def test_an_empty_time_turns_the_job_off_and_a_bad_one_is_refused() -> None:
    assert next_run(_ns(2026, 11, 26, 5, 0, "UTC"), ReviewConfig(sample_at="")) is None
    for bad in ("6:00", "24:00", "06:60", "0600"):
        with pytest.raises(ValidationError, match="sample_at"):
            ReviewConfig(sample_at=bad)
