"""``--speed``: how long a re-drive waits before each step.

``asap`` (the default) goes on as soon as the step before has settled. ``recorded`` keeps the
person's pace: before a step it waits the recorded gap since the step before, minus the time
the re-drive already spent on that step (acting, waiting for its requests, settling), never
less than nothing.
"""

from __future__ import annotations

from agent.errors import UsageError

SPEEDS = ("asap", "recorded")


def check_speed(speed: str) -> str:
    """``speed`` when it is one of :data:`SPEEDS` (``UsageError`` otherwise)."""
    if speed not in SPEEDS:
        raise UsageError(f"--speed {speed!r}: expected one of {', '.join(SPEEDS)}")
    return speed


def pause_s(speed: str, prev_t_ns: int | None, t_ns: int, took_s: float) -> float:
    """Seconds to wait before a step recorded at ``t_ns`` when the step before was recorded
    at ``prev_t_ns`` and its re-drive took ``took_s``."""
    if speed != "recorded" or prev_t_ns is None:
        return 0.0
    gap_s = max(0, t_ns - prev_t_ns) / 1e9
    return max(0.0, gap_s - took_s)
