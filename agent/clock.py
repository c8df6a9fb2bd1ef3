"""Clocks are injected so tests never sleep or read the wall clock directly."""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    """A source of wall-clock UTC and monotonic nanoseconds."""

    def utc_ns(self) -> int: ...

    def mono_ns(self) -> int: ...


class SystemClock:
    """The real clocks: ``time.time_ns`` (UTC) and ``time.monotonic_ns``."""

    def utc_ns(self) -> int:
        return time.time_ns()

    def mono_ns(self) -> int:
        return time.monotonic_ns()


def utc_iso(ns: int) -> str:
    """Render UTC nanoseconds as ISO 8601 with microseconds and a Z suffix."""
    t = dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{(ns % 1_000_000_000) // 1000:06d}Z"


def utc_seconds(t: dt.datetime) -> dt.datetime:
    """``t`` as aware UTC truncated to whole seconds (the precision S3 keeps)."""
    if t.tzinfo is None:
        raise ValueError("retention instants must be timezone-aware")
    return t.astimezone(dt.UTC).replace(microsecond=0)


def iso_seconds(t: dt.datetime) -> str:
    """``2026-01-01T00:00:00Z``: UTC, whole seconds, Z suffix (retain-until, receipts)."""
    return utc_seconds(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso_seconds(s: str) -> dt.datetime:
    """Inverse of :func:`iso_seconds` (accepts ``Z`` or an explicit offset)."""
    return utc_seconds(dt.datetime.fromisoformat(s.replace("Z", "+00:00")))


def ns_to_dt(ns: int) -> dt.datetime:
    """UTC nanoseconds → aware ``datetime`` (whole seconds)."""
    return dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=dt.UTC)


def dt_to_ns(t: dt.datetime) -> int:
    """Aware ``datetime`` → UTC nanoseconds."""
    return int(t.timestamp()) * 1_000_000_000
