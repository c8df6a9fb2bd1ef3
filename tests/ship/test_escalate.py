"""Retention escalation on a real journal and moto S3: a later segment with a longer class
extends the retain-until of the session's objects already stored, audited first."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import boto3

from agent.clock import ns_to_dt
from agent.journal.store import segment_info
from agent.ship.retention import add_retention
from agent.ship.runtime import build_shipper
from agent.ship.s3 import S3Vault
from agent.testing import FakeClock
from tests.journals import append_events, open_journal, rotate
from tests.ship.test_classify import policy_config


def _head_until(bucket: str, key: str) -> dt.datetime:
    r = boto3.client("s3").head_object(Bucket=bucket, Key=key)
    until: dt.datetime = r["ObjectLockRetainUntilDate"]
    return until.astimezone(dt.UTC)


def test_orders_visit_in_a_later_segment_extends_the_earlier_object(
    home: Path, tmp_path: Path, lock_bucket: str, clock: FakeClock
) -> None:
    """Segment 0 (chat) ships at 3y; segment 1 visits the OMS (orders, 6y): segment 0, its
    receipt and checkpoints are re-locked to sealed + 6y (HEAD shows it), with an
    ``audit.retention`` record; nothing is ever shortened."""
    cfg = policy_config(tmp_path, home)
    vault = S3Vault(lock_bucket, "desk", clock=clock)
    sh = build_shipper(home, cfg.ship, clock=clock, vaults={"primary": vault}, config=cfg)
    j = open_journal(home, cfg, clock)
    append_events(j, clock, [("page.navigate", {"url": "https://chat.firm/r/1"}, "F")])
    rotate(j, clock, cfg)
    first = segment_info(j.segments[0])
    assert first.retention_class == "communications"
    res = sh.ship_once()
    key0 = f"segments/{j.session_id}/000000-{first.segment_id}.stj"
    assert key0 in res.shipped
    sealed0 = ns_to_dt(first.sealed_utc_ns)
    assert _head_until(lock_bucket, f"desk/{key0}") == add_retention(sealed0, "3y")

    append_events(j, clock, [("page.navigate", {"url": "https://oms.firm/blotter"}, "F")])
    j.close()
    res = sh.ship_once()
    assert res.extended == [key0]
    six = add_retention(sealed0, "6y")
    assert _head_until(lock_bucket, f"desk/{key0}") == six
    assert _head_until(lock_bucket, f"desk/{key0}.receipt.json") == six
    row = sh.state.get(key0)
    assert row is not None and (row.record_class, row.retain_until) == (
        "orders",
        six.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    audit = [json.loads(x) for x in (home / "ship" / "audit.jsonl").read_text().splitlines()]
    (ext,) = [a["payload"] for a in audit if a["kind"] == "audit.retention"]
    assert (ext["key"], ext["from_class"], ext["to_class"]) == (key0, "communications", "orders")
    assert sh.ship_once().extended == []  # done once


def test_extend_retention_never_shortens(lock_bucket: str, clock: FakeClock) -> None:
    """Asking for an earlier date than the lock leaves the lock as it is."""
    vault = S3Vault(lock_bucket, "p", clock=clock)
    later = ns_to_dt(clock.utc_ns()) + dt.timedelta(days=3)
    vault.put_immutable("k", b"x", retain_until=later, mode="COMPLIANCE")
    state = vault.extend_retention("k", "", later - dt.timedelta(days=1))
    assert state.retain_until == later.replace(microsecond=0)
    assert _head_until(lock_bucket, "p/k") == later.replace(microsecond=0)


def test_checkpoints_shipped_while_recording_are_locked_as_long_as_the_sealed_segment(
    home: Path, tmp_path: Path, lock_bucket: str, clock: FakeClock
) -> None:
    """Checkpoints stream under the class known then (default, 3y); the segment is then
    sealed ``orders``: when it ships, its checkpoints are re-locked to its 6y retain-until."""
    from agent.ship.checkpoints import ship_checkpoints

    cfg = policy_config(tmp_path, home)
    vault = S3Vault(lock_bucket, "desk", clock=clock)
    sh = build_shipper(home, cfg.ship, clock=clock, vaults={"primary": vault}, config=cfg)
    j = open_journal(home, cfg, clock)
    append_events(j, clock, [("page.navigate", {"url": "https://intranet.firm/"}, "F")])
    j.checkpoint_now()
    assert ship_checkpoints(sh) >= 1
    (cp_key,) = vault.list(f"checkpoints/{j.session_id}/")
    assert _head_until(lock_bucket, f"desk/{cp_key}") < add_retention(
        ns_to_dt(clock.utc_ns()), "4y"
    )

    append_events(j, clock, [("page.navigate", {"url": "https://oms.firm/blotter"}, "F")])
    j.close()
    assert len(sh.ship_once().shipped) == 1
    info = segment_info(j.segments[0])
    assert info.retention_class == "orders"
    six = add_retention(ns_to_dt(info.sealed_utc_ns), "6y")
    assert _head_until(lock_bucket, f"desk/{cp_key}") == six
    audit = [json.loads(x) for x in (home / "ship" / "audit.jsonl").read_text().splitlines()]
    (aligned,) = [a["payload"] for a in audit if a["kind"] == "audit.retention"]
    assert aligned["action"] == "align_checkpoints" and aligned["objects"] == [f"primary:{cp_key}"]
