"""Encryption at rest: a per-segment data key (DEK) wrapped by a key-encryption key (KEK).

Chunks are zstd-compressed then sealed with AES-256-GCM under the segment's DEK. The nonce is
96 random bits drawn for every encryption and stored in the chunk header: a commit that fails
and is retried re-encrypts under a fresh nonce, so no nonce is ever used twice even when a
rolled-back ciphertext survives in a WAL file. The associated data is the chunk
header's stored bytes (canonical JSON up to version 2, binary from 3), which name the segment
id and seq range, so a chunk cannot be swapped, moved to another segment or re-numbered
without failing authentication. The DEK is wrapped with AES key wrap (RFC 3394) under the
KEK named in the segment genesis.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from agent.errors import KeyMaterialError, VerificationFailed

TAG_LEN = 16


def new_dek() -> bytes:
    """A fresh 256-bit data key."""
    return secrets.token_bytes(32)


def wrap_dek(kek: bytes, dek: bytes) -> bytes:
    """Wrap a DEK under a KEK (RFC 3394)."""
    return aes_key_wrap(kek, dek)


def unwrap_dek(kek: bytes, wrapped: bytes, *, where: str) -> bytes:
    """Unwrap a DEK; a wrong KEK or altered wrapped key is a ``KeyMaterialError``."""
    try:
        return aes_key_unwrap(kek, wrapped)
    except (InvalidUnwrap, ValueError) as exc:  # ValueError: not a wrapped key's length
        raise KeyMaterialError(f"{where}: data key does not unwrap with this KEK") from exc


def new_nonce() -> bytes:
    """A fresh 96-bit GCM nonce."""
    return secrets.token_bytes(12)


class ChunkCipher:
    """AES-256-GCM for one segment's chunks."""

    __slots__ = ("_aead",)

    def __init__(self, dek: bytes) -> None:
        self._aead = AESGCM(dek)

    def seal(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt a compressed chunk body bound to its header."""
        return self._aead.encrypt(nonce, plaintext, aad)

    def open(self, nonce: bytes, ciphertext: bytes, aad: bytes, *, where: str) -> bytes:
        """Decrypt; failure names the chunk (``where``)."""
        try:
            return self._aead.decrypt(nonce, ciphertext, aad)
        except (InvalidTag, ValueError) as exc:  # ValueError: a nonce of impossible length
            raise VerificationFailed("decrypt", "AEAD authentication failed", where=where) from exc
