"""Recipient and escrow X25519 keys: one format end to end, the raw form also accepted.

The format sessiontape writes is PEM: ``SubjectPublicKeyInfo`` for a public key and
unencrypted ``PKCS#8`` for a private key (what ``openssl pkey`` reads). Wherever a key is read
(``export --recipient``, ``verify-bundle --recipient-key``, ``reveal --key``, the masking
rules' ``[escrow] public_key``) the raw 32-byte key is accepted too, as base64 (standard or
URL-safe, padding optional) or as 64 hex digits. Every error names the file (or setting) and
says which forms are accepted.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from agent.errors import KeyMaterialError

FORMS = "a PEM X25519 key, or the raw 32-byte key as base64 or hex"
MAX_KEY_FILE = 64 * 1024
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


def _raw32(text: str) -> bytes | None:
    """The 32 raw bytes of a base64 or hex key text (None when it is neither)."""
    t = "".join(text.split())
    if _HEX.match(t):
        return bytes.fromhex(t)
    try:
        t = t.rstrip("=").replace("-", "+").replace("_", "/")
        raw = base64.b64decode(t + "=" * (-len(t) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


def public_raw_from_text(text: str, where: str) -> bytes:
    """The raw 32 bytes of an X25519 public key given as PEM, base64 or hex text."""
    if "-----BEGIN" in text:
        if "PRIVATE KEY" in text:
            raise KeyMaterialError(f"{where}: a private key where a public key is expected")
        try:
            key = serialization.load_pem_public_key(text.encode("ascii", "replace"))
        except (ValueError, TypeError) as exc:
            raise KeyMaterialError(f"{where}: not a readable PEM public key") from exc
        if not isinstance(key, X25519PublicKey):
            raise KeyMaterialError(f"{where}: not an X25519 public key (need {FORMS})")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raw = _raw32(text)
    if raw is None:
        raise KeyMaterialError(f"{where}: not an X25519 public key (need {FORMS})")
    return raw


def _read_text(path: Path, what: str) -> str:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_KEY_FILE + 1)
    except OSError as exc:
        raise KeyMaterialError(f"{path}: cannot read {what}: {exc.strerror}") from exc
    if len(data) > MAX_KEY_FILE:
        raise KeyMaterialError(f"{path}: too large for a {what} (need {FORMS})")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise KeyMaterialError(f"{path}: not a {what} (need {FORMS})") from None


def load_public_key(path: Path) -> bytes:
    """The raw 32 bytes of the X25519 public key in ``path`` (PEM, base64 or hex)."""
    return public_raw_from_text(_read_text(path, "public key"), str(path))


def load_private_key(path: Path) -> X25519PrivateKey:
    """The X25519 private key in ``path`` (PEM PKCS#8, or raw base64/hex)."""
    text = _read_text(path, "private key")
    if "-----BEGIN" in text:
        if "PRIVATE KEY" not in text:
            raise KeyMaterialError(f"{path}: a public key where a private key is expected")
        try:
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        except (ValueError, TypeError) as exc:
            raise KeyMaterialError(f"{path}: not an unencrypted PEM private key") from exc
        if not isinstance(key, X25519PrivateKey):
            raise KeyMaterialError(f"{path}: not an X25519 private key (need {FORMS})")
        return key
    raw = _raw32(text)
    if raw is None:
        raise KeyMaterialError(f"{path}: not an X25519 private key (need {FORMS})")
    return X25519PrivateKey.from_private_bytes(raw)


def public_pem(raw: bytes) -> bytes:
    """The SubjectPublicKeyInfo PEM of a raw X25519 public key."""
    return X25519PublicKey.from_public_bytes(raw).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
