"""One conformance suite for every vault backend (Teleport-style): moto S3 in server mode,
the file vault, the memory vault - and a real S3/MinIO when ``SESSIONTAPE_S3_TEST_URL`` is set
(opt-in: without it that parameter is not generated at all).

moto does not enforce every WORM refusal (deleting a locked version, for one); the refusals
below are our client's and are asserted on the object's surviving state, never on moto
refusing.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from agent.canonical import sha256_hex
from agent.clock import ns_to_dt
from agent.errors import PostureError, VaultError
from agent.ship.filevault import FileVault
from agent.ship.s3 import S3Vault
from agent.ship.testing import FlakyVault, MemoryVault
from agent.ship.urls import open_vault
from agent.ship.vault import NotFound, ObjectState, Vault
from agent.testing import FakeClock

BACKENDS = ["s3-moto", "file", "memory"]
if os.environ.get("SESSIONTAPE_S3_TEST_URL"):
    BACKENDS.append("s3-real")


@dataclass
class Backend:
    vault: Vault
    clock: FakeClock
    versions: Callable[[str], int]


def _s3_versions(v: S3Vault) -> Callable[[str], int]:
    def count(key: str) -> int:
        r = v.client.list_object_versions(Bucket=v.bucket, Prefix=v._k(key))
        return sum(1 for x in r.get("Versions", []) if x["Key"] == v._k(key))

    return count


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    import time

    clock = FakeClock(utc_ns=time.time_ns())
    if request.param == "s3-moto":
        from tests.ship.conftest import make_bucket

        request.getfixturevalue("s3_env")
        mv3 = S3Vault(make_bucket(), "conf", clock=clock)
        yield Backend(mv3, clock, _s3_versions(mv3))
    elif request.param == "s3-real":
        url = os.environ["SESSIONTAPE_S3_TEST_URL"].rstrip("/") + f"/t-{uuid.uuid4().hex[:8]}"
        sv = S3Vault.from_url(url, clock=clock)
        yield Backend(sv, clock, _s3_versions(sv))
    elif request.param == "file":
        fv = FileVault(tmp_path / "vault", clock=clock)
        yield Backend(
            fv, clock, lambda k: 1 if (fv.root / "objects" / (k + ".obj.json")).exists() else 0
        )
    else:
        mv = open_vault("memory://", allow_memory=True, clock=clock)
        assert isinstance(mv, MemoryVault)
        yield Backend(mv, clock, lambda k: 1 if k in mv.objects else 0)


def _until(b: Backend, days: int = 1) -> dt.datetime:
    return ns_to_dt(b.clock.utc_ns()) + dt.timedelta(days=days)


def test_put_returns_receipt_matching_head_lock_and_checksum(backend: Backend) -> None:
    """A receipt is only returned once HEAD shows our mode, retain-until and checksum."""
    data = b"segment bytes \x00\x01" * 100
    until = _until(backend, 2)
    r = backend.vault.put_immutable(
        "segments/s1/000000-a.stj", data, retain_until=until, mode="COMPLIANCE"
    )
    st = backend.vault.head("segments/s1/000000-a.stj")
    assert (r.mode, r.retain_until, r.checksum_sha256, r.size) == (
        "COMPLIANCE",
        until.replace(microsecond=0),
        sha256_hex(data),
        len(data),
    )
    assert (st.mode, st.retain_until, st.checksum_sha256, st.version_id) == (
        "COMPLIANCE",
        r.retain_until,
        r.checksum_sha256,
        r.version_id,
    )
    assert r.version_id
    assert backend.vault.get("segments/s1/000000-a.stj") == data
    assert backend.versions("segments/s1/000000-a.stj") == 1


def test_same_bytes_again_returns_the_existing_version_not_a_new_one(backend: Backend) -> None:
    """Resume after an interruption: re-putting identical bytes is idempotent."""
    until = _until(backend)
    r1 = backend.vault.put_immutable("k/a", b"abc", retain_until=until, mode="COMPLIANCE")
    r2 = backend.vault.put_immutable("k/a", b"abc", retain_until=until, mode="COMPLIANCE")
    assert r2.version_id == r1.version_id
    assert backend.versions("k/a") == 1


def test_overwrite_with_different_bytes_is_refused_and_original_kept(backend: Backend) -> None:
    """A key is written once; different bytes under it are refused."""
    until = _until(backend)
    backend.vault.put_immutable("k/b", b"original", retain_until=until, mode="COMPLIANCE")
    with pytest.raises(VaultError, match="refusing to overwrite"):
        backend.vault.put_immutable("k/b", b"forged", retain_until=until, mode="COMPLIANCE")
    assert backend.vault.get("k/b") == b"original"
    assert backend.versions("k/b") == 1


def test_delete_before_retain_until_is_refused(backend: Backend) -> None:
    """Our client refuses (moto may not): the object and its only version survive."""
    backend.vault.put_immutable("k/c", b"keep me", retain_until=_until(backend), mode="COMPLIANCE")
    with pytest.raises(VaultError, match="retained until"):
        backend.vault.delete("k/c")
    assert backend.vault.get("k/c") == b"keep me"
    assert backend.versions("k/c") == 1


def test_legal_hold_is_reported_by_head_and_blocks_delete(backend: Backend) -> None:
    """Legal hold is independent of retention and blocks deletion even after retain-until."""
    v = backend.vault
    v.put_immutable("k/d", b"held", retain_until=_until(backend), mode="COMPLIANCE")
    v.set_legal_hold("k/d", True)
    assert v.head("k/d").legal_hold is True
    backend.clock.advance_s(3 * 86400)  # past retain-until on our clock
    with pytest.raises(VaultError, match="legal hold"):
        v.delete("k/d")
    v.set_legal_hold("k/d", False)
    assert v.head("k/d").legal_hold is False
    assert v.get("k/d") == b"held"


def test_retention_is_extended_never_shortened_and_head_shows_it(backend: Backend) -> None:
    """extend_retention moves retain-until later (HEAD confirms it); an earlier date is a
    no-op, and delete stays refused until the new date."""
    v = backend.vault
    v.put_immutable("k/x", b"kept", retain_until=_until(backend, 1), mode="COMPLIANCE")
    longer = _until(backend, 5)
    version = v.head("k/x").version_id
    assert v.extend_retention("k/x", version, longer).retain_until == longer
    assert v.head("k/x").retain_until == longer
    assert v.extend_retention("k/x", "", _until(backend, 2)).retain_until == longer
    backend.clock.advance_s(3 * 86400)  # past the first date, before the extended one
    with pytest.raises(VaultError, match="retain"):
        v.delete("k/x")


def test_put_with_legal_hold_on_sets_it_at_write(backend: Backend) -> None:
    """Objects of a held session are written with the hold already on."""
    r = backend.vault.put_immutable(
        "k/h", b"x", retain_until=_until(backend), mode="COMPLIANCE", legal_hold=True
    )
    assert r.legal_hold is True and backend.vault.head("k/h").legal_hold is True


def test_retain_until_in_the_past_is_refused_as_posture_error(backend: Backend) -> None:
    """A clock far off (retain-until already past) never produces an unlocked object."""
    past = ns_to_dt(backend.clock.utc_ns()) - dt.timedelta(days=1)
    with pytest.raises(PostureError, match="not in the future"):
        backend.vault.put_immutable("k/e", b"x", retain_until=past, mode="COMPLIANCE")
    with pytest.raises(NotFound):
        backend.vault.head("k/e")


def test_list_returns_keys_under_the_prefix_only(backend: Backend) -> None:
    """list(prefix) is relative to the vault and filtered by prefix."""
    until = _until(backend)
    for k in ("segments/s1/a", "segments/s1/b", "segments/s2/a", "checkpoints/s1/x/0.json"):
        backend.vault.put_immutable(k, k.encode(), retain_until=until, mode="COMPLIANCE")
    assert backend.vault.list("segments/s1/") == ["segments/s1/a", "segments/s1/b"]
    assert "checkpoints/s1/x/0.json" in backend.vault.list("")


def test_retry_after_connection_reset_stores_the_object_exactly_once(backend: Backend) -> None:
    """The connection drops after the backend stored the object: the error is retryable, and
    the retry's PUT of the same bytes reaches the backend again yet leaves one stored version."""
    flaky = FlakyVault(backend.vault)
    flaky.lose_put_response = 1  # the reset comes on the response path, after the store
    with pytest.raises(VaultError) as ei:
        flaky.put_immutable("k/f", b"data", retain_until=_until(backend), mode="COMPLIANCE")
    assert ei.value.retryable is True
    assert backend.versions("k/f") == 1  # the failed attempt did reach the backend
    r = flaky.put_immutable("k/f", b"data", retain_until=_until(backend), mode="COMPLIANCE")
    assert r.checksum_sha256 == sha256_hex(b"data")
    assert backend.versions("k/f") == 1


def test_lost_put_response_then_retry_is_exactly_once(backend: Backend) -> None:
    """The PUT arrived but its answer was lost; the retry finds it instead of duplicating."""
    flaky = FlakyVault(backend.vault)
    flaky.lose_put_response = 1
    with pytest.raises(VaultError, match="response lost"):
        flaky.put_immutable("k/g", b"data", retain_until=_until(backend), mode="COMPLIANCE")
    r = flaky.put_immutable("k/g", b"data", retain_until=_until(backend), mode="COMPLIANCE")
    assert backend.versions("k/g") == 1 and backend.vault.head("k/g").version_id == r.version_id


def test_head_reporting_no_lock_is_a_posture_error_not_a_receipt(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that does not honour the lock never yields a receipt: the backend's own
    HEAD-confirmation after the PUT refuses an object that comes back unlocked."""
    real_head = backend.vault.head

    def head_without_lock(key: str) -> ObjectState:
        return replace(real_head(key), mode=None, retain_until=None)

    monkeypatch.setattr(backend.vault, "head", head_without_lock)
    with pytest.raises(PostureError, match="does not honour Object Lock"):
        backend.vault.put_immutable("k/i", b"x", retain_until=_until(backend), mode="COMPLIANCE")


def test_posture_reports_versioning_and_object_lock_enabled(backend: Backend) -> None:
    """The posture of every backend here is versioned + locked."""
    p = backend.vault.posture()
    assert (p.versioning, p.object_lock) == ("Enabled", True)


def test_a_stored_object_has_one_version_readable_by_its_id(backend: Backend) -> None:
    """``versions`` lists the one locked version; ``head_version``/``get_version`` read it by
    the receipt's id, and ``list_versioned`` names the key."""
    until = _until(backend)
    r = backend.vault.put_immutable("v/a", b"record", retain_until=until, mode="COMPLIANCE")
    (ver,) = backend.vault.versions("v/a")
    assert (ver.version_id, ver.is_delete_marker, ver.is_latest, ver.size) == (
        r.version_id,
        False,
        True,
        6,
    )
    assert backend.vault.get_version("v/a", r.version_id) == b"record"
    st = backend.vault.head_version("v/a", r.version_id)
    assert (st.checksum_sha256, st.mode) == (sha256_hex(b"record"), "COMPLIANCE")
    assert backend.vault.list_versioned("v/") == ["v/a"]
    assert backend.vault.versions("v/none") == []


def test_reading_a_version_the_key_does_not_hold_is_not_found(backend: Backend) -> None:
    """Another key's version id is not a version of this key."""
    until = _until(backend)
    backend.vault.put_immutable("v/b", b"one", retain_until=until, mode="COMPLIANCE")
    other = backend.vault.put_immutable("v/c", b"two", retain_until=until, mode="COMPLIANCE")
    with pytest.raises(NotFound):
        backend.vault.get_version("v/b", other.version_id)
    with pytest.raises(NotFound):
        backend.vault.head_version("v/b", other.version_id)
