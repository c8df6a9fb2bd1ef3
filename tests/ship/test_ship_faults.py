"""Fault tests against moto behind a TCP proxy we control: resets, 500s, slow answers, the
server going down mid-upload, and the agent killed with SIGKILL mid-upload. Afterwards every
sealed segment is in the vault exactly once, confirmed, and nothing local was deleted early."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from agent.ship.config import ShipConfig
from agent.ship.s3 import S3Vault
from agent.ship.shipper import Shipper
from agent.ship.state import ShipState
from agent.ship.testing import FakeSource
from agent.testing import FakeClock
from tests.journals import write_session
from tests.ship.conftest import aws_env, make_bucket
from tests.ship.faultproxy import FaultProxy

KEYS = ["segments/s1/000000-seg1.stj", "segments/s2/000000-seg2.stj"]


def _versions(bucket: str, prefix: str = "p/") -> dict[str, int]:
    r = boto3.client("s3").list_object_versions(Bucket=bucket, Prefix=prefix)
    out: dict[str, int] = {}
    for v in r.get("Versions", []):
        out[v["Key"]] = out.get(v["Key"], 0) + 1
    return out


def _shipper(tmp_path: Path, bucket: str, clock: FakeClock, **s3kw: float) -> Shipper:
    src = FakeSource(tmp_path / "journals")
    for i in (1, 2):
        src.add(f"s{i}", f"seg{i}", f"segment {i} ".encode() * 500, sealed_utc_ns=clock.utc_ns())
    v = S3Vault(bucket, "p", clock=clock, **s3kw)  # type: ignore[arg-type]  # timeout floats, checked by S3Vault
    return Shipper(
        tmp_path / "home",
        ShipConfig(keep_local_days=0, backoff_base_seconds=1, backoff_max_seconds=2),
        {"primary": v},
        src,
        clock=clock,
    )


def _assert_exactly_once_and_local_kept(sh: Shipper, bucket: str) -> None:
    assert _versions(bucket) == {f"p/{k}{s}": 1 for k in KEYS for s in ("", ".receipt.json")}
    for k in KEYS:
        row = sh.state.get(k)
        assert row is not None and row.status == "shipped" and row.path.exists()


@pytest.mark.parametrize(
    "plans", [["reset"] * 2, ["500"] * 2], ids=["connection-reset-mid-upload", "server-500s"]
)
def test_transient_failures_then_recovery_ship_everything_exactly_once(
    proxy: FaultProxy, tmp_path: Path, clock: FakeClock, plans: list[str]
) -> None:
    """Every boto attempt of the first PUT fails; the shipper backs off and succeeds later."""
    bucket = make_bucket()
    sh = _shipper(tmp_path, bucket, clock, max_attempts=2)  # boto retries once, then us
    proxy.plans = list(plans)
    res = sh.ship_once()
    assert list(res.failed) == [KEYS[0]] and res.shipped == [KEYS[1]]
    assert res.failed[KEYS[0]].startswith("put segments/s1")
    assert [p.path.exists() for p in sh.state.objects()] == [True, True]
    clock.advance_s(5)
    assert sh.ship_once().shipped == [KEYS[0]]
    _assert_exactly_once_and_local_kept(sh, bucket)


def test_slow_response_times_out_and_the_retry_does_not_duplicate(
    proxy: FaultProxy, tmp_path: Path, clock: FakeClock
) -> None:
    """The PUT lands but the answer is late (read timeout): the retry finds it, one version."""
    bucket = make_bucket()
    sh = _shipper(tmp_path, bucket, clock, read_timeout=0.5, max_attempts=1)
    proxy.plans = [("delay", 1.5)]
    res = sh.ship_once()
    assert "connection failed" in res.failed[KEYS[0]]
    clock.advance_s(5)
    assert sh.ship_once().shipped == [KEYS[0]]
    _assert_exactly_once_and_local_kept(sh, bucket)


def test_server_down_during_upload_then_back_ships_exactly_once(
    proxy: FaultProxy,
    tmp_path: Path,
    clock: FakeClock,
    s3_env: str,
    moto_endpoint: tuple[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server takes the PUT and dies before answering; later it is back."""
    bucket = make_bucket()
    sh = _shipper(tmp_path, bucket, clock, connect_timeout=0.5)
    proxy.plans = ["down"]
    res = sh.ship_once()
    assert set(res.failed) == set(KEYS) and res.shipped == []
    assert all("connection failed" in e for e in res.failed.values())
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://{moto_endpoint[0]}:{moto_endpoint[1]}")
    sh.vaults["primary"] = S3Vault(bucket, "p", clock=clock)
    clock.advance_s(5)
    assert sorted(sh.ship_once().shipped) == KEYS
    _assert_exactly_once_and_local_kept(sh, bucket)


def _run_cli(home: Path, endpoint: str, bucket: str, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SESSIONTAPE_"))}
    env.update(aws_env(endpoint))
    env["SESSIONTAPE_VAULT_URL"] = f"s3://{bucket}/p"
    return subprocess.Popen(
        [sys.executable, "-m", "agent.cli.main", "--home", str(home), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.mark.parametrize(
    "plan", ["hold", "stall"], ids=["killed-after-server-stored", "killed-before-server-got-it"]
)
def test_agent_killed_during_upload_then_restarted_ships_each_segment_exactly_once(
    proxy: FaultProxy, home: Path, moto_endpoint: tuple[str, int], plan: str
) -> None:
    """kill -9 mid-PUT, restart: all sealed segments in the vault once, confirmed, kept."""
    bucket = make_bucket()
    write_session(home, user="alice")
    write_session(home, user="bob")
    segs = sorted(home.glob("journals/*/*.stj"))
    proxy.plans = [plan]
    proc = _run_cli(home, proxy.url, bucket, "ship", "--once")
    try:
        assert proxy.held.wait(30), proc.stderr.read() if proc.stderr else ""
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
        proxy.release.set()
    assert proc.returncode == -signal.SIGKILL
    stored_before = _versions(bucket)
    assert sum(stored_before.values()) == (1 if plan == "hold" else 0)
    assert all(p.exists() for p in segs)
    again = _run_cli(
        home, f"http://{moto_endpoint[0]}:{moto_endpoint[1]}", bucket, "ship", "--once"
    )
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert out.startswith("shipped 2, quarantined 0, retrying 0")
    keys = [f"p/segments/{p.parent.name}/{p.name}" for p in segs]
    assert _versions(bucket, "p/segments/") == {
        k + s: 1 for k in keys for s in ("", ".receipt.json")
    }
    state = ShipState(home / "ship" / "state.db")
    assert sorted(r.status for r in state.objects()) == ["shipped", "shipped"]
    assert all(r.receipts["primary"]["mode"] == "COMPLIANCE" for r in state.objects())
    state.close()
    assert all(p.exists() for p in segs)
