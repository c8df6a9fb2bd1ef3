"""The file vault: content-addressed blobs written once and made read-only, versioned
sidecars, refusal of overwrite and early delete (software-enforced; not a regulatory WORM)."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest

from agent.canonical import sha256_hex
from agent.clock import ns_to_dt
from agent.errors import UnknownVersion, VaultError
from agent.ship.filevault import FileVault
from agent.testing import FakeClock


def _v(tmp_path: Path) -> tuple[FileVault, FakeClock, dt.datetime]:
    clock = FakeClock()
    return (
        FileVault(tmp_path / "v", clock=clock),
        clock,
        ns_to_dt(clock.utc_ns()) + dt.timedelta(days=10),
    )


def test_blob_is_content_addressed_and_read_only(tmp_path: Path) -> None:
    """blobs/<aa>/<sha256>, mode 0444; sidecar records lock and checksum."""
    v, _, until = _v(tmp_path)
    v.put_immutable("segments/s/a.stj", b"hello", retain_until=until, mode="COMPLIANCE")
    digest = sha256_hex(b"hello")
    blob = tmp_path / "v" / "blobs" / digest[:2] / digest
    assert blob.read_bytes() == b"hello"
    assert stat.S_IMODE(blob.stat().st_mode) == 0o444
    side = json.loads((tmp_path / "v/objects/segments/s/a.stj.obj.json").read_text())
    assert (side["v"], side["sha256"], side["mode"], side["retain_until"]) == (
        1,
        digest,
        "COMPLIANCE",
        "2026-01-11T00:00:00Z",
    )


def test_same_bytes_under_two_keys_share_one_blob_until_both_are_gone(tmp_path: Path) -> None:
    """Deleting one key after retain-until keeps the blob the other key needs."""
    v, clock, until = _v(tmp_path)
    v.put_immutable("a", b"same", retain_until=until, mode="COMPLIANCE")
    v.put_immutable("b", b"same", retain_until=until, mode="COMPLIANCE")
    clock.advance_s(11 * 86400)
    v.delete("a")
    assert v.get("b") == b"same"
    v.delete("b")
    assert list((tmp_path / "v" / "blobs").rglob("*")) == [
        tmp_path / "v" / "blobs" / sha256_hex(b"same")[:2]
    ]


def test_delete_is_allowed_only_after_retain_until(tmp_path: Path) -> None:
    """Refused one second before, allowed at retain-until."""
    v, clock, until = _v(tmp_path)
    v.put_immutable("a", b"x", retain_until=until, mode="COMPLIANCE")
    clock.advance_s(10 * 86400 - 1)
    with pytest.raises(VaultError, match="retained until"):
        v.delete("a")
    clock.advance_s(1)
    v.delete("a")
    assert v.list() == []


def test_posture_says_software_enforced(tmp_path: Path) -> None:
    """Honest about what it is."""
    p = _v(tmp_path)[0].posture()
    assert p.enforced_by == "software" and "not a regulatory WORM" in p.notes[0]


def test_unknown_vault_version_is_refused(tmp_path: Path) -> None:
    """vault.json carries a version; readers dispatch on it."""
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "vault.json").write_text('{"v": 99}')
    with pytest.raises(UnknownVersion, match="file vault version 99"):
        FileVault(tmp_path / "v")


@pytest.mark.parametrize("key", ["../escape", "/abs", "a/../../b", ""])
def test_keys_that_could_escape_the_vault_directory_are_refused(tmp_path: Path, key: str) -> None:
    """No path traversal through object keys."""
    v, _, until = _v(tmp_path)
    with pytest.raises(VaultError, match="invalid object key"):
        v.put_immutable(key, b"x", retain_until=until, mode="COMPLIANCE")
