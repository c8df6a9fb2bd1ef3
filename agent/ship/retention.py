"""Retention periods (``"6y"``, ``"3y"``, ``"400d"``) and the class a segment is kept under.

Years are calendar years (17a-4 speaks of years): 2026-02-28 + 6y = 2032-02-28; a 29 February
start ends on 28 February. Which class a session gets is decided while it records
(:mod:`agent.ship.classify`) and sealed; here a segment's class is read back and compared, the
*longest* retention winning, so a session touching both an orders app and chat is kept as long
as the stricter rule says.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Protocol

_SPEC = re.compile(r"^\s*(\d+)\s*([yd])\s*$")


def parse_retention(spec: str, *, what: str = "retention") -> tuple[int, int]:
    """``"6y"`` → (6, 0); ``"90d"`` → (0, 90); anything else is a ``ValueError``."""
    m = _SPEC.match(spec)
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"{what}: {spec!r} is not a retention period like '6y' or '400d'")
    n = int(m.group(1))
    return (n, 0) if m.group(2) == "y" else (0, n)


def retention_days(spec: str) -> int:
    """A lower bound in days, for comparing periods (a year counts 365 days)."""
    years, days = parse_retention(spec)
    return years * 365 + days


def add_retention(t: dt.datetime, spec: str) -> dt.datetime:
    """``t`` + the period (calendar years, then days)."""
    years, days = parse_retention(spec)
    if years:
        try:
            t = t.replace(year=t.year + years)
        except ValueError:  # 29 February into a non-leap year
            t = t.replace(year=t.year + years, day=28)
    return t + dt.timedelta(days=days)


class _Segment(Protocol):
    @property
    def retention_class(self) -> str: ...

    @property
    def record_class(self) -> str | None: ...


class _Policy(Protocol):
    @property
    def retention_classes(self) -> dict[str, str]: ...


def longest_class(classes: Mapping[str, str], names: Iterable[str]) -> str:
    """The configured class with the longest retention among ``names`` (unknown ones skipped;
    ``default`` when none is known)."""
    known = sorted({n for n in names if n in classes} or {"default"})
    return max(known, key=lambda c: retention_days(classes[c]))


def segment_class(cfg: _Policy, seg: _Segment) -> str:
    """The class a segment's seal records; for a seal without one, the genesis' explicit
    class; a class no longer configured falls back to ``default``."""
    name = seg.retention_class or seg.record_class or "default"
    return name if name in cfg.retention_classes else "default"
