"""Bad input against moto: bad credentials, missing bucket, bucket without Object Lock,
retention shorter than policy, clock far off, retain-until already past. Each gives a clear
reason, pauses shipping, uploads nothing and deletes nothing locally."""

from __future__ import annotations

import time
from pathlib import Path

import boto3
import pytest

from agent.ship.config import ShipConfig
from agent.ship.s3 import S3Vault
from agent.ship.shipper import Shipper
from agent.ship.testing import FakeSource
from agent.testing import FakeClock
from tests.ship.conftest import make_bucket

YEAR_NS = 366 * 86400 * 1_000_000_000


def _objects(bucket: str) -> list[str]:
    try:
        r = boto3.client("s3").list_object_versions(Bucket=bucket)
    except Exception:
        return []
    return [v["Key"] for v in r.get("Versions", [])]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("no-credentials", "no AWS credentials"),
        ("missing-bucket", "NoSuchBucket"),
        ("no-object-lock", "Object Lock is not enabled"),
        ("short-default-retention", "bucket default retention is 1 days, shorter than"),
        ("clock-far-off", "s off the store's clock"),
        ("retain-until-past", "is not in the future"),
    ],
)
def test_bad_input_pauses_shipping_with_a_clear_reason_and_deletes_nothing(
    s3_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, reason: str
) -> None:
    """The pause reason names the cause; the bucket stays empty; local files stay."""
    clock = FakeClock(utc_ns=time.time_ns())
    bucket = {
        "missing-bucket": "absent-bucket-0",
        "no-object-lock": None,
        "short-default-retention": None,
    }.get(case, "")
    if case == "no-object-lock":
        bucket = make_bucket(lock=False)
    elif case == "short-default-retention":
        bucket = make_bucket(default_days=1)
    elif not bucket:
        bucket = make_bucket()
    if case == "no-credentials":
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    if case == "clock-far-off":
        clock = FakeClock(utc_ns=time.time_ns() - 3 * YEAR_NS)
    sealed = clock.utc_ns() - (7 * YEAR_NS if case == "retain-until-past" else 0)
    src = FakeSource(tmp_path / "journals")
    meta = src.add("s1", "seg1", b"record", sealed_utc_ns=sealed)
    sh = Shipper(
        tmp_path / "home",
        ShipConfig(keep_local_days=0),
        {"primary": S3Vault(bucket, "p", clock=clock, max_attempts=1)},
        src,
        clock=clock,
    )
    res = sh.ship_once()
    assert res.paused is not None and reason in res.paused, res.paused
    assert res.shipped == [] and sh.status()["paused"] == res.paused
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert _objects(bucket) == []
    clock.advance_s(400 * 86400)
    assert sh.apply_local_retention() == [] and meta.path.read_bytes() == b"record"
