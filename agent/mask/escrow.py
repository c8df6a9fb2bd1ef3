"""Escrow: seal a value to a compliance officer's X25519 public key (HPKE-style).

Sealing: an ephemeral X25519 key pair, ECDH with the officer's public key, HKDF-SHA256 over
the shared secret (salt = ephemeral public || recipient public) to a 256-bit key, AES-256-GCM
with a random nonce; the token is bound as associated data so a blob cannot be moved to
another token. Blob (base64url, no padding)::

    0x01 | key_id (8 bytes, SHA-256 of recipient public key) | ephemeral public (32)
         | nonce (12) | ciphertext+tag

The recording agent holds only the public key; :func:`open_sealed` needs the private key.
The token a blob is bound to is random (``agent.mask.tokens.new_escrow_token``), never a
digest of the value, so nothing the agent stores lets anyone test a guess of an escrowed value.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agent.canonical import sha256
from agent.errors import InputError, KeyMaterialError, UnknownVersion

ESCROW_VERSION = 1
_INFO = b"sessiontape escrow v1"


def key_id(public_raw: bytes) -> str:
    """Short id of a recipient key (hex of the first 8 bytes of its SHA-256)."""
    return sha256(public_raw)[:8].hex()


def _derive(shared: bytes, eph_pub: bytes, rcpt_pub: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + rcpt_pub, info=_INFO)
    return hkdf.derive(shared)


def _aad(token: str) -> bytes:
    return b"sessiontape-escrow-v1\x00" + token.encode("ascii")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class EscrowSealer:
    """Seals values to one officer's public key (PEM text, or the raw 32 bytes as base64 or
    hex)."""

    def __init__(self, public_key: str, officer: str = "", where: str = "public key") -> None:
        from agent.mask.keyfile import public_raw_from_text

        self.public_raw = public_raw_from_text(public_key, where)
        self._public = X25519PublicKey.from_public_bytes(self.public_raw)
        self.officer = officer
        self.key_id = key_id(self.public_raw)

    def seal(self, value: str, token: str) -> str:
        """The sealed blob (base64url) for ``value`` under ``token``."""
        eph = X25519PrivateKey.generate()
        eph_pub = eph.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        key = _derive(eph.exchange(self._public), eph_pub, self.public_raw)
        nonce = os.urandom(12)
        ct = AESGCM(key).encrypt(nonce, value.encode("utf-8", "surrogatepass"), _aad(token))
        return _b64(bytes([ESCROW_VERSION]) + bytes.fromhex(self.key_id) + eph_pub + nonce + ct)


def blob_key_id(blob: str) -> str:
    """The recipient key id a blob was sealed to (no key needed)."""
    raw = _unb64(blob)
    if len(raw) < 1 + 8 + 32 + 12 + 16:
        raise InputError("sealed escrow blob is truncated")
    if raw[0] != ESCROW_VERSION:
        raise UnknownVersion(f"escrow blob version {raw[0]}")
    return raw[1:9].hex()


def open_sealed(blob: str, token: str, private_key: X25519PrivateKey) -> str:
    """Decrypt a blob; ``KeyMaterialError`` (never a value) when the key is not the recipient."""
    sealed_to = blob_key_id(blob)
    raw = _unb64(blob)
    rcpt_pub = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    if key_id(rcpt_pub) != sealed_to:
        raise KeyMaterialError(
            f"wrong escrow key: the value is sealed to key {sealed_to}, "
            f"the given key is {key_id(rcpt_pub)}"
        )
    eph_pub, nonce, ct = raw[9:41], raw[41:53], raw[53:]
    try:
        shared = private_key.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        key = _derive(shared, eph_pub, rcpt_pub)
        return AESGCM(key).decrypt(nonce, ct, _aad(token)).decode("utf-8", "surrogatepass")
    except (InvalidTag, ValueError) as exc:
        raise KeyMaterialError(
            "escrow blob does not open with this key (tampered, or sealed for another token)"
        ) from exc


def generate_keypair() -> tuple[bytes, str]:
    """A new officer key pair: (private key PEM, public key base64)."""
    priv = X25519PrivateKey.generate()
    pem = priv.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pub = priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return pem, base64.b64encode(pub).decode("ascii")


def load_private_key(path: Path) -> X25519PrivateKey:
    """Read an officer's or recipient's X25519 private key (PEM, or raw base64/hex);
    ``KeyMaterialError`` naming the file if it is not one."""
    from agent.mask.keyfile import load_private_key as load

    return load(path)
