"""Attacks on the S3 vault that Object Lock allows: a newer version, a delete marker, a lying
receipt. Each is reported as a vault anomaly naming key and version ids, and never hides the
locked original, which every reader fetches by the version its receipt records.

The attacker has write access to the bucket (not to delete locked versions): a plain
``put_object`` over a segment key adds a newer, unlocked version; a plain ``delete_object``
adds a delete marker; a ``put_object`` over a receipt object adds a lying receipt. The vault is
moto in server mode. moto is weaker than S3 (it would even let a COMPLIANCE version be deleted
once its retention is shortened), so no test relies on moto refusing anything: the property -
the original version is still there, locked, and is what was read - is checked client-side.

The fresh home B shares only A's key directory (KEK, signing key and trust): it has no
journals, no ship state and no index. The firm-key variant (B holding only the firm's private
key and trust store) is tested once the firm compliance keys are integrated.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.keys import Keyring
from agent.replay.session import ReplaySession
from agent.ship.receipts import RECEIPT_SUFFIX
from agent.ship.restore import restore_for_read
from agent.ship.s3 import S3Vault
from agent.testing import FakeClock
from tests.attacks.homes import recorded_home, session_dirs, ship_all
from tests.cli.clirun import run_main

PREFIX = "desk1"


@dataclass
class Attacked:
    """Home A that shipped three sessions, the vault, and what the attacker did to it."""

    home: Path
    fresh: Path
    vault: S3Vault
    replaced: str  # key covered by a newer version
    replaced_original: str
    replaced_new: str
    hidden: str  # key hidden by a delete marker
    hidden_original: str
    marker: str
    originals: dict[str, bytes]  # key -> the bytes home A shipped

    @property
    def url(self) -> str:
        return self.vault.url


def _now() -> FakeClock:
    """The shipper's clock: near moto's own (the posture check compares them)."""
    return FakeClock(utc_ns=time.time_ns())


def _key(p: Path) -> str:
    return f"segments/{p.parent.name}/{p.name}"


def _only_version(v: S3Vault, key: str) -> str:
    (ver,) = v.versions(key)
    return ver.version_id


@pytest.fixture
def attacked(tmp_path: Path, lock_bucket: str) -> Attacked:
    """Ship three two-segment sessions to moto, then overwrite one segment with a plain PUT
    and hide another with a plain DELETE, as an attacker with bucket write access would."""
    clock = FakeClock()
    home = recorded_home(tmp_path, clock)
    vault = S3Vault(lock_bucket, PREFIX)
    ship_all(home, _now(), vault).state.close()
    segs = sorted(session_dirs(home)[0].glob("*.stj")) + sorted(session_dirs(home)[1].glob("*.stj"))
    originals = {_key(p): p.read_bytes() for d in session_dirs(home) for p in d.glob("*.stj")}
    replaced, hidden = _key(segs[0]), _key(segs[3])
    rep_orig, hid_orig = _only_version(vault, replaced), _only_version(vault, hidden)
    c = vault.client
    new = c.put_object(Bucket=lock_bucket, Key=f"{PREFIX}/{replaced}", Body=b"not the record")
    marker = c.delete_object(Bucket=lock_bucket, Key=f"{PREFIX}/{hidden}")
    assert marker["DeleteMarker"] is True
    fresh = tmp_path / "fresh"
    fresh.mkdir(mode=0o700)
    shutil.copytree(home / "keys", fresh / "keys")
    return Attacked(
        home,
        fresh,
        vault,
        replaced,
        rep_orig,
        str(new["VersionId"]),
        hidden,
        hid_orig,
        str(marker["VersionId"]),
        originals,
    )


def _newer(a: Attacked) -> str:
    return (
        f"vault anomaly: {a.replaced}: newer version {a.replaced_new} over locked original "
        f"{a.replaced_original} (original read by version)"
    )


def _marker(a: Attacked) -> str:
    return (
        f"vault anomaly: {a.hidden}: delete marker {a.marker} hides locked original "
        f"{a.hidden_original} (original read by version)"
    )


def test_originals_survive_the_attack_locked_checked_client_side(attacked: Attacked) -> None:
    """moto enforces little: the property itself - original present and locked - is asserted."""
    for key, vid in (
        (attacked.replaced, attacked.replaced_original),
        (attacked.hidden, attacked.hidden_original),
    ):
        st = attacked.vault.head_version(key, vid)
        assert st.mode == "COMPLIANCE" and st.retain_until is not None
        assert attacked.vault.get_version(key, vid) == attacked.originals[key]
    assert attacked.hidden not in attacked.vault.list("segments/")  # what a naive list sees


def test_index_rebuild_from_vault_in_a_fresh_home_indexes_originals_and_names_anomalies(
    attacked: Attacked, capsys: pytest.CaptureFixture[str]
) -> None:
    """Never "0 sessions, exit 0": all three sessions are indexed, both anomalies named, exit 1."""
    code, out, err = run_main(
        capsys, "--home", str(attacked.fresh), "index", "rebuild", "--from-vault", attacked.url
    )
    assert code == 1
    assert out.startswith("rebuilt: 3 sessions, 6 segments indexed")
    assert _newer(attacked) in err.splitlines()
    assert _marker(attacked) in err.splitlines()
    assert "FAILED VERIFICATION" not in err


def test_verify_from_vault_in_a_fresh_home_names_anomalies_and_verifies_originals(
    attacked: Attacked, capsys: pytest.CaptureFixture[str]
) -> None:
    """The vault alone: every original segment verifies; each anomaly is a failed check."""
    code, out, err = run_main(
        capsys, "--home", str(attacked.fresh), "verify", "--from-vault", attacked.url
    )
    assert code == 1
    ok = [ln for ln in out.splitlines() if ln.startswith("OK  ") and "vault:segments/" in ln]
    assert len(ok) == 6
    assert f"FAIL vault: {_newer(attacked)}" in out.splitlines()
    assert f"FAIL vault: {_marker(attacked)}" in out.splitlines()
    assert "erased locally" not in out


def test_verify_vault_from_the_shipping_home_names_anomalies(
    attacked: Attacked, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reconciliation reads the vault by the state.db receipts' versions and reports both."""
    code, out, err = run_main(
        capsys, "--home", str(attacked.home), "verify", "--vault", attacked.url
    )
    assert code == 1
    assert f"FAIL vault: {_newer(attacked)}" in out.splitlines()
    assert f"FAIL vault: {_marker(attacked)}" in out.splitlines()
    assert "seal differs" not in out  # the local copies match the originals, not the new version


def test_ship_status_lists_the_anomalies(
    attacked: Attacked, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ship status`` and ``--json`` carry both anomalies with key and version ids."""
    monkeypatch.setenv("SESSIONTAPE_VAULT_URL", attacked.url)
    code, out, _ = run_main(capsys, "--home", str(attacked.home), "ship", "status")
    assert code == 0
    assert "vault anomalies: 2" in out
    assert f"    {attacked.url}: {_newer(attacked)}" in out.splitlines()
    assert f"    {attacked.url}: {_marker(attacked)}" in out.splitlines()
    code, out, _ = run_main(capsys, "--home", str(attacked.home), "ship", "status", "--json")
    messages = {a["message"] for a in json.loads(out)["anomalies"]}
    assert messages == {_newer(attacked), _marker(attacked)}


def test_export_from_vault_in_a_fresh_home_uses_the_original_bytes(
    attacked: Attacked, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The bundle's native segment copies are the shipped originals, not the newer version."""
    sid = attacked.replaced.split("/")[1]
    out_dir = tmp_path / "bundle"
    code, out, err = run_main(
        capsys,
        "--home",
        str(attacked.fresh),
        "export",
        sid,
        "--out",
        str(out_dir),
        "--from-vault",
        attacked.url,
    )
    assert code == 0, err
    assert f"restored 2 segments of {sid} from {attacked.url} (by receipt version" in err
    assert _newer(attacked) in err.splitlines()
    name = attacked.replaced.split("/")[2]
    copy = out_dir / "native" / "segments" / sid / name
    assert copy.read_bytes() == attacked.originals[attacked.replaced]


def test_export_from_vault_reads_the_vault_copy_even_where_a_local_one_exists(
    attacked: Attacked, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """In the shipping home, whose local copy of a segment was altered after shipping,
    ``export --from-vault`` bundles the vault's original, not the local bytes."""
    sid = attacked.replaced.split("/")[1]
    name = attacked.replaced.split("/")[2]
    local = attacked.home / "journals" / sid / name
    data = bytearray(local.read_bytes())
    data[-100] ^= 0xFF
    local.chmod(0o600)
    local.write_bytes(bytes(data))
    out_dir = tmp_path / "bundle-home"
    code, _, err = run_main(
        capsys, "--home", str(attacked.home), "export", sid, "--out", str(out_dir),
        "--from-vault", attacked.url,
    )  # fmt: skip
    assert code == 0, err
    copy = out_dir / "native" / "segments" / sid / name
    assert copy.read_bytes() == attacked.originals[attacked.replaced]
    assert copy.read_bytes() != bytes(data)


def test_replay_from_vault_in_a_fresh_home_opens_the_verified_originals(
    attacked: Attacked,
) -> None:
    """What ``replay --from-vault`` does before serving: restore, then open and verify."""
    sid = attacked.hidden.split("/")[1]
    lines: list[str] = []
    res = restore_for_read(attacked.fresh, sid, attacked.url, echo=lines.append)
    assert res is not None and res.segments == 2 and res.fetched == 2
    assert lines[0].startswith(f"restored 2 segments of {sid} from {attacked.url}")
    assert _marker(attacked) in lines
    rs = ReplaySession.open(attacked.fresh, sid, keyring=Keyring.load(attacked.fresh))
    try:
        assert rs.integrity()["ok"] is True
        assert [s.path.read_bytes() for s in rs.segs] == [
            attacked.originals[f"segments/{sid}/{s.path.name}"] for s in rs.segs
        ]
    finally:
        rs.close()
    again = restore_for_read(attacked.fresh, sid, attacked.url, echo=lines.append)
    assert again is not None and again.fetched == 0  # the cache is reused when its hashes hold


def test_a_lying_receipt_object_is_named_and_the_original_receipt_used(
    attacked: Attacked, capsys: pytest.CaptureFixture[str]
) -> None:
    """A newer receipt version claiming another checksum and version id is an anomaly; the
    receipt's original version still says which segment version is the record."""
    key = sorted(attacked.originals)[-1]
    rkey = key + RECEIPT_SUFFIX
    (orig,) = attacked.vault.versions(rkey)
    doc = json.loads(attacked.vault.get_version(rkey, orig.version_id))
    lie = {**doc, "checksum_sha256": "0" * 64, "version_id": "forged"}
    put = attacked.vault.client.put_object(
        Bucket=attacked.vault.bucket, Key=f"{PREFIX}/{rkey}", Body=json.dumps(lie).encode()
    )
    code, out, _ = run_main(
        capsys,
        "--home",
        str(attacked.fresh),
        "verify",
        "--from-vault",
        attacked.url,
        "--session",
        key.split("/")[1],
    )
    assert code == 1
    assert (
        f"FAIL vault: vault anomaly: {rkey}: newer version {put['VersionId']} over original "
        f"receipt {orig.version_id} (original read by version)"
    ) in out.splitlines()
    assert len([ln for ln in out.splitlines() if ln.startswith("OK  ")]) == 2


def test_export_of_a_session_no_longer_local_restores_from_its_receipts(
    tmp_path: Path, lock_bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Local retention removed the journals; export finds the receipts and restores by them."""
    clock = FakeClock()
    home = recorded_home(tmp_path, clock, sessions=1)
    vault = S3Vault(lock_bucket, PREFIX)
    sid = session_dirs(home)[0].name
    ship_all(home, _now(), vault, keep_local_days=0).state.close()
    assert not list((home / "journals").rglob("*.stj"))
    code, _, err = run_main(
        capsys, "--home", str(home), "export", sid, "--out", str(tmp_path / "b")
    )
    assert code == 0, err
    assert err.splitlines()[0].startswith(f"restored 2 segments of {sid} from {vault.url}")


def test_a_session_partly_pruned_locally_is_read_whole_from_the_vault(
    tmp_path: Path, lock_bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Local retention removed the older segment of a session and kept the newer one: export
    restores the session and reads all of it, not the local half."""
    import sqlite3

    clock = FakeClock()
    home = recorded_home(tmp_path, clock, sessions=1)
    vault = S3Vault(lock_bucket, PREFIX)
    sdir = session_dirs(home)[0]
    sid = sdir.name
    newer = sorted(sdir.glob("*.stj"))[1]
    kept = tmp_path / newer.name
    shutil.copy2(newer, kept)
    ship_all(home, _now(), vault, keep_local_days=0).state.close()
    shutil.copy2(kept, newer)  # the state retention leaves when only the older one was due
    con = sqlite3.connect(home / "ship" / "state.db")
    with con:
        con.execute(
            "UPDATE objects SET local_deleted_ns = NULL WHERE key = ?",
            (f"segments/{sid}/{newer.name}",),
        )
    con.close()
    code, out, err = run_main(
        capsys, "--home", str(home), "export", sid, "--out", str(tmp_path / "b")
    )
    assert code == 0, err
    assert err.splitlines()[0].startswith(f"restored 2 segments of {sid} from {vault.url}")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    (session,) = manifest["sessions"]
    assert [s["file"].rsplit("/", 1)[-1][:6] for s in session["segments"]] == [
        "000000",
        "000001",
    ]


def test_a_session_in_neither_place_is_one_line_naming_where_it_looked(
    attacked: Attacked, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unknown locally and in the vault: exit 2, the session and the vault named."""
    code, _, err = run_main(
        capsys,
        "--home",
        str(attacked.fresh),
        "export",
        "19990101T000000Z-deadbeef",
        "--out",
        str(attacked.fresh.parent / "x"),
        "--from-vault",
        attacked.url,
    )
    assert code == 2
    assert (
        f"unknown session '19990101T000000Z-deadbeef': no segments of it in {attacked.url}"
    ) in err


def test_a_legal_hold_lands_on_the_original_not_on_the_newer_version(
    attacked: Attacked,
) -> None:
    """The hold follows the record: the oldest version, whatever was put over it."""
    attacked.vault.set_legal_hold(attacked.replaced, True)
    assert attacked.vault.head_version(attacked.replaced, attacked.replaced_original).legal_hold
    assert not attacked.vault.head_version(attacked.replaced, attacked.replaced_new).legal_hold
    attacked.vault.set_legal_hold(attacked.hidden, True)  # under a delete marker too
    assert attacked.vault.head_version(attacked.hidden, attacked.hidden_original).legal_hold
