"""What an ingest pass reports, and the checks that name why an object is not indexed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.console.ingest_state import percentile
from agent.errors import SessiontapeError


@dataclass
class IngestReport:
    """What one pass did."""

    listed: int = 0
    full: bool = False  # the whole vault was listed (else the sessions of the last day)
    new: int = 0
    indexed: int = 0
    skipped: int = 0
    deferred: int = 0
    backlog: int = 0
    anomalies: list[str] = field(default_factory=list)
    lags_ms: list[int] = field(default_factory=list)
    error: str = ""
    list_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error and not self.anomalies

    def as_dict(self) -> dict[str, Any]:
        return {
            "listed": self.listed,
            "full_listing": self.full,
            "new": self.new,
            "indexed": self.indexed,
            "skipped": self.skipped,
            "deferred": self.deferred,
            "backlog": self.backlog,
            "anomalies": self.anomalies,
            "lag_p50_ms": percentile(self.lags_ms, 0.5),
            "lag_p95_ms": percentile(self.lags_ms, 0.95),
            "error": self.error,
            "list_seconds": round(self.list_seconds, 3),
            "seconds": round(self.seconds, 3),
            "ok": self.ok,
        }


def classify(detail: str) -> str:
    """Why a segment was not indexed, in the words an officer reads, from a failed check."""
    if detail.startswith("format:"):
        return "malformed"
    if re.search(r"untrusted key \S", detail):
        return "signed by an unknown key"
    if detail.startswith("decrypt:"):
        return "not decryptable with the firm key"
    if detail.startswith("continuity:"):
        return "out of sequence"
    return "tampered"


def misnamed(path: Path, key: str) -> str | None:
    """Why the object at ``key`` (fetched to ``path``) is not the segment its key names, or
    ``None``: a copy of a genuine segment under another key would otherwise pass for it."""
    from agent.journal.store import segment_info

    try:
        info = segment_info(path)
    except (SessiontapeError, OSError):
        return None  # unreadable: the verification names it (malformed)
    _, sid, name = key.split("/")
    want = f"{info.index:06d}-{info.segment_id}.stj"
    if name != want or info.session_id != sid:
        return (
            f"tampered: the object holds segment {info.index} ({info.segment_id}) of session "
            f"{info.session_id}, not the segment its key names"
        )
    return None
