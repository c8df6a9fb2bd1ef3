"""Assets are stored once by SHA-256 under <home>/assets/ab/cdef..."""

from __future__ import annotations

import hashlib
from pathlib import Path

from agent.capture.assets import AssetStore


def test_asset_is_stored_by_hash_once_and_read_back(tmp_path: Path) -> None:
    """Same bytes -> same path, written once; the layout splits the first two hex digits."""
    store = AssetStore(tmp_path / "assets")
    digest, new = store.put(b"body{}")
    assert digest == hashlib.sha256(b"body{}").hexdigest()
    assert new is True
    assert store.path_for(digest) == tmp_path / "assets" / digest[:2] / digest[2:]
    assert store.put(b"body{}") == (digest, False)
    assert store.get(digest) == b"body{}"
    assert [p.name for p in (tmp_path / "assets").rglob("*") if p.is_file()] == [digest[2:]]
