"""Posture: versioning, Object Lock, default retention and clock - against moto and a memory
vault. moto lets versioning be suspended on a lock bucket; our check catches it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import boto3
import pytest

from agent.clock import ns_to_dt
from agent.errors import PostureError
from agent.ship import posture
from agent.ship.config import ShipConfig
from agent.ship.s3 import S3Vault
from agent.ship.shipper import Shipper
from agent.ship.testing import FakeSource, MemoryVault
from agent.ship.vault import Posture
from agent.testing import FakeClock
from tests.ship.conftest import make_bucket


def _now(clock: FakeClock) -> dt.datetime:
    return ns_to_dt(clock.utc_ns())


def test_lock_bucket_with_versioning_passes_the_policy(
    lock_bucket: str, clock: FakeClock, ship_cfg: ShipConfig
) -> None:
    """A bucket created with Object Lock (versioning implied) and no default passes."""
    rep = posture.require(S3Vault(lock_bucket, clock=clock), ship_cfg, _now(clock))
    assert rep.ok and rep.posture is not None
    assert (rep.posture.versioning, rep.posture.object_lock) == ("Enabled", True)


def test_bucket_without_object_lock_is_refused(
    s3_env: str, clock: FakeClock, ship_cfg: ShipConfig
) -> None:
    """A plain bucket: no versioning, no lock - both named."""
    v = S3Vault(make_bucket(lock=False), clock=clock)
    with pytest.raises(PostureError) as ei:
        posture.require(v, ship_cfg, _now(clock))
    assert "Object Lock is not enabled" in ei.value.message
    assert "versioning is not enabled" in ei.value.message


def test_versioning_suspended_on_a_lock_bucket_is_caught_client_side(
    lock_bucket: str, clock: FakeClock, ship_cfg: ShipConfig
) -> None:
    """moto accepts suspending versioning on a lock bucket (real S3 refuses): we still catch it."""
    boto3.client("s3").put_bucket_versioning(
        Bucket=lock_bucket, VersioningConfiguration={"Status": "Suspended"}
    )
    rep = posture.check(S3Vault(lock_bucket, clock=clock), ship_cfg, _now(clock))
    assert rep.problems == ["bucket versioning is Suspended (must be Enabled)"]


def test_default_retention_shorter_than_policy_is_refused(
    s3_env: str, clock: FakeClock, ship_cfg: ShipConfig
) -> None:
    """A 30-day bucket default under a 3-year-minimum policy is a deviation."""
    v = S3Vault(make_bucket(default_days=30), clock=clock)
    rep = posture.check(v, ship_cfg, _now(clock))
    assert rep.problems == [
        "bucket default retention is 30 days, shorter than the policy's 1095 days"
    ]


def test_governance_default_under_compliance_policy_is_refused(
    s3_env: str, clock: FakeClock, ship_cfg: ShipConfig
) -> None:
    """GOVERNANCE can be bypassed with a permission: not what the policy asks."""
    v = S3Vault(make_bucket(default_days=4000, default_mode="GOVERNANCE"), clock=clock)
    rep = posture.check(v, ship_cfg, _now(clock))
    assert rep.problems == [
        "bucket default retention mode is GOVERNANCE, policy requires COMPLIANCE"
    ]


def test_clock_far_off_the_stores_clock_is_refused(lock_bucket: str, ship_cfg: ShipConfig) -> None:
    """retain-until comes from our clock; a day of skew against moto's Date is refused."""
    off = FakeClock()  # 2026-01-01, far from moto's real-time Date header
    rep = posture.check(S3Vault(lock_bucket, clock=off), ship_cfg, _now(off))
    assert len(rep.problems) == 1 and "s off the store's clock" in rep.problems[0]


def test_missing_bucket_is_reported_not_raised(
    s3_env: str, clock: FakeClock, ship_cfg: ShipConfig
) -> None:
    """check() turns store refusals into problems for the pause message."""
    rep = posture.check(S3Vault("absent-bucket-x", clock=clock), ship_cfg, _now(clock))
    assert not rep.ok and "NoSuchBucket" in rep.problems[0]


def test_bad_posture_pauses_shipping_and_ships_nothing_until_fixed(tmp_path: Path) -> None:
    """Paused: nothing uploaded, nothing deleted locally; a passing check resumes."""
    clock = FakeClock()
    vault = MemoryVault(clock=clock)
    vault.posture_override = Posture(versioning="Suspended", object_lock=True)
    src = FakeSource(tmp_path / "journals")
    meta = src.add("s1", "seg1", b"sealed bytes", sealed_utc_ns=clock.utc_ns())
    cfg = ShipConfig(keep_local_days=0)
    sh = Shipper(tmp_path / "home", cfg, {"primary": vault}, src, clock=clock)
    res = sh.ship_once()
    assert res.paused is not None and "versioning is Suspended" in res.paused
    assert sh.status()["paused"] == res.paused
    assert vault.objects == {} and sh.apply_local_retention() == [] and meta.path.exists()
    vault.posture_override = None
    res = sh.ship_once()
    assert res.paused is None and res.shipped == ["segments/s1/000000-seg1.stj"]
