"""The ``rfc3161`` check on segments really sealed with a token from the local TSA, through
``sessiontape verify``: a checked token passes; a flipped token byte or a removed token fails
(exit 1, naming the segment); without roots the token's signature is still checked and the
summary says the chain was not, and ``--strict`` / ``seal.require_timestamp`` make that a
failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.seal.tsa_local import LocalTSA
from tests.cli.clirun import run_main
from tests.journals import flip_byte, tamper, write_stamped_session


@pytest.fixture
def sealed(tmp_path: Path, local_tsa: LocalTSA) -> tuple[Path, Path, Path]:
    """(home, its only segment, the TSA root PEM): one session sealed with a real token."""
    home = tmp_path / "home"
    seg = write_stamped_session(home, local_tsa.url)
    root = tmp_path / "root.pem"
    root.write_bytes(local_tsa.root_pem)
    return home, seg, root


def _verify(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    return run_main(capsys, "--home", str(home), "verify", *args)


def test_real_token_verifies_with_the_roots(
    capsys: pytest.CaptureFixture[str], sealed: tuple[Path, Path, Path]
) -> None:
    home, seg, root = sealed
    code, out, err = _verify(capsys, home, str(seg), "--tsa-root", str(root))
    assert code == 0, err
    assert "rfc3161 20" in out  # the verified genTime is printed with the segment
    assert out.splitlines()[0].endswith("(chain verified)")
    assert out.splitlines()[-1] == "verified: 1 segments, every check passed"


def test_flipped_token_byte_fails_rfc3161(
    capsys: pytest.CaptureFixture[str], sealed: tuple[Path, Path, Path]
) -> None:
    home, seg, root = sealed
    flip_byte(seg, "1 = 1", table="seal", column="tst", offset=-2, mask=0x01)
    code, _, err = _verify(capsys, home, str(seg), "--tsa-root", str(root))
    assert code == 1
    assert f"verification FAILED: {seg}: rfc3161: " in err


def test_removed_token_fails_when_roots_are_given(
    capsys: pytest.CaptureFixture[str], sealed: tuple[Path, Path, Path]
) -> None:
    home, seg, root = sealed
    tamper(seg, "UPDATE seal SET tst = NULL")
    code, _, err = _verify(capsys, home, str(seg), "--tsa-root", str(root))
    assert code == 1
    assert err.strip() == (
        f"verification FAILED: {seg}: rfc3161: sealed segment has no timestamp token (seal)"
    )


def test_roots_from_config_fail_a_removed_token_too(
    capsys: pytest.CaptureFixture[str], sealed: tuple[Path, Path, Path]
) -> None:
    home, seg, root = sealed
    tamper(seg, "UPDATE seal SET tst = NULL")
    (home / "sessiontape.toml").write_text(f'[seal]\ntsa_roots = ["{root}"]\n')
    code, _, err = _verify(capsys, home, str(seg))
    assert code == 1
    assert "rfc3161: sealed segment has no timestamp token" in err


def test_without_roots_the_summary_says_timestamps_were_not_checked(
    capsys: pytest.CaptureFixture[str], sealed: tuple[Path, Path, Path]
) -> None:
    home, seg, _ = sealed
    code, out, _ = _verify(capsys, home, str(seg))
    assert code == 0
    assert out.splitlines()[-1] == (
        "verified: 1 segments, every check passed; RFC 3161 chain NOT checked for 1 of 1 "
        "segments (no trusted TSA roots; their token signatures verified with the embedded TSA "
        "certificate) (--tsa-root checks the chain, --strict requires it)"
    )
    assert "(signature only; chain NOT checked)" in out.splitlines()[0]


def test_strict_fails_an_unchecked_or_missing_token_without_roots(
    capsys: pytest.CaptureFixture[str], sealed: tuple[Path, Path, Path]
) -> None:
    home, seg, _ = sealed
    code, _, err = _verify(capsys, home, str(seg), "--strict")
    assert code == 1
    assert "rfc3161: timestamp token not chain-checked: no trusted TSA roots given" in err
    tamper(seg, "UPDATE seal SET tst = NULL")
    (home / "sessiontape.toml").write_text("[seal]\nrequire_timestamp = true\n")
    code, _, err = _verify(capsys, home, str(seg))
    assert code == 1
    assert f"{seg}: rfc3161: sealed segment has no timestamp token" in err


def _seal_with(tmp_path: Path, edit: dict[str, object], drop: tuple[str, ...]) -> tuple[Path, Path]:
    """A one-segment session whose seal body is the journal's with ``edit`` applied and
    ``drop`` removed, signed by the home's own key; returns (home, segment)."""
    from agent.testing import FakeClock, make_event
    from tests.journals import open_journal

    home = tmp_path / "h"
    home.mkdir(mode=0o700)
    clock = FakeClock()
    j = open_journal(home, clock=clock)
    j.append_many([make_event("clock.tick", {"n": 1}, clock=clock, page="P")])
    seg = j._seg
    assert seg is not None
    body = {**seg.seal_body("closed", clock.utc_ns()), **edit}
    for k in drop:
        body.pop(k)
    seg.seal("closed", clock.utc_ns(), body=body)
    j.abandon()
    return home, seg.path


def test_a_version_1_seal_without_retention_still_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Journals sealed before the retention decision was signed (seal v1) keep verifying."""
    home, seg = _seal_with(tmp_path, {"v": 1}, ("retention",))
    code, out, err = _verify(capsys, home, str(seg))
    assert code == 0, out + err


@pytest.mark.parametrize(
    ("edit", "drop", "message"),
    [
        ({"v": 3}, (), "unknown seal version 3"),
        ({}, ("retention",), "seal version 2 without a valid retention decision"),
        ({"retention": {"class": ""}}, (), "seal version 2 without a valid retention decision"),
    ],
)
def test_an_unknown_seal_version_or_a_v2_seal_without_retention_fails(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: dict[str, object],
    drop: tuple[str, ...],
    message: str,
) -> None:
    """Signed by the right key, but not a seal this reader knows: verification fails."""
    home, seg = _seal_with(tmp_path, edit, drop)
    code, out, err = _verify(capsys, home, str(seg))
    assert code == 1 and message in out + err
