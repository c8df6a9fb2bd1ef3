"""The ``[console.review]`` config table: the supervisory review policy (what is sampled, when
a review is due, which dispositions a reviewer may record)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from agent.configbase import Section


class ReviewConfig(Section):
    """Sampling policy, lexicon, due dates and dispositions of the supervisory review queue."""

    sample_percent: float = Field(5.0, ge=0, le=100)  # sessions sampled per trader per day
    timezone: str = "UTC"  # the zone whose calendar days "per day" and due dates count in
    lexicon_terms: list[str] = []  # words or phrases: every session holding one is queued
    lexicon_urls: list[str] = []  # URL words (as the search url: operator matches them)
    lexicon_applications: list[str] = []  # hosts of applications (host: operator, subdomains)
    lexicon_max_hits: int = Field(500, ge=1, le=100_000)  # hits read per lexicon search
    due_days: int = Field(5, ge=1, le=365)  # a queued session is due this many days after its day
    escalation_due_days: int = Field(3, ge=1, le=365)  # an escalation is due this many days after
    dispositions: list[str] = [
        "no issue",
        "issue - coached",
        "issue - reported to compliance",
        "false positive",
    ]
    note_optional: list[str] = ["no issue"]  # dispositions that may be recorded without a note
    sampling_key_file: str = ""  # "" = <home>/console/review-sampling.key (0600, made if absent)
    sample_at: str = "06:00"  # `console serve` samples the previous day at HH:MM local ("" = off)

    @field_validator("sample_at")
    @classmethod
    def _hh_mm(cls, v: str) -> str:
        if v and not _is_hh_mm(v):
            raise ValueError(f'sample_at {v!r}: give HH:MM (e.g. 06:00) or "" for off')
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @field_validator("dispositions")
    @classmethod
    def _some(cls, v: list[str]) -> list[str]:
        if not v or any(not d.strip() for d in v) or len(set(v)) != len(v):
            raise ValueError("dispositions must be distinct, non-empty names (at least one)")
        return v

    @model_validator(mode="after")
    def _optional_known(self) -> ReviewConfig:
        unknown = [d for d in self.note_optional if d not in self.dispositions]
        if unknown:
            raise ValueError(f"note_optional names {unknown}, not among dispositions")
        return self

    def sample_time(self) -> dt.time | None:
        """The daily sampling time (local in :meth:`zone`), or None when it is off."""
        return dt.time.fromisoformat(self.sample_at) if self.sample_at else None

    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def resolved_key_file(self, home: Path) -> Path:
        """The sampling key file."""
        if self.sampling_key_file:
            return Path(self.sampling_key_file).expanduser()
        return Path(home) / "console" / "review-sampling.key"


def _is_hh_mm(v: str) -> bool:
    hh, sep, mm = v.partition(":")
    return (
        bool(sep)
        and len(hh) == len(mm) == 2
        and (hh + mm).isdigit()
        and (int(hh) < 24 and int(mm) < 60)
    )
