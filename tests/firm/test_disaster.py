"""The disaster test: a workstation records and ships to S3 Object Lock, then its whole home
is deleted; the firm, holding only its firm private key and the workstation's public signing
key (enrolled at deployment), rebuilds the index, searches, verifies with decryption and
exports from the vault alone, and the bundle verifies offline with nothing but itself and the
recipient's key.

Real parts: Chromium recording the demo trading app (``sessiontape demo``), moto in server mode
on 127.0.0.1 for S3 (versioned, Object Lock), every command a separate ``sessiontape``
process. moto does not enforce every WORM refusal (see ``tests/ship/conftest.py``); nothing
here relies on a refusal.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.cli.clirun import run


def _workstation_records_and_ships(
    tmp_path: Path, ws: Path, url: str, firm_pem: Path
) -> tuple[str, list[str]]:
    """The workstation records the demo with the firm key as a required recipient and ships
    to ``url``; its public signing key is exported for the firm. Returns the session id and
    the workstation's KEK ids."""
    (ws / "sessiontape.toml").write_text(
        f'[seal.firm]\nrecipients = ["{firm_pem}"]\nrequire = true\n[ship]\nvault_url = "{url}"\n'
    )
    r = run("demo", "--fast", "--headless", "--no-tsa", home=ws, timeout=300)
    assert r.code == 0, r.out + r.err
    sid_m = re.search(r"^session   (\S+)$", r.out, re.M)
    assert sid_m is not None, r.out
    assert f"sealed segment(s) to {url}, lock confirmed by HEAD" in r.out
    assert run("keys", "export-public", str(tmp_path / "ws-public"), home=ws).code == 0
    ws_keks = json.loads(run("keys", "list", "--json", home=ws).out)["kek"]
    assert ws_keks
    return sid_m.group(1), list(ws_keks)


def _export_and_verify_offline(tmp_path: Path, firm: Path, sid: str, url: str) -> None:
    """The firm exports for an examiner (data keys sealed to the examiner's key); the
    examiner verifies the bundle in an empty home with the firm's published keys."""
    examiner = tmp_path / "examiner"
    examiner.mkdir(mode=0o700)
    r = run("keys", "escrow-init", "--officer", "Examiner", "--out", str(examiner), home=firm)
    assert r.code == 0, r.err
    (officer_pub,) = examiner.glob("*.pub.pem")
    (officer_key,) = [p for p in examiner.glob("*.pem") if p != officer_pub]
    bundle = tmp_path / "case-42.zip"
    r = run(
        "export", sid, "--from-vault", url, "--out", str(bundle),
        "--recipient", str(officer_pub), "--matter", "SEC-2026-14", home=firm,
    )  # fmt: skip
    assert r.code == 0, r.out + r.err
    assert "restored " in r.err and f"of {sid} from {url}" in r.err
    chosen = r"default \(no class rule matched\)"
    assert re.search(rf"retention {sid}: default \({chosen} until \d{{4}}-", r.out)
    trust = tmp_path / "firm-public"  # what the firm publishes to examiners
    assert run("keys", "export-public", str(trust), home=firm).code == 0
    r = run(
        "verify-bundle", str(bundle), "--trust", str(trust),
        "--recipient-key", str(officer_key), home=examiner,
    )  # fmt: skip
    assert r.code == 0, r.out + r.err
    assert "bundle verified: every check passed" in r.out
    assert "NOT re-derived" not in r.out


@pytest.mark.browser
def test_workstation_home_deleted_the_firm_reads_everything_from_the_vault(
    tmp_path: Path, lock_bucket: str, s3_env: str
) -> None:
    firm, ws = tmp_path / "firm", tmp_path / "ws"
    for d in (firm, ws):
        d.mkdir(mode=0o700)
    firm_pem = tmp_path / "firm-primary.pem"
    r = run("keys", "firm-init", "--out", str(firm_pem), home=firm)
    assert r.code == 0, r.err
    kid = re.search(r"created firm key (firm:[0-9a-f]{16})", r.out)
    assert kid is not None, r.out
    url = f"s3://{lock_bucket}/desk1"
    sid, ws_keks = _workstation_records_and_ships(tmp_path, ws, url, firm_pem)

    shutil.rmtree(ws)  # the disk is gone: journals, KEK, index, ship state

    for pub in sorted((tmp_path / "ws-public").glob("*.pub")):
        assert run("keys", "trust", str(pub), home=firm).code == 0
    held = json.loads(run("keys", "list", "--json", home=firm).out)
    assert held["firm_held"] == [kid.group(1)]
    assert not set(ws_keks) & set(held["kek"])  # nothing of the workstation's KEK is here
    r = run("index", "rebuild", "--from-vault", url, home=firm)
    assert r.code == 0, r.out + r.err
    assert "NOT INDEXED" not in r.err and "FAILED" not in r.err
    r = run("search", 'kind:click "Send"', home=firm)
    assert r.code == 0, r.err
    assert sid in r.out
    r = run("verify", "--from-vault", url, "--session", sid, "--decrypt", home=firm)
    assert r.code == 0, r.out + r.err
    assert "every check passed" in r.out
    _export_and_verify_offline(tmp_path, firm, sid, url)
