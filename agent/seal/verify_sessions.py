"""Checks across segments: sessions whole and ended, agent counters dense and in time order.

``continuity``  a session's segments are all there: indices dense, each genesis names the
                previous seal, seqs continue across segments
``session-end`` (directories) every session ends in a ``closed`` seal or a ``recovered`` one
                (a crash or write outage, recorded as a gap event); an unsealed last segment is
                reported as open; a last seal saying ``rotated`` means a segment followed and
                is gone
``link``        a session whose genesis links to a previous session: that session, when it is
                here, ends in the seal the link names (its hash, and ``recovered`` for a
                ``recovered`` link); one that is not here is reported, not failed
``counter``     (whole state dir) every per-agent segment counter from 0 to the latest is
                present exactly once
``time-order``  (whole state dir) segment creation times agree with counter order

Segments removed locally by shipping after the vault confirmed them (``removed``: their
``<session>/<file name>``) are accounted for: they are not holes, and ``verify --vault``
checks them against the vault's copies.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from pathlib import Path

from agent.clock import utc_iso
from agent.seal.report import Check, SegmentReport, VerifyReport

TIME_ORDER_SLACK_NS = 3600 * 1_000_000_000
"""How far a segment's creation time may precede that of a lower counter: wall-clock steps
and a counter taken before a failed segment creation that a later attempt uses."""


def _by_session(report: VerifyReport) -> dict[str, list[SegmentReport]]:
    by_session: dict[str, list[SegmentReport]] = defaultdict(list)
    for s in report.segments:
        if s.session_id:
            by_session[s.session_id].append(s)
    for segs in by_session.values():
        segs.sort(key=lambda s: s.index)
    return by_session


def _removed_indices(removed: Collection[str]) -> dict[str, set[int]]:
    """Segment indices per session that shipping removed locally (from the file names)."""
    out: dict[str, set[int]] = defaultdict(set)
    for key in removed:
        session, _, name = key.rpartition("/")
        head = name.split("-", 1)[0]
        if head.isdigit():
            out[session.rsplit("/", 1)[-1]].add(int(head))
    return out


def check_continuity(report: VerifyReport, removed: Collection[str] = ()) -> None:
    """``continuity`` per session: dense indices, seals linked, seqs continuing."""
    gone = _removed_indices(removed)
    for sid, segs in _by_session(report).items():
        problems = _session_problems(sid, segs, gone.get(sid, set()))
        for msg, where in problems:
            report.checks.append(Check("continuity", False, msg, where))
        if not problems:
            report.checks.append(
                Check("continuity", True, f"session {sid}: {len(segs)} segments in order")
            )


def _session_problems(sid: str, segs: list[SegmentReport], gone: set[int]) -> list[tuple[str, str]]:
    """(message, where) for every break between consecutive segments of one session."""
    problems = []
    first = segs[0].index
    if first != 0 and len(segs) > 1 and not set(range(first)) <= gone:
        problems.append((f"session {sid} starts at segment index {first}", segs[0].path))
    for a, b in zip(segs, segs[1:], strict=False):
        if b.index != a.index + 1:
            if set(range(a.index + 1, b.index)) <= gone:
                continue
            problems.append(
                (
                    f"segment index {a.index + 1} missing in session {sid} "
                    f"(between {Path(a.path).name} and {Path(b.path).name})",
                    b.path,
                )
            )
        elif a.seal_hash and b.prev_seal_hash != a.seal_hash:
            problems.append(
                (f"segment {b.index} does not follow the seal of segment {a.index}", b.path)
            )
        elif a.seal_seq_last is not None and b.seq_first_genesis != a.seal_seq_last + 1:
            problems.append(
                (
                    f"seq jumps from {a.seal_seq_last} to {b.seq_first_genesis} "
                    f"between segments {a.index} and {b.index}",
                    b.path,
                )
            )
        elif not a.seal_hash:
            problems.append(
                (f"segment {a.index} is unsealed but followed by segment {b.index}", a.path)
            )
    return problems


def check_session_ends(report: VerifyReport, removed: Collection[str] = ()) -> None:
    """``session-end``: each session's last segment is sealed ``closed`` or ``recovered``.

    An unsealed last segment is a live session (or one not yet recovered): reported as open,
    not failed here (the segment itself is reported unsealed). A failed last segment is left
    to its own checks.
    """
    gone = _removed_indices(removed)
    for sid, segs in _by_session(report).items():
        last = segs[-1]
        if any(i > last.index for i in gone.get(sid, ())):
            detail = f"session {sid}: its last segments were removed locally after shipping"
            report.checks.append(Check("session-end", None, detail))
        elif last.seal_reason in ("closed", "recovered"):
            how = "closed" if last.seal_reason == "closed" else "ended by crash recovery"
            report.checks.append(Check("session-end", True, f"session {sid}: {how}"))
        elif last.seal_reason == "rotated":
            report.checks.append(
                Check(
                    "session-end",
                    False,
                    f"session {sid} ends at segment {last.index} (segment {last.segment_id}, "
                    f"counter {last.agent_counter}) sealed 'rotated': segment {last.index + 1} "
                    "is missing (erased?)",
                    last.path,
                )
            )
        elif last.status == "unsealed":
            report.checks.append(
                Check(
                    "session-end",
                    None,
                    f"session {sid} is open: segment {last.index} (segment {last.segment_id}) "
                    f"unsealed, verified up to seq {last.seq_last_verified}",
                )
            )


def check_counters(
    report: VerifyReport, removed: Collection[str] = (), taken: Mapping[str, int] | None = None
) -> None:
    """``counter`` per agent: every counter from 0 to the latest, each exactly once.

    ``taken``: the latest counter each agent handed out (its identity file), so erasing the
    newest segments leaves a hole too. Up to ``len(removed)`` missing counters are taken as the
    segments shipping removed locally (their counters are only in the vault's copies):
    reported, not failed."""
    by_agent: dict[str, dict[int, list[SegmentReport]]] = defaultdict(lambda: defaultdict(list))
    for s in report.segments:
        if s.agent_id:
            by_agent[s.agent_id][s.agent_counter].append(s)
    local = {Path(s.path).parent.name + "/" + Path(s.path).name for s in report.segments}
    pruned = len({k.split("/", 1)[-1] for k in removed} - local)
    for agent, by_counter in by_agent.items():
        latest = max(max(by_counter), (taken or {}).get(agent, -1))
        report.checks.extend(_agent_counter_checks(agent, by_counter, pruned, latest))


def _agent_counter_checks(
    agent: str, by_counter: dict[int, list[SegmentReport]], pruned: int, latest: int
) -> list[Check]:
    out: list[Check] = []
    for c, segs in sorted(by_counter.items()):
        if len(segs) > 1:
            names = " and ".join(f"{s.session_id}/{s.segment_id}" for s in segs[:2])
            out.append(
                Check("counter", False, f"agent {agent}: segment counter {c} used twice ({names})")
            )
    missing = sorted(set(range(latest + 1)) - set(by_counter))
    if missing and len(missing) > pruned:
        out.append(
            Check(
                "counter",
                False,
                f"agent {agent}: segment counters {missing[:5]} missing",
            )
        )
    elif missing:
        out.append(
            Check(
                "counter",
                None,
                f"agent {agent}: segment counters {missing[:5]} not local "
                f"({pruned} segments removed locally after shipping; --vault checks them)",
            )
        )
    elif not out:
        out.append(Check("counter", True, f"agent {agent}: {len(by_counter)} segments"))
    return out


def check_time_order(report: VerifyReport) -> None:
    """``time-order`` per agent: no segment was created more than the slack before a segment
    with a lower counter (a session forged later and dated back contradicts its counter)."""
    by_agent: dict[str, list[SegmentReport]] = defaultdict(list)
    for s in report.segments:
        if s.agent_id and s.created_utc_ns:
            by_agent[s.agent_id].append(s)
    for agent, segs in by_agent.items():
        segs.sort(key=lambda s: s.agent_counter)
        latest = segs[0]
        bad: Check | None = None
        for s in segs[1:]:
            if s.created_utc_ns < latest.created_utc_ns - TIME_ORDER_SLACK_NS:
                bad = Check(
                    "time-order",
                    False,
                    f"agent {agent}: segment counter {s.agent_counter} (session {s.session_id}, "
                    f"segment {s.segment_id}) was created {utc_iso(s.created_utc_ns)}, before "
                    f"counter {latest.agent_counter} (session {latest.session_id}) at "
                    f"{utc_iso(latest.created_utc_ns)}: time order contradicts counter order",
                    s.path,
                )
                break
            if s.created_utc_ns > latest.created_utc_ns:
                latest = s
        report.checks.append(
            bad or Check("time-order", True, f"agent {agent}: {len(segs)} segments in time order")
        )


def check_links(report: VerifyReport, removed: Collection[str] = ()) -> None:
    """``link``: each linked session names the last seal of the session it follows.

    Every segment of a session carries the same link; segments that disagree fail. The
    previous session not being here (shipped and pruned, or verified on its own) is a note.
    """
    by_session = _by_session(report)
    gone = _removed_indices(removed)
    for sid, segs in by_session.items():
        named = sorted({s.previous_session["session_id"] for s in segs if s.previous_session})
        linked = {_link_key(s.previous_session) for s in segs if s.segment_id}
        if len(linked) > 1:
            detail = f"session {sid}: its segments disagree on the previous session {named}"
            report.checks.append(Check("link", False, detail, segs[0].path))
            continue
        link = next((s.previous_session for s in segs if s.previous_session), None)
        if link is not None:
            prev = by_session.get(link["session_id"], [])
            report.checks.append(_link_check(sid, link, prev, gone.get(link["session_id"], set())))


def _link_key(link: dict[str, str] | None) -> tuple[str, str, str] | None:
    return (link["session_id"], link["seal_hash"], link["reason"]) if link else None


def _link_check(sid: str, link: dict[str, str], prev: list[SegmentReport], gone: set[int]) -> Check:
    """The check of one link against the previous session's segments here (maybe none)."""
    pid, want = link["session_id"], link["seal_hash"]
    head = f"session {sid} follows session {pid} ({link['reason']})"
    if not prev:
        return Check("link", None, f"{head}: previous session not here")
    last = prev[-1]
    if any(i > last.index for i in gone):
        return Check("link", None, f"{head}: its last segments were removed after shipping")
    if not last.seal_hash:
        return Check("link", False, f"{head}: its last segment {last.index} is unsealed", last.path)
    if last.seal_hash != want:
        earlier = next((s.index for s in prev if s.seal_hash == want), None)
        why = (
            f"names the seal of segment {earlier}, but that session goes on to segment {last.index}"
            if earlier is not None
            else f"names seal {want[:16]}, but its last seal (segment {last.index}) is "
            f"{last.seal_hash[:16]}: forged or altered link"
        )
        return Check("link", False, f"{head}: the link {why}", last.path)
    if (link["reason"] == "recovered") != (last.seal_reason == "recovered"):
        return Check(
            "link",
            False,
            f"{head}, but that session's last seal says '{last.seal_reason}'",
            last.path,
        )
    return Check("link", True, f"{head}: its last seal matches")
