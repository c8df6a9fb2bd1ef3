"""S3 backend specifics against moto in server mode (and the fault proxy for server errors)."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest

from agent.clock import ns_to_dt
from agent.errors import PostureError, VaultError
from agent.ship.s3 import S3Vault
from agent.ship.urls import open_vault
from agent.testing import FakeClock
from tests.ship.faultproxy import FaultProxy


def _until(clock: FakeClock) -> dt.datetime:
    return ns_to_dt(clock.utc_ns()) + dt.timedelta(days=1)


def test_endpoint_and_credentials_come_from_boto3_standard_environment(
    lock_bucket: str, s3_env: str
) -> None:
    """AWS_ENDPOINT_URL_S3 (not our config) decides where boto3 talks to."""
    v = open_vault(f"s3://{lock_bucket}/desk1")
    assert isinstance(v, S3Vault)
    assert (v.bucket, v.prefix, v.client.meta.endpoint_url) == (lock_bucket, "desk1", s3_env)


def test_put_is_single_part_with_lock_headers_visible_to_a_plain_client(
    lock_bucket: str, clock: FakeClock
) -> None:
    """A plain boto3 HEAD sees COMPLIANCE, our retain-until and the SHA-256 checksum."""
    v = S3Vault(lock_bucket, "p", clock=clock)
    r = v.put_immutable(
        "segments/s/0.stj", b"x" * 70_000, retain_until=_until(clock), mode="COMPLIANCE"
    )
    h = boto3.client("s3").head_object(
        Bucket=lock_bucket, Key="p/segments/s/0.stj", ChecksumMode="ENABLED"
    )
    assert h["ObjectLockMode"] == "COMPLIANCE"
    assert h["ObjectLockRetainUntilDate"].astimezone(dt.UTC) == r.retain_until
    assert h["ChecksumSHA256"] and "-" not in h["ETag"]  # not a multipart ETag
    assert r.etag == h["ETag"].strip('"')


def test_object_over_single_put_max_is_refused_before_any_request(
    lock_bucket: str, clock: FakeClock
) -> None:
    """No multipart path: an oversize object is a clear, non-retryable error."""
    v = S3Vault(lock_bucket, clock=clock, max_put_bytes=1024)
    with pytest.raises(VaultError, match="single-PUT maximum") as ei:
        v.put_immutable("big", b"x" * 2048, retain_until=_until(clock), mode="COMPLIANCE")
    assert ei.value.retryable is False
    assert v.list("") == []


def test_missing_bucket_is_a_posture_error(s3_env: str, clock: FakeClock) -> None:
    """NoSuchBucket is not retryable: shipping must pause with a clear message."""
    with pytest.raises(PostureError, match="NoSuchBucket"):
        S3Vault("no-such-bucket-here", clock=clock).posture()


def test_missing_credentials_is_a_posture_error(
    lock_bucket: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No credentials anywhere in boto3's chain → PostureError naming the cause."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(PostureError, match="no AWS credentials"):
        S3Vault(lock_bucket, clock=clock).posture()


def test_rejected_credentials_are_a_posture_error(proxy: FaultProxy, clock: FakeClock) -> None:
    """An InvalidAccessKeyId answer (moto accepts any key; the proxy plays real S3)."""
    from tests.ship.conftest import make_bucket

    bucket = make_bucket()
    proxy.match = b"GET "
    proxy.plans = ["403"]
    with pytest.raises(PostureError, match="InvalidAccessKeyId"):
        S3Vault(bucket, clock=clock, max_attempts=1).posture()


def test_server_500_is_a_retryable_vault_error(proxy: FaultProxy, clock: FakeClock) -> None:
    """InternalError after boto's own retries → retryable VaultError, nothing stored."""
    from tests.ship.conftest import make_bucket

    bucket = make_bucket()
    proxy.plans = ["500", "500"]
    v = S3Vault(bucket, clock=clock, max_attempts=2)
    with pytest.raises(VaultError, match="InternalError") as ei:
        v.put_immutable("k", b"data", retain_until=_until(clock), mode="COMPLIANCE")
    assert ei.value.retryable is True
    assert v.list("") == []


def test_connection_refused_is_a_retryable_vault_error(
    s3_env: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Server down: retryable, with the cause in the message."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{port}")
    v = S3Vault("any-bucket", clock=clock, max_attempts=1, connect_timeout=1)
    with pytest.raises(VaultError, match="connection failed") as ei:
        v.head("k")
    assert ei.value.retryable is True
