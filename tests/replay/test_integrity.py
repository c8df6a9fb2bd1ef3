"""The integrity badge: overall status by precedence, first failing check, key ids."""

from __future__ import annotations

from pathlib import Path

from agent.replay.integrity import OpenSegment, session_integrity
from agent.seal.verify import Check, SegmentReport, VerifyReport


def _seg(
    name: str, status: str, key_id: str = "ed25519:k", fail: Check | None = None
) -> OpenSegment:
    rep = SegmentReport(path=name, status=status, key_id=key_id)
    if fail is not None:
        rep.checks.append(fail)
    return OpenSegment(Path(name), None, None, rep)


def _badge(*segs: OpenSegment, checks: list[Check] | None = None) -> dict[str, object]:
    report = VerifyReport([s.report for s in segs], checks or [])
    return session_integrity(report, list(segs), [], (1, 9))


def test_all_segments_verified_gives_verified_with_their_key_ids() -> None:
    """Every segment passed: ``verified``, no failing check, key ids sorted and unique."""
    b = _badge(_seg("a.stj", "verified", "ed25519:b"), _seg("b.stj", "verified", "ed25519:a"))
    assert (b["status"], b["ok"], b["failed_check"]) == ("verified", True, None)
    assert b["key_ids"] == ["ed25519:a", "ed25519:b"]
    assert (b["verified_seq_first"], b["verified_seq_last"]) == (1, 9)


def test_unsealed_segment_makes_the_session_unsealed_not_failed() -> None:
    """An open (unsealed) last segment is reported as such, not as a failure."""
    b = _badge(_seg("a.stj", "verified"), _seg("b.stj", "unsealed"))
    assert b["status"] == "unsealed"


def test_failing_segment_wins_and_names_its_check_with_where() -> None:
    """A failed segment makes the session ``failed`` and its first failing check is named."""
    bad = Check("chain", False, "prev hash differs", "chunk 3")
    b = _badge(_seg("a.stj", "verified"), _seg("b.stj", "failed", fail=bad))
    assert (b["status"], b["ok"], b["failed_check"]) == ("failed", False, "chain")
    segs = b["segments"]
    assert isinstance(segs, list) and segs[1]["failure"] == "prev hash differs (chunk 3)"


def test_failing_cross_segment_check_fails_the_session() -> None:
    """A broken continuity between segments fails the session and is the failed check."""
    b = _badge(_seg("a.stj", "verified"), checks=[Check("continuity", False, "gap")])
    assert (b["status"], b["failed_check"]) == ("failed", "continuity")


def test_rfc3161_time_is_labelled_by_how_far_it_verified() -> None:
    """Chain-verified, signature only, not verified, none: each says so in its label."""
    labels = {}
    for state in ("chain", "signature", "failed", "none", ""):
        seg = _seg(f"{state}.stj", "verified")
        seg.report.tst_state, seg.report.tst_time = state, "2026-12-06T04:00:00+00:00"
        tst = _badge(seg)["segments"][0]["rfc3161"]  # type: ignore[index]
        labels[state] = (tst["state"], tst["verified_time"], tst["label"])
    t = "2026-12-06T04:00:00+00:00"
    assert labels == {
        "chain": ("chain", t, f"RFC 3161 {t} (verified to a trusted TSA root)"),
        "signature": ("signature", None, f"RFC 3161 {t} (signature only; TSA chain not checked)"),
        "failed": ("failed", None, "RFC 3161 token (NOT verified)"),
        "none": ("none", None, "no RFC 3161 timestamp"),
        "": ("none", None, "no RFC 3161 timestamp"),
    }
