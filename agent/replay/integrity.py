"""The integrity badge of a replayed session, built from the verify report of its segments.

A session is ``failed`` when verification failed (a failing segment, a verify error or a
failing cross-segment check), else ``unsealed`` or ``recovered`` when any segment is, else
``verified``. Each segment also reports its RFC 3161 time labelled by how far it verified:
chain to a trusted root, signature only, not verified (the time the token claims) or none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.journal.reader import SegmentFile
from agent.replay.proofs import SegmentLeaves
from agent.seal.crypto import ChunkCipher
from agent.seal.verify import SegmentReport, VerifyReport


@dataclass
class OpenSegment:
    """A segment opened for replay: its file and cipher (None when unreadable) and report."""

    path: Path
    file: SegmentFile | None
    cipher: ChunkCipher | None
    report: SegmentReport
    leaves: SegmentLeaves | None = None


def _timestamp_times(s: OpenSegment) -> dict[str, str | None]:
    """The seal's RFC 3161 time labelled by how far it verified (``state``): ``chain``
    (verified to a trusted TSA root), ``signature`` (signature verified, chain not checked),
    ``failed`` (the time the token claims, not verified) or ``none``."""
    rep = s.report
    state = rep.tst_state or "none"
    tst: dict[str, str | None] = {
        "state": state,
        "verified_time": rep.tst_time if state == "chain" else None,
        "signature_time": rep.tst_time if state == "signature" else None,
        "claimed_time": None,
    }
    if state == "failed" and s.file is not None:
        seal = s.file.seal()
        if seal is not None and seal.tst:
            try:
                from agent.seal.timestamp import timestamp_info

                tst["claimed_time"] = timestamp_info(seal.tst).gen_time.isoformat()
            except Exception:  # a damaged token is reported by verify, not here
                tst["claimed_time"] = "unreadable token"
    tst["label"] = timestamp_label(tst)
    return tst


def timestamp_label(tst: dict[str, str | None]) -> str:
    """How the viewer and the report show a segment's RFC 3161 time (never an unverified
    time as verified)."""
    if tst["state"] == "chain":
        return f"RFC 3161 {tst['verified_time']} (verified to a trusted TSA root)"
    if tst["state"] == "signature":
        return f"RFC 3161 {tst['signature_time']} (signature only; TSA chain not checked)"
    if tst["state"] == "failed":
        claims = f" claims {tst['claimed_time']}" if tst["claimed_time"] else ""
        return f"RFC 3161 token{claims} (NOT verified)"
    return "no RFC 3161 timestamp"


def segment_integrity(s: OpenSegment) -> dict[str, Any]:
    """One segment's row of the badge: status, key, what verified, where it first failed."""
    rep = s.report
    ff = rep.first_failure
    return {
        "file": s.path.name,
        "segment_id": rep.segment_id,
        "index": rep.index,
        "status": rep.status,
        "passed": rep.passed,
        "key_id": rep.key_id,
        "chunks_verified": rep.chunks_verified,
        "events": rep.events,
        "seq_first": rep.seq_first,
        "seq_last_verified": rep.seq_last_verified,
        "rfc3161": _timestamp_times(s),
        "failed_check": ff.name if ff else None,
        "failure": f"{ff.detail}" + (f" ({ff.where})" if ff.where else "") if ff else None,
        "undecryptable": rep.undecryptable,  # why no key held here opens it ("" when one does)
    }


def _overall_status(report: VerifyReport, segs: list[dict[str, Any]]) -> str:
    statuses = {s["status"] for s in segs}
    if not report.ok and (
        "failed" in statuses or report.errors or any(c.ok is False for c in report.checks)
    ):
        # No key held here opens a segment, and nothing else failed: closed, not damaged.
        keys_only = not report.errors and all(c.ok is not False for c in report.checks)
        if keys_only and all(
            s["failed_check"] is None or (s["failed_check"] == "decrypt" and s["undecryptable"])
            for s in segs
        ):
            return "undecryptable"
        return "failed"
    if "unsealed" in statuses:
        return "unsealed"
    if "recovered" in statuses:
        return "recovered"
    return "verified"


def session_integrity(
    report: VerifyReport,
    open_segments: list[OpenSegment],
    withheld: list[dict[str, Any]],
    seq_range: tuple[int | None, int | None],
) -> dict[str, Any]:
    """The badge: overall status, failing check, key ids, segments, withheld chunks."""
    segs = [segment_integrity(s) for s in open_segments]
    ff_seg = next((s for s in segs if s["failed_check"]), None)
    cross = next((c for c in report.checks if c.ok is False), None)
    first, last = seq_range
    return {
        "status": _overall_status(report, segs),
        "ok": report.ok,
        "first_failure": report.first_failure,
        "failed_check": ff_seg["failed_check"] if ff_seg else (cross.name if cross else None),
        "key_ids": sorted({s["key_id"] for s in segs if s["key_id"]}),
        "segments": segs,
        "withheld": withheld,
        "verified_seq_first": first,
        "verified_seq_last": last,
        "checks": [c.as_dict() for c in report.checks],
    }
