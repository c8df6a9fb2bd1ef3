"""Daily rotation time, the link a new session records, and how verify checks links.

Sessions are real journals (real keys, real SQLite) written with a fake clock; forged links
are written the way an attacker would: with the signing key (a consistent, signed segment
that names the wrong seal) or with file access only (the genesis edited in place).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.canonical import canonical_bytes
from agent.config import Config
from agent.errors import UsageError
from agent.journal.journal import Journal
from agent.journal.rotation import find_previous, next_rotation
from agent.journal.session import PreviousSession, SessionMeta
from agent.journal.store import find_session
from agent.keys import Keyring
from agent.seal.verify import verify_paths
from agent.testing import FakeClock, make_event
from tests.journals import read_genesis, tamper

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TRADER = SessionMeta("alice", "desk-7")


def _session(
    home: Path, cfg: Config, clock: FakeClock, meta: SessionMeta = TRADER, *, close: bool = True
) -> Journal:
    j = Journal.open(home, cfg, clock=clock, meta=meta)
    clock.advance_s(1.0)
    j.append_many([make_event(payload={"n": i}, clock=clock) for i in range(3)])
    if close:
        j.close()
    clock.advance_s(1.0)
    return j


# --- next_rotation -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "at", "want"),
    [
        (datetime(2026, 12, 6, 9, 0, tzinfo=BERLIN), "00:00", datetime(2026, 12, 7, 0, 0)),
        (datetime(2026, 12, 6, 9, 0, tzinfo=BERLIN), "17:30", datetime(2026, 12, 6, 17, 30)),
        # Exactly at the time: the next one, a day later (strictly after ``now``).
        (datetime(2026, 12, 6, 17, 30, tzinfo=BERLIN), "17:30", datetime(2026, 12, 7, 17, 30)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=BERLIN), "00:00", datetime(2027, 1, 1, 0, 0)),
    ],
)
def test_next_rotation_is_the_next_local_occurrence(now: datetime, at: str, want: datetime) -> None:
    got = next_rotation(now, at)
    assert got is not None and got.replace(tzinfo=None) == want and got.tzinfo is BERLIN


def test_spring_forward_over_the_time_rotates_once_when_the_clocks_jump() -> None:
    """Berlin skips 02:00-03:00 on 2026-03-29: a 02:30 rotation happens at 03:00 CEST."""
    got = next_rotation(datetime(2026, 3, 29, 1, 0, tzinfo=BERLIN), "02:30")
    assert got is not None
    assert got.isoformat() == "2026-03-29T03:00:00+02:00"
    after = next_rotation(got, "02:30")
    assert after is not None and after.isoformat() == "2026-03-30T02:30:00+02:00"


def test_fall_back_over_the_time_rotates_once_at_its_first_occurrence() -> None:
    """Berlin repeats 02:00-03:00 on 2026-10-25: 02:30 CEST rotates, 02:30 CET does not."""
    got = next_rotation(datetime(2026, 10, 25, 1, 0, tzinfo=BERLIN), "02:30")
    assert got is not None and got.isoformat() == "2026-10-25T02:30:00+02:00"
    # In the repeated hour, after the first 02:30 (the second 02:10, fold 1): tomorrow.
    second_pass = datetime(2026, 10, 25, 2, 10, tzinfo=BERLIN, fold=1)
    nxt = next_rotation(second_pass, "02:30")
    assert nxt is not None and nxt.isoformat() == "2026-10-26T02:30:00+01:00"


def test_one_rotation_per_local_day_through_a_year_of_transitions() -> None:
    """Chained, the rotations fall on consecutive local days at the configured time (or, on
    the day the clocks skip it, the end of the gap), across both DST changes."""
    t = datetime(2026, 1, 1, 12, 0, tzinfo=NEW_YORK)
    days = []
    for _ in range(366):
        nxt = next_rotation(t, "02:15")
        assert nxt is not None and nxt > t
        days.append(nxt.date())
        want = "03:00" if nxt.date() == datetime(2026, 3, 8).date() else "02:15"
        assert nxt.strftime("%H:%M") == want, nxt.isoformat()
        t = nxt
    assert all((b - a).days == 1 for a, b in zip(days, days[1:], strict=False))


def test_next_rotation_off_invalid_and_naive() -> None:
    now = datetime(2026, 12, 6, 9, 0, tzinfo=BERLIN)
    assert next_rotation(now, "") is None
    with pytest.raises(UsageError, match=r"agent.rotate_at: '7:00' is not a local time HH:MM"):
        next_rotation(now, "7:00")
    with pytest.raises(ValueError, match="aware datetime"):
        next_rotation(datetime(2026, 12, 6, 9, 0), "00:00")


# --- find_previous ---------------------------------------------------------------------------
def test_find_previous_links_the_latest_session_of_the_same_user_and_workstation(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    first = _session(home, cfg, clock)
    latest = _session(home, cfg, clock)
    _session(home, cfg, clock, SessionMeta("bob", "desk-7"))
    _session(home, cfg, clock, SessionMeta("alice", "desk-8"))
    link = find_previous(home, TRADER)
    seal = find_session(home, latest.session_id).segments[-1].seal_hash_hex
    assert link == PreviousSession(latest.session_id, seal, "restart")
    assert link.session_id != first.session_id
    assert find_previous(home, SessionMeta("carol", "desk-7")) is None


def test_find_previous_does_not_link_a_session_still_being_written(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """The latest session is open (unsealed): no seal to name, so no link."""
    _session(home, cfg, clock)
    live = _session(home, cfg, clock, close=False)
    assert find_previous(home, TRADER) is None
    live.close()
    link = find_previous(home, TRADER)
    assert link is not None and link.session_id == live.session_id


# --- verify: links ---------------------------------------------------------------------------
def _linked_pair(
    home: Path, cfg: Config, clock: FakeClock, seal_hash: str | None = None
) -> tuple[Journal, Journal]:
    a = _session(home, cfg, clock)
    real = find_session(home, a.session_id).segments[-1].seal_hash_hex
    link = PreviousSession(a.session_id, seal_hash or real, "restart")
    b = _session(home, cfg, clock, SessionMeta("alice", "desk-7", previous=link))
    return a, b


def _links(home: Path, keyring: Keyring, *paths: Path) -> list[tuple[bool | None, str]]:
    report = verify_paths(list(paths) or [home / "journals"], keyring.trust())
    return [(c.ok, c.detail) for c in report.checks if c.name == "link"]


def test_every_segment_of_a_linked_session_carries_the_link_in_a_version_3_genesis(
    home: Path, cfg: Config, clock: FakeClock, keyring: Keyring
) -> None:
    a, b = _linked_pair(home, cfg, clock)
    for seg in b.segments:
        g = read_genesis(seg)
        assert g["v"] == 3
        assert g["previous_session"] == {
            "session_id": a.session_id,
            "seal_hash": a.seal_hashes[-1],
            "reason": "restart",
        }
    assert read_genesis(a.segments[0])["previous_session"] is None
    assert _links(home, keyring) == [
        (True, f"session {b.session_id} follows session {a.session_id} (restart): its last "
         "seal matches")
    ]  # fmt: skip


def test_a_forged_link_signed_with_the_key_fails_verify_naming_both_seals(
    home: Path, cfg: Config, clock: FakeClock, keyring: Keyring
) -> None:
    """A key holder writes a consistent session whose link names a seal A never had."""
    forged = "ab" * 32
    a, b = _linked_pair(home, cfg, clock, seal_hash=forged)
    report = verify_paths([home / "journals"], keyring.trust())
    assert not report.ok
    assert all(s.passed for s in report.segments)  # every segment is intact on its own
    assert report.first_failure == (
        f"link: session {b.session_id} follows session {a.session_id} (restart): the link "
        f"names seal abababababababab, but its last seal (segment 0) is "
        f"{a.seal_hashes[-1][:16]}: forged or altered link ({a.segments[-1]})"
    )


def test_a_link_edited_in_place_breaks_the_genesis_hash_and_the_link(
    home: Path, cfg: Config, clock: FakeClock, keyring: Keyring
) -> None:
    """With file access only: the edited genesis no longer hashes to the chain, and the link
    names a seal the previous session does not end in."""
    a, b = _linked_pair(home, cfg, clock)
    (seg,) = b.segments
    g = read_genesis(seg)
    g["previous_session"] = {**g["previous_session"], "seal_hash": "cd" * 32}  # type: ignore[dict-item]
    tamper(seg, "UPDATE segment SET genesis = ? WHERE id = 1", args=(canonical_bytes(g),))
    report = verify_paths([home / "journals"], keyring.trust())
    (rep,) = [s for s in report.segments if s.session_id == b.session_id]
    assert rep.first_failure is not None and rep.first_failure.name == "chain"
    (link,) = [c for c in report.checks if c.name == "link"]
    assert link.ok is False and "names seal cdcdcdcdcdcdcdcd" in link.detail


def test_a_link_to_a_session_not_here_is_a_note_not_a_failure(
    home: Path, cfg: Config, clock: FakeClock, keyring: Keyring
) -> None:
    a, b = _linked_pair(home, cfg, clock)
    only_b = home / "journals" / b.session_id
    assert _links(home, keyring, only_b) == [
        (None, f"session {b.session_id} follows session {a.session_id} (restart): previous "
         "session not here")
    ]  # fmt: skip
    assert verify_paths([only_b], keyring.trust()).ok


def test_a_recovered_link_to_a_session_that_ended_normally_fails(
    home: Path, cfg: Config, clock: FakeClock, keyring: Keyring
) -> None:
    """The link's reason is signed too: 'recovered' must name a seal recovery wrote."""
    a = _session(home, cfg, clock)
    link = PreviousSession(a.session_id, a.seal_hashes[-1], "recovered")
    b = _session(home, cfg, clock, SessionMeta("alice", "desk-7", previous=link))
    assert _links(home, keyring) == [
        (False, f"session {b.session_id} follows session {a.session_id} (recovered), but that "
         "session's last seal says 'closed'")
    ]  # fmt: skip


def test_a_version_2_genesis_without_a_link_still_reads_and_verifies(
    home: Path, cfg: Config, clock: FakeClock, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Segments written before links existed (genesis v2) verify; they name no session."""
    from agent.journal.segment import SegmentWriter
    from agent.journal.store import load_session

    create = SegmentWriter.create.__func__  # type: ignore[attr-defined]

    def v2(cls: type, path: Path, genesis: dict[str, object], *rest: object) -> object:
        old = {k: v for k, v in genesis.items() if k != "previous_session"}
        return create(cls, path, {**old, "v": 2}, *rest)

    monkeypatch.setattr(SegmentWriter, "create", classmethod(v2))
    a = _session(home, cfg, clock)
    monkeypatch.undo()
    assert read_genesis(a.segments[0])["v"] == 2
    assert verify_paths([home / "journals"], keyring.trust()).ok
    assert load_session(home / "journals" / a.session_id).previous_session is None
