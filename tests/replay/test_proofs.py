"""Chunk inclusion proofs against the seal root, recomputed from the stored bytes."""

from __future__ import annotations

from pathlib import Path

from agent.config import Config
from agent.journal.reader import SegmentFile
from agent.replay.proofs import check_proof, chunk_proof, load_leaves
from agent.testing import FakeClock
from tests.journals import write_session


def _segment(home: Path, cfg: Config, clock: FakeClock, chunks: int) -> Path:
    j = write_session(home, cfg, clock, chunks_per_segment=chunks, events_per_chunk=3)
    return j.segments[0]


def test_every_chunk_proves_inclusion_under_the_seal_root(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """Each chunk's proof checks, anchored by the seal, for a tree of odd size."""
    seg = SegmentFile(_segment(home, cfg, clock, 7))
    try:
        sl = load_leaves(seg)
        n = len(sl.leaves)
        assert sl.seal is not None and sl.seal.tree_size == n
        for i in range(n):
            pr = chunk_proof(sl, i)
            assert pr["included"] is True and pr["anchor"] == "seal"
            assert check_proof(pr, sl.leaves[i])
    finally:
        seg.close()


def test_altered_proof_or_other_leaf_does_not_check(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """A flipped proof hash, or the proof of chunk 1 with chunk 2's leaf, fails."""
    seg = SegmentFile(_segment(home, cfg, clock, 5))
    try:
        sl = load_leaves(seg)
        pr = chunk_proof(sl, 1)
        bad = dict(
            pr,
            proof=[
                ("0" if pr["proof"][0][0] != "0" else "1") + pr["proof"][0][1:],
                *pr["proof"][1:],
            ],
        )
        assert not check_proof(bad)
        assert not check_proof(pr, sl.leaves[2])
        assert chunk_proof(sl, 99)["included"] is False
    finally:
        seg.close()
