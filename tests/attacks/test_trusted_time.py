"""Attack: tamper with trusted time. The attacker edits the RFC 3161 token stored in a seal of
a real sealed journal (timestamped by the real local ``openssl ts`` TSA) so that the record
appears to exist at another time, or swaps in a token from a TSA he runs himself.

``verify`` checks every token even without trusted TSA roots (parses, granted, imprint equals
the seal digest, CMS signature verifies with the embedded certificate) and fails with exit 1
naming the segment; without roots the summary line says the chain was not checked; a home
that remembers its TSA root (as the demo home does) checks the chain without ``--tsa-root``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent.audit import record_access
from agent.canonical import sha256
from agent.config import load_config
from agent.journal.reader import SegmentFile
from agent.keys import Keyring
from agent.replay.integrity import OpenSegment, session_integrity
from agent.replay.report import _integrity_part
from agent.seal.timestamp import request_timestamp
from agent.seal.tsa_local import LocalTSA
from agent.seal.tsa_roots import remember_tsa_root
from agent.seal.verify import verify_paths
from tests.cli.clirun import run_main
from tests.journals import tamper, write_stamped_session

SIGNATURE = "signature check failed: invalid CMS signature (altered token or wrong key)"
ATTRIBUTES = "signature check failed: signed attributes do not match the TSTInfo (altered token)"
UNCHAINED_SUMMARY = (
    "verified: 1 segments, every check passed; RFC 3161 chain NOT checked for 1 of 1 segments "
    "(no trusted TSA roots; their token signatures verified with the embedded TSA certificate) "
    "(--tsa-root checks the chain, --strict requires it)"
)


@pytest.fixture
def sealed(tmp_path: Path, local_tsa: LocalTSA) -> tuple[Path, Path]:
    """(home, its only segment): one real session sealed with a token from the local TSA."""
    home = tmp_path / "home"
    return home, write_stamped_session(home, local_tsa.url)


def _seal(seg: Path) -> tuple[bytes, bytes]:
    """(seal body, stored token) of the segment."""
    con = sqlite3.connect(seg)
    try:
        body, token = con.execute("SELECT body, tst FROM seal").fetchone()
    finally:
        con.close()
    return bytes(body), bytes(token)


def _store_token(seg: Path, token: bytes) -> None:
    tamper(seg, "UPDATE seal SET tst = ?", args=(token,))


def _flip_signature(token: bytes, _: bytes) -> bytes:
    # The token ends with the SignerInfo's signature (an ECDSA (r, s) whose last byte is s's).
    return token[:-1] + bytes([token[-1] ^ 0x01])


def _flip_imprint(token: bytes, body: bytes) -> bytes:
    at = token.index(sha256(body)) + 7  # a byte of the digest the token says it timestamps
    return token[:at] + bytes([token[at] ^ 0x01]) + token[at + 1 :]


def _flip_status(token: bytes, _: bytes) -> bytes:
    # TimeStampResp ::= SEQUENCE { status PKIStatusInfo ::= SEQUENCE { INTEGER 0 }, token }
    at = token.index(b"\x30\x03\x02\x01\x00") + 4
    return token[:at] + b"\x02" + token[at + 1 :]  # 0 granted -> 2 rejection


@pytest.mark.parametrize("with_roots", [False, True], ids=["no-roots", "roots"])
@pytest.mark.parametrize(
    ("flip", "reason"),
    [
        (_flip_signature, SIGNATURE),
        (_flip_imprint, ATTRIBUTES),
        (_flip_status, "TSA refused: status 2 (no status text)"),
    ],
    ids=["signature", "imprint", "status"],
)
def test_a_flipped_token_byte_fails_verify_naming_the_segment(
    capsys: pytest.CaptureFixture[str],
    sealed: tuple[Path, Path],
    local_tsa: LocalTSA,
    tmp_path: Path,
    flip: object,
    reason: str,
    with_roots: bool,
) -> None:
    home, seg = sealed
    body, token = _seal(seg)
    _store_token(seg, flip(token, body))  # type: ignore[operator]
    roots: list[str] = []
    if with_roots:
        (tmp_path / "root.pem").write_bytes(local_tsa.root_pem)
        roots = ["--tsa-root", str(tmp_path / "root.pem")]
    code, out, err = run_main(capsys, "--home", str(home), "verify", *roots)
    assert code == 1
    assert err.strip() == f"verification FAILED: {seg}: rfc3161: {reason} (seal)"
    assert "every check passed" not in out


def test_without_roots_the_summary_line_says_the_chain_was_not_checked(
    capsys: pytest.CaptureFixture[str], sealed: tuple[Path, Path]
) -> None:
    home, seg = sealed
    code, out, _ = run_main(capsys, "--home", str(home), "verify")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"OK   verified   {seg}  seg 0  5 events")
    assert lines[0].endswith("(signature only; chain NOT checked)")
    assert lines[-1] == UNCHAINED_SUMMARY


def test_a_token_from_the_attackers_own_tsa_passes_only_as_unchained(
    capsys: pytest.CaptureFixture[str], sealed: tuple[Path, Path], tmp_path: Path
) -> None:
    """A validly signed token from a TSA the attacker runs: without roots it is labelled
    "chain NOT checked", and with --strict it fails; it is never shown as verified."""
    home, seg = sealed
    body, _ = _seal(seg)
    with LocalTSA(tmp_path / "rogue", name="rogue") as rogue:
        _store_token(seg, request_timestamp(sha256(body), rogue.url))
    code, out, _ = run_main(capsys, "--home", str(home), "verify")
    assert (code, out.splitlines()[-1]) == (0, UNCHAINED_SUMMARY)
    code, _, err = run_main(capsys, "--home", str(home), "verify", "--strict")
    assert code == 1
    assert err.strip() == (
        f"verification FAILED: {seg}: rfc3161: timestamp token not chain-checked: no trusted "
        "TSA roots given (--tsa-root or seal.tsa_roots) (seal)"
    )


def test_a_home_that_remembers_its_tsa_root_checks_the_chain(
    capsys: pytest.CaptureFixture[str],
    sealed: tuple[Path, Path],
    local_tsa: LocalTSA,
    tmp_path: Path,
) -> None:
    """Demo-style home: the local TSA's root is remembered under <home>/trust/tsa/, so plain
    ``verify`` checks the chain, and a token from another TSA fails."""
    home, seg = sealed
    remember_tsa_root(home, "demo-local-tsa", local_tsa.root_pem)
    code, out, err = run_main(capsys, "--home", str(home), "verify", "--strict")
    assert code == 0, err
    assert out.splitlines()[0].endswith("(chain verified)")
    assert out.splitlines()[-1] == "verified: 1 segments, every check passed"
    body, _ = _seal(seg)
    with LocalTSA(tmp_path / "rogue", name="rogue") as rogue:
        _store_token(seg, request_timestamp(sha256(body), rogue.url))
    code, _, err = run_main(capsys, "--home", str(home), "verify")
    assert code == 1
    assert err.strip() == (
        f"verification FAILED: {seg}: rfc3161: TSA certificate does not chain to a trusted root "
        "(unable to get local issuer certificate) (seal)"
    )


def test_a_remembered_root_states_a_missing_token_in_the_summary_and_strict_fails_it(
    capsys: pytest.CaptureFixture[str], sealed: tuple[Path, Path], local_tsa: LocalTSA
) -> None:
    """In the demo home (root remembered, no TSA configured any more) an audit sealed later
    has no token: plain verify says so in its summary line; --strict fails it."""
    home, _ = sealed
    remember_tsa_root(home, "demo-local-tsa", local_tsa.root_pem)
    sid = record_access(home, load_config(env={}, home=home), "audit.search", {"query": "x"})
    (audit_seg,) = (home / "journals" / sid).glob("*.stj")
    code, out, err = run_main(capsys, "--home", str(home), "verify")
    assert code == 0, err
    assert out.splitlines()[-1] == (
        "verified: 2 segments, every check passed; 1 of 2 segments carry no RFC 3161 "
        "timestamp (--tsa-root checks the chain, --strict requires it)"
    )
    code, _, err = run_main(capsys, "--home", str(home), "verify", "--strict")
    assert code == 1
    assert err.strip() == (
        f"verification FAILED: {audit_seg}: rfc3161: sealed segment has no timestamp token (seal)"
    )


def test_audit_sessions_are_timestamped_when_a_tsa_is_configured(
    capsys: pytest.CaptureFixture[str],
    sealed: tuple[Path, Path],
    local_tsa: LocalTSA,
    tmp_path: Path,
) -> None:
    """Audit journals carry a token like recordings, so ``verify --strict`` over a whole state
    dir passes; an audit sealed without a TSA is named by ``--strict``, never exempted."""
    home, _ = sealed
    root = tmp_path / "root.pem"
    root.write_bytes(local_tsa.root_pem)
    with_tsa = load_config(env={"SESSIONTAPE_SEAL_TSA_URL": local_tsa.url}, home=home)
    record_access(home, with_tsa, "audit.search", {"query": "kind:click", "results": 0})
    code, out, err = run_main(
        capsys, "--home", str(home), "verify", "--strict", "--tsa-root", str(root)
    )
    assert code == 0, err
    assert out.splitlines()[-1] == "verified: 2 segments, every check passed"
    sid = record_access(home, load_config(env={}, home=home), "audit.search", {"query": "x"})
    (audit_seg,) = (home / "journals" / sid).glob("*.stj")
    code, _, err = run_main(
        capsys, "--home", str(home), "verify", "--strict", "--tsa-root", str(root)
    )
    assert code == 1
    assert err.strip() == (
        f"verification FAILED: {audit_seg}: rfc3161: sealed segment has no timestamp token (seal)"
    )


@pytest.mark.parametrize(
    ("attack", "label"),
    [
        ("none", "(signature only; TSA chain not checked)"),
        ("rogue", "(signature only; TSA chain not checked)"),
        ("flip", "(NOT verified)"),
    ],
)
def test_the_viewer_and_report_never_show_an_unverified_time_as_verified(
    sealed: tuple[Path, Path], tmp_path: Path, attack: str, label: str
) -> None:
    """The integrity badge (viewer) and report.html label the seal time by how far it
    verified; a tampered or unchained token is never labelled verified."""
    home, seg = sealed
    body, token = _seal(seg)
    if attack == "rogue":
        with LocalTSA(tmp_path / "rogue", name="rogue") as rogue:
            _store_token(seg, request_timestamp(sha256(body), rogue.url))
    elif attack == "flip":
        _store_token(seg, _flip_signature(token, body))
    report = verify_paths([seg], Keyring.load(home).trust())
    f = SegmentFile(seg)
    try:
        badge = session_integrity(
            report, [OpenSegment(seg, f, None, report.segments[0])], [], (0, 4)
        )
    finally:
        f.close()
    tst = badge["segments"][0]["rfc3161"]
    assert tst["verified_time"] is None
    assert tst["label"].startswith("RFC 3161 ") and tst["label"].endswith(label)
    html = "".join(_integrity_part(badge))
    assert f"<td>{tst['label']}</td>" in html
    assert "verified to a trusted TSA root" not in html
