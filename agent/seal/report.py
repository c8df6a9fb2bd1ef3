"""What verification reports: one :class:`Check` per named check, per segment and overall.

A :class:`SegmentReport` holds a segment's checks in the order they ran and its status
(``verified``, ``recovered``, ``unsealed`` or ``failed``); a :class:`VerifyReport` gathers
segments, the cross-segment checks and inputs that could not be read. ``as_dict`` is the JSON
that ``sessiontape verify --json`` prints; ``first_failure`` is the one line a human reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Check:
    """One named check's outcome (``ok`` None = not applicable / not checked)."""

    name: str
    ok: bool | None
    detail: str = ""
    where: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The check as JSON."""
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "where": self.where}


@dataclass
class SegmentReport:
    """Verification of one segment."""

    path: str
    segment_id: str = ""
    session_id: str = ""
    index: int = -1
    status: str = "failed"
    checks: list[Check] = field(default_factory=list)
    chunks_verified: int = 0
    seq_first: int | None = None
    seq_last_verified: int | None = None
    events: int = 0
    key_id: str = ""
    seal_hash: str = ""
    prev_seal_hash: str = ""
    seq_first_genesis: int = 0
    seal_seq_last: int | None = None
    seal_reason: str = ""
    tst_time: str = ""
    """The token's genTime once its signature verified (chain-checked or not: ``tst_state``)."""
    tst_state: str = ""
    """RFC 3161 state: ``chain`` (verified to a trusted root), ``signature`` (signature
    verified, chain not checked), ``failed``, ``none`` (no token); "" when unsealed."""
    agent_id: str = ""
    agent_counter: int = -1
    created_utc_ns: int = 0
    bytes: int = 0
    undecryptable: str = ""
    """Why ``--decrypt`` could not have the data key here (a key problem, not damage)."""
    previous_session: dict[str, str] | None = None
    """The genesis link to the session this one follows (``session_id``, ``seal_hash``,
    ``reason``), or None (genesis before version 3, or an unlinked session)."""

    def fail(self, name: str, detail: str, where: str = "") -> None:
        """Record that check ``name`` failed at ``where``."""
        self.checks.append(Check(name, False, detail, where))

    def ok(self, name: str, detail: str = "") -> None:
        """Record that check ``name`` passed."""
        self.checks.append(Check(name, True, detail))

    @property
    def first_failure(self) -> Check | None:
        """The first check that failed, if any."""
        return next((c for c in self.checks if c.ok is False), None)

    @property
    def passed(self) -> bool:
        """No check failed and the segment is sealed (``verified`` or ``recovered``)."""
        return self.first_failure is None and self.status in ("verified", "recovered")

    def as_dict(self) -> dict[str, Any]:
        """The segment's report as JSON."""
        ff = self.first_failure
        return {
            "path": self.path,
            "segment_id": self.segment_id,
            "session_id": self.session_id,
            "index": self.index,
            "status": self.status,
            "passed": self.passed,
            "chunks_verified": self.chunks_verified,
            "events": self.events,
            "seq_first": self.seq_first,
            "seq_last_verified": self.seq_last_verified,
            "key_id": self.key_id,
            "seal_hash": self.seal_hash,
            "seal_reason": self.seal_reason,
            "previous_session": self.previous_session,
            "tst_time": self.tst_time,
            "tst_state": self.tst_state,
            "bytes": self.bytes,
            "first_failure": ff.as_dict() if ff else None,
            "checks": [c.as_dict() for c in self.checks],
        }


@dataclass
class VerifyReport:
    """Verification of everything asked for."""

    segments: list[SegmentReport] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)  # cross-segment checks
    errors: list[str] = field(default_factory=list)  # inputs that could not be read at all

    @property
    def ok(self) -> bool:
        """Every input read, every segment passed and no cross-segment check failed."""
        return (
            not self.errors
            and bool(self.segments)
            and all(s.passed for s in self.segments)
            and all(c.ok is not False for c in self.checks)
        )

    @property
    def first_failure(self) -> str | None:
        """One line naming the first problem (unread input, failed check, unsealed segment)."""
        if self.errors:
            return self.errors[0]
        for s in self.segments:
            ff = s.first_failure
            if ff:
                return f"{s.path}: {ff.name}: {ff.detail}" + (f" ({ff.where})" if ff.where else "")
            if s.status == "unsealed":
                return (
                    f"{s.path}: seal: segment is unsealed; verified {s.chunks_verified} "
                    f"chunks up to seq {s.seq_last_verified}"
                )
        for c in self.checks:
            if c.ok is False:
                return f"{c.name}: {c.detail}" + (f" ({c.where})" if c.where else "")
        if not self.segments:
            return "no segments found"
        return None

    def as_dict(self) -> dict[str, Any]:
        """The whole report as JSON."""
        return {
            "ok": self.ok,
            "first_failure": self.first_failure,
            "errors": self.errors,
            "checks": [c.as_dict() for c in self.checks],
            "segments": [s.as_dict() for s in self.segments],
        }
