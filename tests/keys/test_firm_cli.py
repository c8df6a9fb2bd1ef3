"""Firm keys end to end through the CLI: `keys firm-init` in a firm home, a workstation home
that records with its public key, and a fresh home holding only the firm private key and the
workstation's trusted public key that verifies, replays and exports the session; a home with
neither key says "cannot decrypt", never "FAILED: format"."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from agent.replay.session import ReplaySession
from tests.cli.clirun import run_main
from tests.keys.firmhome import (
    configure_recipients,
    key_settings_restored,
    keyring,
    new_home,
    record,
)

__all__ = ["key_settings_restored"]
pytestmark = pytest.mark.usefixtures("key_settings_restored")


def _firm_init(capsys: pytest.CaptureFixture[str], firm: Path, out: Path) -> str:
    code, text, err = run_main(capsys, "--home", str(firm), "keys", "firm-init", "--out", str(out))
    assert code == 0, err
    m = re.match(r"created firm key (firm:[0-9a-f]{16}) \(file \(", text)
    assert m is not None, text
    assert f"public key: {out}\n" in text
    assert f'recipients = ["/etc/sessiontape/{out.name}"]\n' in text
    assert "keep a second recipient (disaster recovery) or a backup" in text
    signer = keyring(firm).signer().key_id
    assert f"this home signs its exports and audit records with {signer}\n" in text
    assert out.stat().st_mode & 0o777 == 0o644
    return m.group(1)


def _shipped(ws: Path, target: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``target`` receives the workstation's journals (as a restore from the vault would) and
    trusts the workstation's signing key exported with `keys export-public`."""
    shutil.copytree(ws / "journals", target / "journals")
    pubs = ws.parent / "ws-public"
    assert run_main(capsys, "--home", str(ws), "keys", "export-public", str(pubs))[0] == 0
    for pub in pubs.glob("*.pub"):
        assert run_main(capsys, "--home", str(target), "keys", "trust", str(pub))[0] == 0


def test_fresh_home_with_only_the_firm_key_verifies_replays_and_exports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The firm home decrypts every segment a workstation wrapped to its key (and re-derives
    an exported bundle's views with it); `keys list` names the configured recipient on the
    workstation and the held key on the firm side."""
    firm = new_home(tmp_path / "firm")
    kid = _firm_init(capsys, firm, tmp_path / "firm-primary.pem")
    ws = new_home(tmp_path / "ws")
    configure_recipients(ws, tmp_path / "firm-primary.pem")
    record(ws)
    code, out, _ = run_main(capsys, "--home", str(ws), "keys", "list")
    assert f"firm_recipients: {kid}\n" in out and "firm_held: (none)\n" in out
    _shipped(ws, firm, capsys)
    assert not keyring(firm).holds_kek(keyring(ws).current_kek_id())  # only the firm key
    code, out, err = run_main(capsys, "--home", str(firm), "verify", "--decrypt")
    assert code == 0, err
    assert "verified: 1 segments, every check passed" in out
    code, out, _ = run_main(capsys, "--home", str(firm), "keys", "list")
    assert f"firm_held: {kid}\n" in out
    (sid,) = [p.name for p in (firm / "journals").iterdir()]
    rs = ReplaySession.open(firm, sid, keyring=keyring(firm))
    try:
        assert rs.integrity()["status"] == "verified"
        ticks = [r.payload["n"] for r in rs.records(0, 100) if r.kind == "clock.tick"]
        assert ticks == list(range(10))
    finally:
        rs.close()
    # Export signs the bundle with the firm home's own key, which firm-init created.
    code, out, err = run_main(
        capsys, "--home", str(firm), "export", sid, "--out", str(tmp_path / "b.zip")
    )
    assert code == 0, err
    assert out.startswith("exported 1 session(s)")
    code, out, err = run_main(capsys, "--home", str(firm), "verify-bundle", str(tmp_path / "b.zip"))
    assert code == 0, err
    assert "bundle verified: every check passed" in out and "NOT re-derived" not in out


def test_home_without_any_key_says_cannot_decrypt_not_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Verify with --decrypt exits 2 naming the unavailable KEK and firm key; replay shows the
    same reason; the words "FAILED: format" appear nowhere."""
    firm = new_home(tmp_path / "firm")
    kid = _firm_init(capsys, firm, tmp_path / "firm.pem")
    ws = new_home(tmp_path / "ws")
    configure_recipients(ws, tmp_path / "firm.pem")
    (seg,) = record(ws)
    other = new_home(tmp_path / "other")
    _shipped(ws, other, capsys)
    kek = keyring(ws).current_kek_id()
    code, out, err = run_main(capsys, "--home", str(other), "verify", "--decrypt")
    assert code == 2
    copy = other / "journals" / seg.parent.name / seg.name
    assert err == (
        f"not decryptable here: {copy}: decrypt: cannot decrypt (key {kek} unavailable; "
        f"firm keys {kid} not held here) (every integrity check passed; reading needs the "
        "workstation's KEK or a firm key)\n"
    )
    assert "verification FAILED" not in err
    assert "FAILED: format" not in out + err and "format: " not in err
    assert run_main(capsys, "--home", str(other), "verify")[0] == 0  # integrity needs no key
    rs = ReplaySession.open(other, seg.parent.name, keyring=keyring(other))
    try:
        integ = rs.integrity()
    finally:
        rs.close()
    assert integ["failed_check"] == "decrypt"
    assert integ["status"] == "undecryptable"  # closed to this home, not damaged
    assert integ["withheld"] == [
        {
            "segment": seg.name,
            "reason": f"cannot decrypt (key {kek} unavailable; firm keys {kid} not held here)",
        }
    ]
    assert f"cannot decrypt (key {kek} unavailable" in integ["first_failure"]


def test_index_leaves_undecryptable_segments_for_a_home_with_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A verified segment no key here opens is reported as not indexed (exit 2), not as a
    failed verification, and the first run with the firm key indexes it."""
    firm = new_home(tmp_path / "firm")
    _firm_init(capsys, firm, tmp_path / "firm.pem")
    firm_keys = firm / "keys" / "firm"
    ws = new_home(tmp_path / "ws")
    configure_recipients(ws, tmp_path / "firm.pem")
    (seg,) = record(ws)
    kek = keyring(ws).current_kek_id()
    _shipped(ws, firm, capsys)
    hidden = tmp_path / "firm-keys-away"
    firm_keys.rename(hidden)
    code, out, err = run_main(capsys, "--home", str(firm), "index", "update")
    assert code == 2, err
    assert f"NOT INDEXED {seg.parent.name} segment 0 " in err
    assert f"cannot decrypt (key {kek} unavailable" in err
    assert "FAILED VERIFICATION" not in err
    assert ", 0 segments indexed" in out
    hidden.rename(firm_keys)
    code, out, err = run_main(capsys, "--home", str(firm), "index", "update")
    assert code == 0, err
    assert ", 1 segments indexed" in out
