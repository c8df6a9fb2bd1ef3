"""Merkle inclusion proofs of chunks against a segment's signed commitments.

A chunk is *anchored* by the seal (its Merkle root over every chunk) or, for an unsealed
segment, by the latest signed checkpoint whose tree covers it. The proof is computed from leaf
hashes recomputed from the stored header and ciphertext (never from the stored ``leaf``
column), so a proof that checks says the bytes on disk are the bytes that were signed.
Whether the seal/checkpoint *signature* verifies is the segment verifier's business
(:func:`agent.seal.verify.verify_segment`); the status here combines both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.seal import chain, merkle
from agent.seal.segment_file import SegmentFile

PROOF_VERSION = 1


@dataclass
class Anchor:
    """A signed commitment to a tree size and root."""

    what: str  # "seal" or "checkpoint <n>"
    tree_size: int
    root: bytes


@dataclass
class SegmentLeaves:
    """Recomputed leaf hashes of a segment plus its seal and checkpoint anchors."""

    segment_id: str
    leaves: list[bytes]
    headers: list[dict[str, Any]]
    seal: Anchor | None
    checkpoints: list[Anchor] = field(default_factory=list)

    def anchor_for(self, idx: int) -> Anchor | None:
        """The seal, else the largest checkpoint covering chunk ``idx``."""
        if self.seal is not None and idx < self.seal.tree_size:
            return self.seal
        covering = [a for a in self.checkpoints if a.tree_size > idx]
        return max(covering, key=lambda a: a.tree_size) if covering else None


def load_leaves(seg: SegmentFile) -> SegmentLeaves:
    """Recompute every leaf hash of an open segment and read its anchors (no key needed)."""
    leaves: list[bytes] = []
    headers: list[dict[str, Any]] = []
    for row in seg.iter_chunks():
        leaves.append(chain.chunk_leaf(row.header_bytes, row.ciphertext))
        headers.append(row.header)
    seal_row = seg.seal()
    seal = None
    if seal_row is not None:
        try:
            seal = Anchor(
                "seal", int(seal_row.body["tree_size"]), bytes.fromhex(str(seal_row.body["root"]))
            )
        except (KeyError, ValueError, TypeError):
            seal = None
    cps = []
    for cp in seg.checkpoints():
        try:
            cps.append(
                Anchor(
                    f"checkpoint {cp.n}",
                    int(cp.body["tree_size"]),
                    bytes.fromhex(str(cp.body["root"])),
                )
            )
        except (KeyError, ValueError, TypeError):
            continue
    return SegmentLeaves(seg.segment_id, leaves, headers, seal, cps)


def chunk_proof(sl: SegmentLeaves, idx: int) -> dict[str, Any]:
    """The inclusion proof of chunk ``idx`` (JSON form) with ``included`` = it checks."""
    out: dict[str, Any] = {"v": PROOF_VERSION, "segment_id": sl.segment_id, "chunk": idx}
    if not 0 <= idx < len(sl.leaves):
        return {**out, "included": False, "anchor": None, "detail": "no such chunk"}
    anchor = sl.anchor_for(idx)
    out["leaf"] = sl.leaves[idx].hex()
    if anchor is None:
        return {
            **out,
            "included": False,
            "anchor": None,
            "detail": "no seal or checkpoint covers this chunk",
        }
    if anchor.tree_size > len(sl.leaves):
        return {
            **out,
            "included": False,
            "anchor": anchor.what,
            "tree_size": anchor.tree_size,
            "root": anchor.root.hex(),
            "detail": f"{anchor.what} commits to {anchor.tree_size} chunks, "
            f"{len(sl.leaves)} are stored",
        }
    path = merkle.inclusion_proof(idx, sl.leaves[: anchor.tree_size])
    ok = merkle.verify_inclusion(sl.leaves[idx], idx, anchor.tree_size, path, anchor.root)
    return {
        **out,
        "anchor": anchor.what,
        "tree_size": anchor.tree_size,
        "root": anchor.root.hex(),
        "proof": [p.hex() for p in path],
        "included": ok,
        "detail": f"leaf recomputed from stored bytes is included under the {anchor.what} root"
        if ok
        else "leaf recomputed from stored bytes is NOT under the signed root",
    }


def check_proof(proof: dict[str, Any], leaf: bytes | None = None) -> bool:
    """Re-check a JSON proof (optionally against an independently computed ``leaf``)."""
    try:
        lf = bytes.fromhex(str(proof["leaf"]))
        if leaf is not None and lf != leaf:
            return False
        return merkle.verify_inclusion(
            lf,
            int(proof["chunk"]),
            int(proof["tree_size"]),
            [bytes.fromhex(p) for p in proof["proof"]],
            bytes.fromhex(str(proof["root"])),
        )
    except (KeyError, ValueError, TypeError):
        return False
