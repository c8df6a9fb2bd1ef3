"""Verify across segments and sessions (``continuity``, ``counter``) and the ``rfc3161`` check
of a real sealed segment, each pinned to its exact message.

Sessions are real journals; tampering removes files or edits rows as an attacker with file
access would. The mutation check (``python -m tests.mutation.mutate``) relies on these.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.canonical import canonical_bytes
from agent.config import load_config
from agent.keys import Keyring
from agent.seal.report import Check
from agent.seal.timestamp import tst_verifier
from agent.seal.tsa_local import LocalTSA
from agent.seal.verify import VerifyReport, verify_paths
from agent.testing import FakeClock
from tests.journals import flip_byte, read_genesis, tamper, write_session, write_stamped_session


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two closed sessions of one agent: 3 segments, then 1."""
    home = tmp_path_factory.mktemp("pristine") / "home"
    Keyring.load_or_init(home)
    write_session(home, load_config(env={}), FakeClock(), segments=3, chunks_per_segment=2)
    write_session(home, load_config(env={}), FakeClock(), segments=1, chunks_per_segment=2)
    return home


def _session_dirs(home: Path) -> list[Path]:
    """Session directories, the 3-segment one first."""
    return sorted((home / "journals").iterdir(), key=lambda d: -len(list(d.glob("*.stj"))))


def _trust(home: Path) -> Keyring:
    return Keyring.load(home)


def _verify(paths: list[Path], home: Path, **kw: bool) -> VerifyReport:
    return verify_paths(paths, _trust(home).trust(), **kw)  # type: ignore[arg-type]


def _failed(rep: VerifyReport) -> list[Check]:
    return [c for c in rep.checks if c.ok is False]


def test_whole_journals_dir_checks_continuity_per_session_and_the_agent_counters(
    victim: Path,
) -> None:
    """Two session directories: continuity and a closed end for each, and one passing counter
    and time-order check."""
    rep = _verify([victim / "journals"], victim)
    assert rep.ok, rep.first_failure
    agent = rep.segments[0].agent_id
    assert [(c.name, c.ok) for c in rep.checks] == [
        ("continuity", True),
        ("continuity", True),
        ("session-end", True),
        ("session-end", True),
        ("counter", True),
        ("time-order", True),
    ]
    assert rep.checks[4].detail == f"agent {agent}: 4 segments"
    assert rep.checks[5].detail == f"agent {agent}: 4 segments in time order"


def test_one_session_dir_has_no_counter_check_unless_asked(victim: Path) -> None:
    """Counters and time order are whole-state-dir checks; ``check_counters`` forces or
    suppresses them. A directory always gets its session ends checked."""
    sdir = _session_dirs(victim)[0]
    assert [c.name for c in _verify([sdir], victim).checks] == ["continuity", "session-end"]
    forced = _verify([sdir], victim, check_counters=True)
    assert [c.name for c in forced.checks] == [
        "continuity",
        "session-end",
        "counter",
        "time-order",
    ]
    off = _verify([victim / "journals"], victim, check_counters=False)
    assert [c.name for c in off.checks] == [
        "continuity",
        "continuity",
        "session-end",
        "session-end",
    ]


def test_missing_segments_are_named_by_their_agent_counters(victim: Path) -> None:
    """Removing segments 1 and 2 of the first session leaves a hole in the agent's counters
    (between the first and the last remaining one), named by counter."""
    segs = sorted(_session_dirs(victim)[0].glob("*.stj"))
    gone = sorted(int(str(read_genesis(s)["agent_counter"])) for s in segs[1:])
    for s in segs[1:]:
        s.unlink()
    rep = _verify([victim / "journals"], victim)
    agent = rep.segments[0].agent_id
    counter = [c for c in rep.checks if c.name == "counter"]
    assert [(c.ok, c.detail) for c in counter] == [
        (False, f"agent {agent}: segment counters {gone} missing")
    ]


def test_more_than_five_missing_counters_list_the_first_five(tmp_path: Path) -> None:
    """A long hole is named by its first five counters."""
    home = tmp_path / "home"
    Keyring.load_or_init(home)
    write_session(home, load_config(env={}), FakeClock(), segments=8, chunks_per_segment=1)
    segs = sorted((home / "journals").rglob("*.stj"))
    counters = [int(str(read_genesis(s)["agent_counter"])) for s in segs]
    for s in segs[1:7]:
        s.unlink()
    rep = _verify([home / "journals"], home, check_counters=True)
    counter = [c for c in rep.checks if c.name == "counter"]
    assert [(c.ok, c.detail) for c in counter] == [
        (False, f"agent {rep.segments[0].agent_id}: segment counters {counters[1:6]} missing")
    ]


def test_session_without_its_first_segment_fails_continuity(victim: Path) -> None:
    """Segment 0 removed: the session is reported as starting at index 1, at that file."""
    sdir = _session_dirs(victim)[0]
    segs = sorted(sdir.glob("*.stj"))
    segs[0].unlink()
    rep = _verify([sdir], victim)
    sid = rep.segments[0].session_id
    assert [(c.detail, c.where) for c in _failed(rep)] == [
        (f"session {sid} starts at segment index 1", str(segs[1]))
    ]


def test_edited_first_seq_of_a_segment_fails_continuity_naming_the_jump(victim: Path) -> None:
    """The next segment's genesis claims a later first seq: continuity names the jump."""
    sdir = _session_dirs(victim)[0]
    segs = sorted(sdir.glob("*.stj"))
    genesis = read_genesis(segs[1])
    first = int(str(genesis["seq_first"]))
    genesis["seq_first"] = first + 1
    tamper(segs[1], "UPDATE segment SET genesis = ?", args=(canonical_bytes(genesis),))
    rep = _verify([sdir], victim)
    assert [(c.name, c.detail, c.where) for c in _failed(rep)] == [
        (
            "continuity",
            f"seq jumps from {first - 1} to {first + 1} between segments 0 and 1",
            str(segs[1]),
        )
    ]


def test_dropped_middle_segment_names_the_missing_index_and_neighbours(victim: Path) -> None:
    """Segment 1 of 3 removed: continuity names index 1 and the two files around the hole."""
    sdir = _session_dirs(victim)[0]
    segs = sorted(sdir.glob("*.stj"))
    segs[1].unlink()
    rep = _verify([sdir], victim)
    sid = rep.segments[0].session_id
    between = f"between {segs[0].name} and {segs[2].name}"
    assert [(c.detail, c.where) for c in _failed(rep)] == [
        (f"segment index 1 missing in session {sid} ({between})", str(segs[2]))
    ]


@pytest.fixture
def stamped(tmp_path: Path, local_tsa: LocalTSA) -> Path:
    """A one-segment session whose seal carries a token from the local TSA."""
    return write_stamped_session(tmp_path / "home", local_tsa.url)


def test_timestamp_token_on_a_seal_verifies_against_the_tsa_root(
    stamped: Path, local_tsa: LocalTSA
) -> None:
    """With the TSA root given, the seal's token passes ``rfc3161`` with its genTime."""
    home = stamped.parents[2]
    rep = verify_paths(
        [stamped], _trust(home).trust(), tst_verifier=tst_verifier([local_tsa.root_pem])
    )
    seg = rep.segments[0]
    assert rep.ok, rep.first_failure
    rfc = [c for c in seg.checks if c.name == "rfc3161"]
    assert [(c.ok, c.detail) for c in rfc] == [(True, f"genTime {seg.tst_time}")]
    assert seg.tst_time is not None and seg.tst_time.startswith("20")
    assert seg.tst_state == "chain"


def test_flipped_token_byte_fails_rfc3161_naming_the_reason(
    stamped: Path, local_tsa: LocalTSA
) -> None:
    """A token whose signature was altered fails ``rfc3161`` at the seal, with the reason."""
    flip_byte(stamped, "1 = 1", table="seal", column="tst", offset=-2, mask=0x01)
    rep = verify_paths(
        [stamped],
        _trust(stamped.parents[2]).trust(),
        tst_verifier=tst_verifier([local_tsa.root_pem]),
    )
    ff = rep.segments[0].first_failure
    assert ff is not None and (ff.name, ff.where) == ("rfc3161", "seal")
    assert ff.detail.startswith("signature check failed: ")
    assert "invalid CMS signature" in ff.detail


def _rfc3161(rep: VerifyReport) -> list[tuple[bool | None, str]]:
    return [(c.ok, c.detail) for c in rep.segments[0].checks if c.name == "rfc3161"]


def test_a_removed_token_fails_with_roots_and_with_strict_and_is_only_noted_without(
    stamped: Path, local_tsa: LocalTSA
) -> None:
    """No token: failure when TSA roots are given (strict or not) and under strict alone;
    without roots and without strict it is reported as not checked."""
    tamper(stamped, "UPDATE seal SET tst = NULL")
    trust = _trust(stamped.parents[2]).trust()
    missing = (False, "sealed segment has no timestamp token")
    roots = tst_verifier([local_tsa.root_pem])
    assert _rfc3161(verify_paths([stamped], trust, tst_verifier=roots)) == [missing]
    assert _rfc3161(verify_paths([stamped], trust, require_timestamp=True)) == [missing]
    none = verify_paths([stamped], trust)
    assert _rfc3161(none) == [(None, "no timestamp token")]
    assert none.segments[0].tst_state == "none"
    # Roots that only check chains (a home's remembered roots) leave a missing token noted.
    noted = verify_paths([stamped], trust, tst_verifier=roots, token_required=False)
    assert _rfc3161(noted) == [(None, "no timestamp token")]
    required = verify_paths([stamped], trust, token_required=True)
    assert _rfc3161(required) == [missing]


def test_a_token_without_roots_fails_only_under_strict(stamped: Path) -> None:
    """A token whose chain cannot be checked (no roots) fails under strict; without strict its
    signature is still verified and the chain is reported as not checked."""
    trust = _trust(stamped.parents[2]).trust()
    strict = verify_paths([stamped], trust, require_timestamp=True)
    assert _rfc3161(strict) == [
        (
            False,
            "timestamp token not chain-checked: no trusted TSA roots given "
            "(--tsa-root or seal.tsa_roots)",
        )
    ]
    assert strict.segments[0].tst_state == "signature"
    rep = verify_paths([stamped], trust)
    seg = rep.segments[0]
    assert rep.ok and (seg.tst_state, seg.tst_time[:2]) == ("signature", "20")
    assert _rfc3161(rep) == [
        (
            True,
            f"genTime {seg.tst_time}; signature verified with the embedded TSA certificate; "
            "chain NOT checked: no trusted TSA roots given (--tsa-root or seal.tsa_roots)",
        )
    ]


def test_a_flipped_token_byte_fails_without_roots_too(stamped: Path) -> None:
    """Without roots the token's signature is still checked: a flipped byte fails."""
    flip_byte(stamped, "1 = 1", table="seal", column="tst", offset=-2, mask=0x01)
    rep = verify_paths([stamped], _trust(stamped.parents[2]).trust())
    assert _rfc3161(rep) == [
        (False, "signature check failed: invalid CMS signature (altered token or wrong key)")
    ]
    assert (rep.segments[0].tst_state, rep.segments[0].tst_time) == ("failed", "")
