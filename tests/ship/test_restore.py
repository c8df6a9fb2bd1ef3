"""Restoring a session from a vault into ``<home>/restore``: by recorded version, hashed,
cached read-only and re-fetched when a cached copy is wrong."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest

from agent.errors import UsageError
from agent.ship.receipts import RECEIPT_SUFFIX
from agent.ship.restore import restore_for_read, restore_session
from agent.ship.testing import MemoryVault

SID = "20261126T101500Z-3f9a1c2b"


def _vault() -> MemoryVault:
    v = MemoryVault(url="memory://t")
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    for i in range(2):
        key = f"segments/{SID}/00000{i}-seg{i}.stj"
        r = v.put_immutable(key, b"bytes %d" % i, retain_until=until, mode="COMPLIANCE")
        v.put_immutable(
            key + RECEIPT_SUFFIX,
            json.dumps(r.to_json()).encode(),
            retain_until=until,
            mode="COMPLIANCE",
        )
    return v


def test_restore_writes_read_only_files_in_a_private_dir_and_reuses_them(tmp_path: Path) -> None:
    """0700 directory, 0400 files; a second restore fetches nothing."""
    v = _vault()
    res = restore_session(tmp_path, SID, v)
    assert (res.segments, res.fetched, res.anomalies) == (2, 2, [])
    assert stat.S_IMODE(res.directory.stat().st_mode) == 0o700
    f = res.directory / "000000-seg0.stj"
    assert stat.S_IMODE(f.stat().st_mode) == 0o400 and f.read_bytes() == b"bytes 0"
    assert restore_session(tmp_path, SID, v).fetched == 0


def test_a_cached_copy_with_the_wrong_hash_is_fetched_again(tmp_path: Path) -> None:
    """Someone changed the cache: the recorded version is fetched over it."""
    v = _vault()
    res = restore_session(tmp_path, SID, v)
    f = res.directory / "000001-seg1.stj"
    f.chmod(0o600)
    f.write_bytes(b"changed")
    again = restore_session(tmp_path, SID, v)
    assert again.fetched == 1 and f.read_bytes() == b"bytes 1"


def test_restore_reads_the_original_under_a_newer_version(tmp_path: Path) -> None:
    """A plain PUT over a segment does not change what is restored; it is reported."""
    v = _vault()
    key = f"segments/{SID}/000000-seg0.stj"
    v.add_plain_version(key, b"forged")
    res = restore_session(tmp_path, SID, v)
    assert (res.directory / "000000-seg0.stj").read_bytes() == b"bytes 0"
    assert [a.key for a in res.anomalies] == [key]


def test_a_session_nowhere_is_one_line_naming_where_it_looked(tmp_path: Path) -> None:
    """No journals, no restore cache, no ship state: the message names all three."""
    with pytest.raises(UsageError) as info:
        restore_for_read(tmp_path, "nosuch", None)
    assert info.value.message == (
        f"unknown session 'nosuch': not in {tmp_path / 'journals'}, not in "
        f"{tmp_path / 'restore'}, and no receipts of it in {tmp_path / 'ship'}/state.db "
        "(to read it from a vault: --from-vault URL)"
    )


def test_a_restored_session_is_read_from_the_cache_without_the_flag(tmp_path: Path) -> None:
    """Once restored with --from-vault, a home without receipts reads its cache as it is."""
    restore_session(tmp_path, SID, _vault())
    assert restore_for_read(tmp_path, SID[:12], None) is None
