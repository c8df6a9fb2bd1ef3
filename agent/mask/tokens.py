"""Keyed tokens: HMAC-SHA256 under a per-deployment secret, so equal values correlate.

The secret lives in ``<home>/keys/mask_hmac.key`` (32 random bytes, mode 0600, created on first
use, refused when group- or world-readable). The same normalised value gives the same token in
every session recorded with that key. Without the key a token cannot be computed from a guess;
with it, a low-entropy value (an SSN: 10^9 candidates, a PIN: 10^4) is recovered by hashing
every candidate, which is why the key never leaves the agent's account. Escrow tokens are not
derived from the value at all (:func:`new_escrow_token`): they are random.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from agent.errors import KeyMaterialError, io_error_text

HMAC_KEY_FILE = "mask_hmac.key"
_DOMAIN = b"sessiontape-mask-token-v1\x00"


def hmac_key_path(home: Path) -> Path:
    """Where the masking HMAC secret lives under the agent home."""
    return home / "keys" / HMAC_KEY_FILE


def load_or_create_hmac_key(path: Path) -> bytes:
    """Read the 32-byte masking secret at ``path``, creating it (0600, exclusively) if missing."""
    return load_or_create_secret(path, "masking key")


def load_or_create_secret(path: Path, what: str) -> bytes:
    """Read a 32-byte secret at ``path``, creating it (0600, exclusively) if missing.

    A secret of the wrong size, or one the file mode lets the group or others read, is a
    ``KeyMaterialError`` naming ``what`` and the file: it is never used.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create_secret(path, what)  # another process won the race
        try:
            if os.write(fd, key) != len(key):
                raise OSError(errno.ENOSPC, "short write")
            os.fsync(fd)
        except OSError as exc:
            path.unlink(missing_ok=True)  # a truncated key must not be found next time
            raise KeyMaterialError(f"{path}: cannot write {what}: {io_error_text(exc)}") from exc
        finally:
            os.close(fd)
        return key
    except OSError as exc:
        raise KeyMaterialError(f"{path}: cannot read {what}: {exc.strerror}") from exc
    if len(data) != 32:
        raise KeyMaterialError(f"{path}: {what} must be 32 bytes, found {len(data)}")
    if path.stat().st_mode & 0o077:
        raise KeyMaterialError(f"{path}: {what} is readable by others (chmod 600)")
    return data


def new_escrow_token() -> str:
    """A fresh escrow token: ``esc_`` + 16 hex chars of randomness, nothing of the value.

    Two escrows of one value get unrelated tokens, so holding the HMAC key (or any other file
    of the agent) does not let anyone test guesses against an escrow token; the value comes
    back only from the sealed blob, with the officer's private key, through the audited reveal.
    """
    return "esc_" + secrets.token_hex(8)


class Tokenizer:
    """Turns normalised values into ``tok_`` + 16 hex chars (64 bits of HMAC)."""

    def __init__(self, key: bytes, cache_size: int = 65536) -> None:
        if len(key) < 32:
            raise KeyMaterialError("masking HMAC key must be at least 32 bytes")
        self._key = key
        self.digest = functools.lru_cache(maxsize=cache_size)(self._digest)

    def _digest(self, normalized: str) -> str:
        mac = hmac.new(
            self._key, _DOMAIN + normalized.encode("utf-8", "surrogatepass"), hashlib.sha256
        )
        return mac.hexdigest()[:16]

    def token(self, normalized: str) -> str:
        """The tokenize-mode token for a normalised value."""
        return "tok_" + self.digest(normalized)
