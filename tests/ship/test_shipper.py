"""The shipper with a memory vault and opaque segment files: receipts, quarantine, retries,
local retention, retention classes, holds, backup vault, locks, disk full."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.clock import parse_iso_seconds
from agent.errors import VaultError
from agent.ship.config import ShipConfig
from agent.ship.holds import add_hold
from agent.ship.shipper import Shipper
from agent.ship.testing import FakeSource, FlakyVault, MemoryVault
from agent.ship.vault import Receipt, Vault
from agent.testing import FakeClock
from tests.fsfull import SmallFs

DAY_S = 86400
KEY = "segments/s1/000000-seg1.stj"


def _setup(
    tmp_path: Path, cfg: ShipConfig | None = None, *, flaky: bool = False, backup: bool = False
) -> tuple[Shipper, FakeSource, MemoryVault, FlakyVault, FakeClock]:
    clock = FakeClock()
    mem = MemoryVault(clock=clock)
    fv = FlakyVault(mem, sleep=lambda s: clock.advance_s(s))
    vaults: dict[str, Vault] = {"primary": fv if flaky else mem}
    if backup:
        vaults["backup"] = MemoryVault(clock=clock, url="memory://backup")
    src = FakeSource(tmp_path / "journals")
    sh = Shipper(
        tmp_path / "home",
        cfg or ShipConfig(),
        vaults,
        src,
        clock=clock,
        rng=random.Random(7),
    )
    return sh, src, mem, fv, clock


def test_sealed_segment_ships_with_receipt_object_and_is_marked_after_head(tmp_path: Path) -> None:
    """Shipped = in the vault, locked COMPLIANCE until sealed + 6y, receipt object beside it."""
    sh, src, mem, _, clock = _setup(tmp_path)
    src.add("s1", "seg1", b"A" * 1000, sealed_utc_ns=clock.utc_ns())
    res = sh.ship_once()
    assert res.shipped == [KEY]
    st = mem.head(KEY)
    assert st.mode == "COMPLIANCE" and st.retain_until == dt.datetime(2032, 1, 1, tzinfo=dt.UTC)
    receipt = json.loads(mem.get(KEY + ".receipt.json"))
    assert (receipt["version_id"], receipt["checksum_sha256"], receipt["session_id"]) == (
        st.version_id,
        st.checksum_sha256,
        "s1",
    )
    row = sh.state.get(KEY)
    assert row is not None and row.status == "shipped"
    assert Receipt.from_json(row.receipts["primary"]).version_id == st.version_id


def test_open_segment_is_not_shipped(tmp_path: Path) -> None:
    """Only sealed segments ship (their checkpoints go separately)."""
    sh, src, mem, _, clock = _setup(tmp_path)
    src.add("s1", "seg1", b"open", sealed=False)
    assert sh.ship_once().shipped == [] and mem.objects == {}
    src.seal("seg1", clock.utc_ns())
    assert sh.ship_once().shipped == [KEY]


def test_segment_failing_verification_is_quarantined_never_shipped_never_deleted(
    tmp_path: Path,
) -> None:
    """A tampered file is kept locally, quarantined, and absent from the vault."""
    sh, src, mem, _, clock = _setup(tmp_path, ShipConfig(keep_local_days=0))
    meta = src.add("s1", "seg1", b"original", sealed_utc_ns=clock.utc_ns())
    meta.path.write_bytes(b"tampered")
    res = sh.ship_once()
    assert res.quarantined == [KEY] and mem.objects == {}
    clock.advance_s(400 * DAY_S)
    assert sh.ship_once().shipped == [] and sh.apply_local_retention() == []
    assert meta.path.read_bytes() == b"tampered"
    row = sh.state.get(KEY)
    assert row is not None and row.status == "quarantined" and "changed" in (row.last_error or "")
    audit = sh.audit.read("audit.verify")
    assert audit[0]["payload"]["action"] == "quarantined"


def test_failed_upload_backs_off_exponentially_with_jitter(tmp_path: Path) -> None:
    """Retries wait base·2^(n-1) scaled by a jitter in [0.5, 1], on the injected clock."""
    cfg = ShipConfig(backoff_base_seconds=10, backoff_max_seconds=60)
    sh, src, mem, fv, clock = _setup(tmp_path, cfg, flaky=True)
    src.add("s1", "seg1", b"x", sealed_utc_ns=clock.utc_ns())
    fv.fail_always["put_immutable"] = VaultError("boom", retryable=True)
    delays = []
    for _ in range(5):
        t0 = clock.utc_ns()
        assert sh.ship_once().failed == {KEY: "boom"}
        row = sh.state.get(KEY)
        assert row is not None
        delays.append((row.next_attempt_ns - t0) / 1e9)
        assert sh.ship_once().failed == {}  # not due yet: no new attempt
        clock.advance(row.next_attempt_ns - t0)
    for n, d in enumerate(delays):
        cap = min(60, 10 * 2**n)
        assert cap / 2 <= d <= cap
    assert len(set(delays)) == len(delays)  # jittered
    del fv.fail_always["put_immutable"]
    assert sh.ship_once().shipped == [KEY] and mem.put_calls == 2  # segment + receipt


def test_local_copy_never_deleted_before_confirmation_under_injected_failures(
    tmp_path: Path,
) -> None:
    """Resets, lost responses and wrong lock state: the local file stays until confirmed
    and keep_local_days have passed."""
    cfg = ShipConfig(keep_local_days=30, backoff_base_seconds=1, backoff_max_seconds=2)
    sh, src, mem, fv, clock = _setup(tmp_path, cfg, flaky=True)
    meta = src.add("s1", "seg1", b"payload", sealed_utc_ns=clock.utc_ns())
    fv.reset_puts = 2
    fv.lose_put_response = 1
    for _ in range(3):
        sh.ship_once()
        clock.advance_s(40 * DAY_S)
        assert sh.apply_local_retention() == [] and meta.path.exists()
    fv.wrong_lock = True  # HEAD says unlocked → posture error, paused, not shipped
    res = sh.ship_once()
    assert res.paused and "does not honour Object Lock" in res.paused
    clock.advance_s(40 * DAY_S)
    assert sh.apply_local_retention() == [] and meta.path.exists()
    fv.wrong_lock = False
    res = sh.ship_once()
    assert res.shipped == [KEY]
    assert sh.apply_local_retention() == [] and meta.path.exists()  # < keep_local_days
    clock.advance_s(29 * DAY_S)
    assert sh.apply_local_retention() == [] and meta.path.exists()
    clock.advance_s(1 * DAY_S)
    assert sh.apply_local_retention() == [meta.path] and not meta.path.exists()
    assert len(mem.objects) == 2  # the segment and its receipt, exactly once


def test_local_copy_kept_when_the_vault_copy_no_longer_confirms(tmp_path: Path) -> None:
    """Before deleting locally, HEAD must still show our checksum and lock."""
    sh, src, mem, _, clock = _setup(tmp_path, ShipConfig(keep_local_days=0))
    meta = src.add("s1", "seg1", b"payload", sealed_utc_ns=clock.utc_ns())
    assert sh.ship_once().shipped == [KEY]
    del mem.objects[KEY]  # vanished behind our back
    assert sh.apply_local_retention() == [] and meta.path.exists()


def test_retention_class_is_the_one_the_seal_records(tmp_path: Path) -> None:
    """A segment sealed ``communications`` is locked 3y, one sealed ``orders`` 6y."""
    cfg = ShipConfig.model_validate(
        {"class_rules": [{"url_pattern": "https://chat.example/*", "class": "communications"}]}
    )
    sh, src, mem, _, clock = _setup(tmp_path, cfg)
    src.add("s1", "seg1", b"chat", sealed_utc_ns=clock.utc_ns(), retention_class="communications")
    src.add(
        "s2",
        "seg2",
        b"blotter",
        sealed_utc_ns=clock.utc_ns(),
        retention_class="orders",
    )
    sh.ship_once()
    assert mem.head(KEY).retain_until == dt.datetime(2029, 1, 1, tzinfo=dt.UTC)
    assert mem.head("segments/s2/000000-seg2.stj").retain_until == dt.datetime(
        2032, 1, 1, tzinfo=dt.UTC
    )
    row = sh.state.get(KEY)
    assert row is not None and row.record_class == "communications"


def test_segment_of_a_held_session_is_written_with_legal_hold(tmp_path: Path) -> None:
    """A hold placed on a recorded session before it ships applies at PUT time."""
    sh, src, mem, _, clock = _setup(tmp_path)
    src.add("s1", "seg1", b"x", sealed_utc_ns=clock.utc_ns())
    add_hold(sh, "MATTER-1", "s1", "compliance@firm")
    sh.ship_once()
    assert mem.head(KEY).legal_hold is True
    assert mem.head(KEY + ".receipt.json").legal_hold is True


def test_backup_vault_gets_the_same_locked_objects(tmp_path: Path) -> None:
    """ship.backup_vault_url: written the same way; both receipts recorded."""
    sh, src, mem, _, clock = _setup(tmp_path, backup=True)
    src.add("s1", "seg1", b"x", sealed_utc_ns=clock.utc_ns())
    sh.ship_once()
    backup = sh.vaults["backup"]
    assert backup.head(KEY).checksum_sha256 == mem.head(KEY).checksum_sha256
    row = sh.state.get(KEY)
    assert row is not None and sorted(row.receipts) == ["backup", "primary"]


def test_segment_locked_by_another_process_is_skipped(tmp_path: Path) -> None:
    """The per-segment flock keeps two uploaders off the same segment."""
    sh, src, mem, _, clock = _setup(tmp_path)
    src.add("s1", "seg1", b"x", sealed_utc_ns=clock.utc_ns())
    sh.lock_dir.mkdir(parents=True)
    with open(sh.lock_dir / "seg1.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        assert sh.ship_once().busy == [KEY] and mem.objects == {}
    assert sh.ship_once().shipped == [KEY]


def test_disk_full_while_spooling_keeps_segment_pending(
    tmp_path: Path, small_fs: Callable[[int], SmallFs]
) -> None:
    """ENOSPC on the spool (a real 64 KiB tmpfs): one line naming the spool file and "no
    space left on device"; no partial spool file; the segment stays pending and local."""
    fs = small_fs(64)
    spool = fs.path / "spool"
    clock = FakeClock()
    mem = MemoryVault(clock=clock)
    src = FakeSource(tmp_path / "journals")
    meta = src.add("s1", "seg1", b"z" * 200_000, sealed_utc_ns=clock.utc_ns())
    sh = Shipper(
        tmp_path / "home",
        ShipConfig(keep_local_days=0),
        {"primary": mem},
        src,
        clock=clock,
        spool_dir=spool,
    )
    res = sh.ship_once()
    assert res.failed[KEY] == (
        f"{spool / meta.path.name}: cannot copy the segment to the spool: no space left on device"
    )
    assert mem.objects == {}
    assert sh.apply_local_retention() == [] and meta.path.exists()
    assert list(spool.iterdir()) == []  # no partial spool file left behind
    row = sh.state.get(KEY)
    assert row is not None and row.status == "pending"


def test_retain_until_is_sealed_time_plus_class_period(tmp_path: Path) -> None:
    """Computed from the seal time, not the upload time."""
    sh, src, _, _, clock = _setup(tmp_path)
    sealed = clock.utc_ns()
    src.add("s1", "seg1", b"x", sealed_utc_ns=sealed)
    clock.advance_s(10 * DAY_S)
    sh.ship_once()
    row = sh.state.get(KEY)
    assert row is not None and parse_iso_seconds(row.retain_until) == dt.datetime(
        2032, 1, 1, tzinfo=dt.UTC
    )


def test_status_reports_counts_sizes_and_ages(tmp_path: Path) -> None:
    """ship status: pending / shipped / quarantined with sizes and ages."""
    sh, src, _, fv, clock = _setup(tmp_path, flaky=True)
    src.add("s1", "seg1", b"a" * 10, sealed_utc_ns=clock.utc_ns())
    bad = src.add("s2", "seg2", b"b" * 20, sealed_utc_ns=clock.utc_ns())
    src.bad.add("seg2")
    src.add("s3", "seg3", b"c" * 30, sealed_utc_ns=clock.utc_ns())
    fv.fail_on[("put_immutable", 3)] = VaultError("nope", retryable=True)
    clock.advance_s(60)
    sh.ship_once()
    st = sh.status()
    assert (st["shipped"]["count"], st["shipped"]["bytes"]) == (1, 10)
    assert (st["quarantined"]["count"], st["quarantined"]["bytes"]) == (1, 20)
    assert (st["pending"]["count"], st["pending"]["bytes"]) == (1, 30)
    assert st["pending"]["oldest_age_s"] == 60 and bad.path.exists()


class _RowCountSource(FakeSource):
    """Verification = the copy opens as SQLite and holds both committed rows."""

    def verify(self, path: Path) -> str | None:
        import sqlite3

        con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            n = con.execute("SELECT count(*) FROM t").fetchone()[0]
        finally:
            con.close()
        return None if n == 2 else f"only {n} rows"


def _wal_segment(tmp_path: Path) -> tuple[Shipper, Path, MemoryVault, Any]:
    import sqlite3

    clock = FakeClock()
    mem = MemoryVault(clock=clock)
    src = _RowCountSource(tmp_path / "journals")
    meta = src.add("s1", "seg1", b"", sealed_utc_ns=clock.utc_ns())
    meta.path.unlink()
    con = sqlite3.connect(meta.path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("CREATE TABLE t (x)")
    con.execute("INSERT INTO t VALUES (1), (2)")  # committed, only in the -wal file
    assert meta.path.with_name(meta.path.name + "-wal").stat().st_size > 0
    sh = Shipper(
        tmp_path / "home",
        ShipConfig(backoff_base_seconds=1, backoff_max_seconds=1),
        {"primary": mem},
        src,
        clock=clock,
    )
    return sh, meta.path, mem, con


def test_sealed_segment_with_pages_left_in_its_wal_ships_complete(tmp_path: Path) -> None:
    """Pages still in -wal are checkpointed first: the shipped bytes hold every row and are
    byte-identical to the local file (so a re-PUT after a crash is idempotent)."""
    sh, path, mem, con = _wal_segment(tmp_path)
    assert sh.ship_once().shipped == [KEY]
    con.close()
    assert mem.get(KEY) == path.read_bytes()


def test_wal_that_cannot_be_checkpointed_yet_is_retried_not_shipped_short(tmp_path: Path) -> None:
    """A reader pinning the WAL: retryable, nothing shipped; shipped once it lets go."""
    import sqlite3

    sh, path, mem, con = _wal_segment(tmp_path)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()
    res = sh.ship_once()
    assert "WAL still busy" in res.failed[KEY] and mem.objects == {}
    reader.execute("COMMIT")
    reader.close()
    assert isinstance(sh.clock, FakeClock)
    sh.clock.advance_s(2)
    assert sh.ship_once().shipped == [KEY]
    con.close()


def test_agent_class_is_a_floor_for_every_session_it_ships(tmp_path: Path) -> None:
    """``sessiontape agent --class orders``: a segment sealed ``communications`` (3y) is kept
    as ``orders`` (6y); the longer of the two always wins."""
    sh, src, mem, _, clock = _setup(tmp_path)
    sh.min_class = "orders"
    src.add("s1", "seg1", b"chat", sealed_utc_ns=clock.utc_ns(), retention_class="communications")
    sh.ship_once()
    row = sh.state.get(KEY)
    assert row is not None and row.record_class == "orders"
    assert mem.head(KEY).retain_until == dt.datetime(2032, 1, 1, tzinfo=dt.UTC)
