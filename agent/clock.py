"""Clocks are injected so tests never sleep or read the wall clock directly."""

from __future__ import annotations

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
    import datetime as _dt

    dt = _dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=_dt.UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{(ns % 1_000_000_000) // 1000:06d}Z"
