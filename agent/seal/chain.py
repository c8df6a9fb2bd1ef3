"""Chunk leaves and the hash chain: what ties every chunk to its segment and to the chunks before.

A chunk's leaf is the RFC 9162 leaf hash of its stored header bytes (canonical JSON up to
chunk version 2, binary from version 3) followed by its ciphertext,
``SHA-256(0x00 || header || ciphertext)`` (:func:`agent.seal.merkle.leaf_hash`). The chain
head starts at the genesis hash, ``SHA-256(genesis)``, and after each chunk becomes
``SHA-256(head || leaf)``. The leaves also feed the segment's Merkle tree. The writer, crash
recovery, the verifier and inclusion proofs all compute leaves and heads here, so the formula
is written once.
"""

from __future__ import annotations

from agent.canonical import sha256
from agent.seal import merkle


def genesis_hash(genesis_bytes: bytes) -> bytes:
    """The chain's starting head: ``SHA-256(canonical genesis)``."""
    return sha256(genesis_bytes)


def chunk_leaf(header_bytes: bytes, ciphertext: bytes) -> bytes:
    """A chunk's leaf: ``SHA-256(0x00 || stored header bytes || ciphertext)``."""
    return merkle.leaf_hash(header_bytes + ciphertext)


def next_head(head: bytes, leaf: bytes) -> bytes:
    """The chain head after appending ``leaf``: ``SHA-256(head || leaf)``."""
    return sha256(head + leaf)
