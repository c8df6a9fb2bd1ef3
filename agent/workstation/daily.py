"""The working day: when the workstation service seals the day's session and starts the next.

:func:`local_zone` is the workstation's time zone with its daylight-saving rules (``$TZ``,
else the zone ``/etc/localtime`` points at); :func:`wait_until_wall` sleeps until a wall-clock
moment in short steps, so a clock change or a suspended laptop does not make the agent sleep
past it; :func:`rotation_loop` rotates the recording at ``agent.rotate_at`` every day.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog

from agent.errors import ConfigError
from agent.journal.rotation import next_rotation

log = structlog.get_logger("sessiontape.workstation")
STEP_S = 30.0  # the longest single sleep: a wall-clock change is noticed within this


def local_zone(tz_env: str | None = None, localtime: Path = Path("/etc/localtime")) -> tzinfo:
    """The local zone with its rules: ``$TZ`` (an IANA name), else ``/etc/localtime``'s
    target, else UTC when neither names a zone (a machine with no zone configured runs UTC).

    A ``$TZ`` that names no known zone is an error, never silently UTC.
    """
    name = os.environ.get("TZ") if tz_env is None else tz_env
    if name:
        try:
            return ZoneInfo(name.removeprefix(":"))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"TZ={name!r} names no known time zone") from None
    try:
        target = str(localtime.resolve())
    except OSError:
        return UTC
    marker = "/zoneinfo/"
    if marker in target:
        try:
            return ZoneInfo(target.split(marker, 1)[1])
        except (ZoneInfoNotFoundError, ValueError):
            return UTC
    return UTC


async def wait_until_wall(when: datetime, now: Callable[[], datetime]) -> None:
    """Return once ``now()`` is at or after ``when`` (checked at least every ``STEP_S``)."""
    while True:
        left = (when - now()).total_seconds()
        if left <= 0:
            return
        await asyncio.sleep(min(left, STEP_S))


async def rotation_loop(
    at: str,
    rotate: Callable[[], Awaitable[None]],
    *,
    zone: tzinfo | None = None,
    now: Callable[[tzinfo], datetime] | None = None,
) -> None:
    """Every day at local time ``at`` (``agent.rotate_at``), ``await rotate()``; returns at
    once when ``at`` is ``""`` (no daily rotation). A failed rotation is logged; the next day's
    is still attempted."""
    z = zone or local_zone()
    clock = now or (lambda tz: datetime.now(tz))
    while True:
        when = next_rotation(clock(z), at)
        if when is None:
            return
        log.info("workstation.next_rotation", at=when.isoformat())
        await wait_until_wall(when, lambda: clock(z))
        try:
            await rotate()
        except Exception:
            log.exception("workstation.rotation_failed")
