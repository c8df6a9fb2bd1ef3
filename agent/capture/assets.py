"""Content-addressed asset store: ``<home>/assets/ab/cdef...`` keyed by SHA-256.

CSS, fonts and images (and optional screenshots) are stored once, whatever the number of
sessions or pages that reference them, so a replay years later does not depend on the live
site. Writes are atomic (temp file + rename); an existing hash is never rewritten.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from agent.canonical import sha256_hex

ASSET_TYPES = frozenset({"Stylesheet", "Font", "Image"})


class AssetStore:
    """Store and find blobs by SHA-256 under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256_hex: str) -> Path:
        """Where the blob with this hash lives (whether or not it exists)."""
        return self.root / sha256_hex[:2] / sha256_hex[2:]

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; return (sha256 hex, newly written?)."""
        digest = sha256_hex(data)
        dest = self.path_for(digest)
        if dest.exists():
            return digest, False
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest, True

    def get(self, sha256_hex: str) -> bytes:
        """The blob with this hash (``FileNotFoundError`` if absent)."""
        return self.path_for(sha256_hex).read_bytes()
