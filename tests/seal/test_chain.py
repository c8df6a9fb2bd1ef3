"""Chunk leaves and the hash chain (agent.seal.chain) against pinned bytes and real segments."""

from __future__ import annotations

import hashlib
from pathlib import Path

from agent.config import Config
from agent.journal.journal import Journal
from agent.seal import chain, merkle
from agent.seal.segment_file import SegmentFile
from agent.testing import FakeClock, make_event
from tests.test_canonical import HEADER_BYTES, LEAF

CIPHERTEXT = bytes(range(80))


def test_chunk_leaf_equals_the_pinned_golden_leaf() -> None:
    """leaf = SHA-256(0x00 || stored header bytes || ciphertext) gives the golden vector."""
    assert chain.chunk_leaf(HEADER_BYTES, CIPHERTEXT).hex() == LEAF


def test_chunk_leaf_is_the_rfc9162_leaf_of_header_then_ciphertext() -> None:
    """The chunk leaf is merkle.leaf_hash over header‖ciphertext, and a changed byte changes it."""
    leaf = chain.chunk_leaf(HEADER_BYTES, CIPHERTEXT)
    assert leaf == merkle.leaf_hash(HEADER_BYTES + CIPHERTEXT)
    assert leaf != chain.chunk_leaf(HEADER_BYTES, CIPHERTEXT[:-1] + b"\x00")


def test_chain_starts_at_the_genesis_hash_and_hashes_head_then_leaf() -> None:
    """genesis_hash = SHA-256(genesis); next_head(h, leaf) = SHA-256(h || leaf)."""
    genesis = b'{"type":"genesis"}'
    head = chain.genesis_hash(genesis)
    assert head == hashlib.sha256(genesis).digest()
    leaf = chain.chunk_leaf(HEADER_BYTES, CIPHERTEXT)
    assert chain.next_head(head, leaf) == hashlib.sha256(head + leaf).digest()
    assert chain.next_head(head, leaf) != chain.next_head(leaf, head)


def test_written_segment_stores_the_leaves_and_heads_chain_recomputes(
    home: Path, cfg: Config
) -> None:
    """Every stored leaf and chain head of a real segment equals what chain.py computes."""
    clock = FakeClock()
    j = Journal.open(home, cfg, clock=clock)
    for _ in range(3):
        j.append_many([make_event(clock=clock)])
    j.close()
    seg = SegmentFile(j.segments[0])
    try:
        head = chain.genesis_hash(seg.genesis_bytes)
        rows = list(seg.iter_chunks())
        for row in rows:
            leaf = chain.chunk_leaf(row.header_bytes, row.ciphertext)
            head = chain.next_head(head, leaf)
            assert (row.leaf, row.chain) == (leaf, head)
        assert len(rows) >= 4  # session.start, three events, session.end
    finally:
        seg.close()
