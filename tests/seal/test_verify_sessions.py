"""The cross-segment checks on their own (``agent/seal/verify_sessions.py``): session ends,
segments shipping removed locally, counters and time order, over synthetic segment reports.
The attack tests drive the same checks through real journals; these pin the edges."""

from __future__ import annotations

from agent.seal.report import Check, SegmentReport, VerifyReport
from agent.seal.verify_sessions import (
    TIME_ORDER_SLACK_NS,
    check_continuity,
    check_counters,
    check_session_ends,
    check_time_order,
)

SID = "20261206T090000Z-0000aaaa"
T0 = 1_780_000_000 * 1_000_000_000


def _seg(index: int, *, reason: str = "rotated", counter: int = -1, **kw: object) -> SegmentReport:
    sealed = reason != ""
    seg = SegmentReport(
        path=f"/h/journals/{SID}/{index:06d}-seg{index}.stj",
        segment_id=f"seg{index}",
        session_id=SID,
        index=index,
        status="verified" if sealed else "unsealed",
        seal_hash=f"seal{index}" if sealed else "",
        prev_seal_hash=f"seal{index - 1}" if index else "",
        seq_first_genesis=index * 10,
        seal_seq_last=index * 10 + 9 if sealed else None,
        seal_reason=reason,
        agent_id="agent-1",
        agent_counter=index if counter < 0 else counter,
        created_utc_ns=T0 + index * 1_000_000_000,
    )
    for k, v in kw.items():
        setattr(seg, k, v)
    return seg


def _checks(report: VerifyReport, name: str) -> list[Check]:
    return [c for c in report.checks if c.name == name]


def _removed(*indices: int) -> list[str]:
    return [f"{SID}/{i:06d}-seg{i}.stj" for i in indices]


def test_a_middle_segment_removed_by_shipping_is_not_a_hole_but_an_unexplained_one_is() -> None:
    segs = [_seg(0), _seg(2, reason="closed")]
    shipped = VerifyReport(segments=segs)
    check_continuity(shipped, _removed(1))
    assert [c.ok for c in _checks(shipped, "continuity")] == [True]
    erased = VerifyReport(segments=[_seg(0), _seg(2, reason="closed")])
    check_continuity(erased, _removed(3))
    (bad,) = _checks(erased, "continuity")
    assert bad.ok is False
    assert bad.detail.startswith(f"segment index 1 missing in session {SID}")


def test_session_end_names_closed_recovered_removed_and_open_distinctly() -> None:
    closed = VerifyReport(segments=[_seg(0), _seg(1, reason="closed")])
    check_session_ends(closed)
    assert [(c.ok, c.detail) for c in closed.checks] == [(True, f"session {SID}: closed")]
    recovered = VerifyReport(segments=[_seg(0, reason="recovered")])
    check_session_ends(recovered)
    assert recovered.checks[0].detail == f"session {SID}: ended by crash recovery"
    tail_shipped = VerifyReport(segments=[_seg(0)])
    check_session_ends(tail_shipped, _removed(1))
    assert [(c.ok, c.detail) for c in tail_shipped.checks] == [
        (None, f"session {SID}: its last segments were removed locally after shipping")
    ]
    head_shipped = VerifyReport(segments=[_seg(1, reason="closed")])
    check_session_ends(head_shipped, _removed(0))
    assert [c.ok for c in head_shipped.checks] == [True]
    live = VerifyReport(segments=[_seg(0), _seg(1, reason="", seq_last_verified=14)])
    check_session_ends(live)
    (note,) = live.checks
    assert note.ok is None
    assert (
        note.detail
        == f"session {SID} is open: segment 1 (segment seg1) unsealed, verified up to seq 14"
    )


def test_a_failed_last_segment_is_left_to_its_own_checks() -> None:
    report = VerifyReport(segments=[_seg(0), _seg(1, reason="", status="failed")])
    check_session_ends(report)
    assert report.checks == []


def test_a_counter_used_three_times_names_the_first_two() -> None:
    segs = [_seg(i, counter=4) for i in range(3)]
    report = VerifyReport(segments=segs)
    check_counters(report, taken={"agent-1": 4})
    twice = [c for c in _checks(report, "counter") if "used twice" in c.detail]
    assert [c.detail for c in twice] == [
        f"agent agent-1: segment counter 4 used twice ({SID}/seg0 and {SID}/seg1)"
    ]


def test_counters_missing_within_what_shipping_removed_are_a_note_listing_five() -> None:
    segs = [_seg(0, counter=0), _seg(1, counter=7, reason="closed")]
    report = VerifyReport(segments=segs)
    check_counters(report, _removed(*range(2, 8)))
    (note,) = _checks(report, "counter")
    assert note.ok is None
    assert note.detail.startswith("agent agent-1: segment counters [1, 2, 3, 4, 5] not local")


def test_a_segment_without_a_creation_time_is_left_out_of_the_time_order() -> None:
    segs = [_seg(0), _seg(1, created_utc_ns=0), _seg(2, reason="closed")]
    report = VerifyReport(segments=segs)
    check_time_order(report)
    assert [(c.ok, c.detail) for c in report.checks] == [
        (True, "agent agent-1: 2 segments in time order")
    ]


def test_a_segment_dated_more_than_the_slack_before_a_lower_counter_fails() -> None:
    back = T0 - TIME_ORDER_SLACK_NS - 1
    report = VerifyReport(segments=[_seg(0), _seg(1, created_utc_ns=back)])
    check_time_order(report)
    (bad,) = report.checks
    assert bad.ok is False
    assert bad.detail.endswith("time order contradicts counter order")
