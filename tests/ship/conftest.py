"""Fixtures for the ship stage: moto S3 in server mode on 127.0.0.1, lock buckets, a fault
proxy, and dummy AWS credentials/endpoint exported the standard way (``AWS_ENDPOINT_URL_S3``)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.ship.config import ShipConfig
from agent.testing import FakeClock
from tests.ship.faultproxy import FaultProxy

_counter = itertools.count()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[tuple[str, int]]:
    """A moto S3 server (ThreadedMotoServer) for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield host, port
    server.stop()


def aws_env(endpoint: str) -> dict[str, str]:
    """Dummy credentials + endpoint, as boto3 reads them (never from our config)."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture
def s3_env(moto_endpoint: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> str:
    """Export the moto endpoint + dummy credentials; return the endpoint URL."""
    url = f"http://{moto_endpoint[0]}:{moto_endpoint[1]}"
    for k, v in aws_env(url).items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return url


def make_bucket(
    lock: bool = True, *, default_days: int | None = None, default_mode: str = "COMPLIANCE"
) -> str:
    """Create a fresh bucket on the current endpoint (optionally with Object Lock)."""
    import boto3

    name = f"st-{os.getpid()}-{next(_counter)}"
    c = boto3.client("s3")
    if lock:
        c.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    else:
        c.create_bucket(Bucket=name)
    if default_days is not None:
        c.put_object_lock_configuration(
            Bucket=name,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": default_mode, "Days": default_days}},
            },
        )
    return name


@pytest.fixture
def lock_bucket(s3_env: str) -> str:
    """A fresh Object Lock bucket on moto."""
    return make_bucket()


@pytest.fixture
def proxy(
    moto_endpoint: tuple[str, int], monkeypatch: pytest.MonkeyPatch, s3_env: str
) -> Iterator[FaultProxy]:
    """A fault proxy in front of moto; AWS_ENDPOINT_URL_S3 points at it."""
    p = FaultProxy(moto_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", p.url)
    yield p
    p.close()


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at the real current time (moto stamps its own Date headers)."""
    import time

    return FakeClock(utc_ns=time.time_ns())


@pytest.fixture
def ship_cfg() -> ShipConfig:
    """Default policy, fast backoff."""
    return ShipConfig(backoff_base_seconds=1, backoff_max_seconds=8)


def cfg_with(**kw: Any) -> ShipConfig:
    """A ShipConfig with overrides."""
    return ShipConfig.model_validate(kw)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty state directory."""
    h = tmp_path / "home"
    h.mkdir(mode=0o700)
    return h
