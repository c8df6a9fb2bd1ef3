"""Legal holds (every object of a session, every vault, audited) and disposition records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from agent.errors import UsageError, VaultError
from agent.ship.config import ShipConfig
from agent.ship.filevault import FileVault
from agent.ship.holds import add_hold, dispose, expired, list_holds, release_hold
from agent.ship.s3 import S3Vault
from agent.ship.shipper import Shipper
from agent.ship.testing import FakeSource, MemoryVault
from agent.ship.vault import Vault
from agent.testing import FakeClock

KEY = "segments/s1/000000-seg1.stj"


def _setup(tmp_path: Path, vaults: dict[str, Vault], clock: FakeClock) -> Shipper:
    src = FakeSource(tmp_path / "journals")
    src.add("s1", "seg1", b"one", sealed_utc_ns=clock.utc_ns())
    src.add("s2", "seg2", b"two", sealed_utc_ns=clock.utc_ns())
    sh = Shipper(tmp_path / "home", ShipConfig(), vaults, src, clock=clock)
    assert len(sh.ship_once().shipped) == 2
    return sh


def test_hold_add_sets_legal_hold_on_every_object_in_every_vault_and_audits(tmp_path: Path) -> None:
    """Segment and receipt objects in primary and backup; other sessions untouched."""
    clock = FakeClock()
    a, b = MemoryVault(clock=clock), MemoryVault(clock=clock, url="memory://b")
    sh = _setup(tmp_path, {"primary": a, "backup": b}, clock)
    p = add_hold(sh, "SEC-1", "s1", "cco@firm")
    assert p["objects"] == 4
    for v in (a, b):
        assert v.head(KEY).legal_hold and v.head(KEY + ".receipt.json").legal_hold
        assert not v.head("segments/s2/000000-seg2.stj").legal_hold
    (rec,) = sh.audit.read("audit.hold")
    assert rec["payload"] == {
        "action": "add",
        "matter": "SEC-1",
        "session_id": "s1",
        "actor": "cco@firm",
        "objects": 4,
    }
    assert [h["matter"] for h in list_holds(sh)] == ["SEC-1"]


def test_release_keeps_the_hold_while_another_matter_still_holds(tmp_path: Path) -> None:
    """Two matters on one session: the vault hold goes only with the last one."""
    clock = FakeClock()
    a = MemoryVault(clock=clock)
    sh = _setup(tmp_path, {"primary": a}, clock)
    add_hold(sh, "M1", "s1", "x")
    add_hold(sh, "M2", "s1", "x")
    p = release_hold(sh, "M1", "s1", "y")
    assert p["still_held_by"] == ["M2"] and a.head(KEY).legal_hold
    release_hold(sh, "M2", "s1", "y")
    assert not a.head(KEY).legal_hold
    assert len(list_holds(sh, include_released=True)) == 2 and list_holds(sh) == []
    with pytest.raises(UsageError, match="no active hold"):
        release_hold(sh, "M2", "s1", "y")


def test_hold_on_s3_is_visible_to_head_and_blocks_version_delete(
    lock_bucket: str, tmp_path: Path, clock: FakeClock
) -> None:
    """Against moto: legal hold status ON, and our delete refuses."""
    v = S3Vault(lock_bucket, "p", clock=clock)
    sh = _setup(tmp_path, {"primary": v}, clock)
    add_hold(sh, "M", "s1", "x")
    assert v.head(KEY).legal_hold is True
    with pytest.raises(VaultError, match="legal hold"):
        v.delete(KEY)


def test_disposition_records_eligibility_but_never_deletes_from_s3(
    lock_bucket: str, tmp_path: Path, clock: FakeClock
) -> None:
    """After retain-until: a record, the object stays (lifecycle/humans delete S3 data)."""
    v = S3Vault(lock_bucket, "p", clock=clock)
    sh = _setup(tmp_path, {"primary": v}, clock)
    assert dispose(sh) == []  # not yet eligible
    clock.advance_s(6 * 366 * 86400)
    out = dispose(sh, execute=True, actor="records-mgr")
    assert sorted(r["key"] for r in out) == [KEY, "segments/s2/000000-seg2.stj"]
    assert all(r["action"] == "eligible" and r["deleted"] == [] for r in out)
    assert v.get(KEY) == b"one"
    assert dispose(sh) == []  # recorded once
    assert len(sh.audit.read("audit.disposition")) == 2


def test_file_vault_dispose_yes_deletes_eligible_objects_except_held(tmp_path: Path) -> None:
    """Explicit dispose --yes on the software vault; a held session is kept."""
    clock = FakeClock()
    v = FileVault(tmp_path / "vault", clock=clock)
    sh = _setup(tmp_path, {"primary": v}, clock)
    add_hold(sh, "M", "s2", "x")
    clock.advance_s(6 * 366 * 86400)
    out = dispose(sh, execute=True, actor="rm")
    assert [(r["key"], r["action"]) for r in out] == [(KEY, "deleted")]
    assert v.list("segments/") == [
        "segments/s2/000000-seg2.stj",
        "segments/s2/000000-seg2.stj.receipt.json",
    ]
    assert out[0]["retain_until"] == dt.datetime(2032, 1, 1, tzinfo=dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_hold_placed_while_a_vault_was_down_is_reapplied_later(tmp_path: Path) -> None:
    """hold add records the hold even if the vault fails; the retention job finishes it."""
    from agent.ship.holds import reapply_holds
    from agent.ship.testing import FlakyVault

    clock = FakeClock()
    mem = MemoryVault(clock=clock)
    flaky = FlakyVault(mem)
    sh = _setup(tmp_path, {"primary": flaky}, clock)
    flaky.fail_always["set_legal_hold"] = VaultError("down", retryable=True)
    with pytest.raises(VaultError, match="down"):
        add_hold(sh, "M", "s1", "x")
    assert [h["matter"] for h in list_holds(sh)] == ["M"] and not mem.head(KEY).legal_hold
    del flaky.fail_always["set_legal_hold"]
    assert reapply_holds(sh) == 2
    assert mem.head(KEY).legal_hold and reapply_holds(sh) == 0


def test_hold_on_a_session_unknown_to_every_vault_and_this_home_is_refused(
    tmp_path: Path,
) -> None:
    """Not "0 objects held": a usage error naming the session and where it was looked for,
    and no hold and no audit record."""
    clock = FakeClock()
    sh = _setup(tmp_path, {"primary": MemoryVault(clock=clock)}, clock)
    with pytest.raises(UsageError, match=r"no session s9 in memory:// or this home"):
        add_hold(sh, "SEC-1", "s9", "cco@firm")
    with pytest.raises(UsageError, match="non-empty --matter"):
        add_hold(sh, "  ", "s1", "cco@firm")
    assert list_holds(sh) == [] and sh.audit.read("audit.hold") == []


def test_hold_on_a_recorded_session_not_yet_shipped_is_accepted(tmp_path: Path) -> None:
    """A session this home recorded (the source sees it) may be held before it ships."""
    clock = FakeClock()
    sh = _setup(tmp_path, {"primary": MemoryVault(clock=clock)}, clock)
    sh.source.add("s3", "seg3", b"three", sealed=False)  # type: ignore[attr-defined]
    assert add_hold(sh, "SEC-2", "s3", "cco@firm")["objects"] == 0
    assert [h["session_id"] for h in list_holds(sh)] == ["s3"]


def test_disposition_lists_expired_unheld_objects_with_class_and_records_each(
    tmp_path: Path,
) -> None:
    """Past retain-until: the unheld object is listed (class, retain-until) and gets a sealed
    ``audit.disposition`` record naming its class; the held one is listed as held only."""
    clock = FakeClock()
    sh = _setup(tmp_path, {"primary": MemoryVault(clock=clock)}, clock)
    add_hold(sh, "M", "s2", "x")
    assert expired(sh) == []
    clock.advance_s(6 * 366 * 86400)
    out = dispose(sh, actor="rm")
    assert [(r["key"], r["action"], r["record_class"]) for r in out] == [
        (KEY, "eligible", "default")
    ]
    rows = expired(sh)
    eligible = [(r["key"], r["record_class"], r["retain_until"]) for r in rows if not r["held"]]
    assert eligible == [(KEY, "default", "2032-01-01T00:00:00Z")]
    assert [(r["session_id"], r["matters"]) for r in rows if r["held"]] == [("s2", ["M"])]
    (rec,) = sh.audit.read("audit.disposition")
    assert rec["payload"]["key"] == KEY and rec["payload"]["record_class"] == "default"
