"""Re-verification: every new object, then a rolling sample; results are audit.verify records."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from pathlib import Path

from agent.events import Event
from agent.ship.audit import AuditRecorder
from agent.ship.config import ShipConfig
from agent.ship.filevault import FileVault
from agent.ship.reverify import reverify_once
from agent.ship.shipper import Shipper
from agent.ship.source import JournalSource
from agent.ship.testing import FakeSource, MemoryVault
from agent.testing import FakeClock
from tests.journals import write_session


def _mem(tmp_path: Path, n: int, sample: int) -> tuple[Shipper, MemoryVault, list[Event]]:
    clock = FakeClock()
    mem = MemoryVault(clock=clock)
    src = FakeSource(tmp_path / "journals")
    for i in range(n):
        src.add(f"s{i}", f"seg{i}", f"bytes {i}".encode(), sealed_utc_ns=clock.utc_ns())
    sink: list[Event] = []
    home = tmp_path / "home"
    sh = Shipper(
        home,
        ShipConfig(reverify_sample=sample),
        {"primary": mem},
        src,
        clock=clock,
        audit=AuditRecorder(home / "ship", clock, sink.append),
        rng=random.Random(1),
    )
    sh.ship_once()
    return sh, mem, sink


def test_all_new_objects_then_a_rolling_sample_of_old_ones(tmp_path: Path) -> None:
    """Run 1 checks all 5 new; later runs check the 2 verified longest ago, in turn."""
    sh, _, sink = _mem(tmp_path, 5, sample=2)
    first = reverify_once(sh)
    assert sorted(r["key"] for r in first) == [f"segments/s{i}/000000-seg{i}.stj" for i in range(5)]
    assert all(r["ok"] and r["new"] for r in first)
    seen: list[str] = []
    for _ in range(3):
        assert isinstance(sh.clock, FakeClock)
        sh.clock.advance_s(3600)
        run = reverify_once(sh)
        assert len(run) == 2 and not any(r["new"] for r in run)
        seen += [r["key"] for r in run]
    assert len(set(seen)) == 5  # the sample rolls over every object
    assert [e.kind for e in sink].count("audit.verify") == 11
    lines = (sh.dir / "reverify.jsonl").read_text().splitlines()
    assert len(lines) == 11 and json.loads(lines[0])["kind"] == "audit.verify"


def test_bytes_changed_in_the_vault_are_reported(tmp_path: Path) -> None:
    """GET + re-hash catches a store that altered the bytes."""
    sh, mem, _ = _mem(tmp_path, 1, sample=5)
    mem.corrupt("segments/s0/000000-seg0.stj", b"altered")
    (r,) = reverify_once(sh)
    assert r["ok"] is False
    assert r["problems"] == ["downloaded bytes do not hash to the receipt checksum"]
    row = sh.state.get("segments/s0/000000-seg0.stj")
    assert row is not None and row.verified_ok == 0


def test_shortened_retention_and_changed_mode_are_reported(tmp_path: Path) -> None:
    """HEAD lock state is compared with the receipt (moto would let retention be shortened)."""
    sh, mem, _ = _mem(tmp_path, 1, sample=5)
    key = "segments/s0/000000-seg0.stj"
    obj = mem.objects[key]
    obj.state = dataclasses.replace(
        obj.state, mode="GOVERNANCE", retain_until=dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    )
    (r,) = reverify_once(sh)
    assert r["problems"] == [
        "lock mode GOVERNANCE != receipt COMPLIANCE",
        "retain-until 2027-01-01T00:00:00Z is before the receipt's 2032-01-01T00:00:00Z "
        "(retention shortened)",
    ]


def test_real_segment_reverifies_its_seal_and_signatures_from_the_vault_copy(
    home: Path, clock: FakeClock
) -> None:
    """The downloaded copy passes the seal verifier; a tampered stored blob does not."""
    write_session(home)
    v = FileVault(home / "vault", clock=clock)
    sh = Shipper(home, ShipConfig(), {"primary": v}, JournalSource(home), clock=clock)
    (key,) = sh.ship_once().shipped
    assert [r["ok"] for r in reverify_once(sh)] == [True]
    blob = v._blob(v.head(key).checksum_sha256 or "")
    blob.chmod(0o644)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    (r,) = reverify_once(sh)
    assert r["ok"] is False and "downloaded bytes do not hash" in r["problems"][0]


def test_a_delete_marker_over_a_record_is_an_anomaly_with_its_own_audit_record(
    tmp_path: Path,
) -> None:
    """The original is still re-verified by version; the marker is named and recorded."""
    sh, mem, sink = _mem(tmp_path, 1, sample=5)
    key = "segments/s0/000000-seg0.stj"
    original = mem.head(key).version_id
    marker = mem.add_delete_marker(key)
    (r,) = reverify_once(sh)
    anomaly = (
        f"vault anomaly: {key}: delete marker {marker} hides locked original {original} "
        "(original read by version)"
    )
    assert r["ok"] is False and r["problems"] == [anomaly]
    own = [e.payload for e in sink if e.payload.get("check") == "vault-anomaly"]
    assert [p["detail"] for p in own] == [anomaly]
