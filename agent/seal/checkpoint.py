"""Checkpoints: signed commitments to a segment's Merkle root and chain head at a tree size.

A checkpoint body names its segment, session and genesis hash, the tree size with the root
and chain head at that size, the last seq, the time and the signing key; its canonical bytes
are signed with Ed25519. The seal is the segment's final signed commitment and is signed and
its signature checked the same way (:func:`sign_body`, :func:`signature_status`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.canonical import canonical_bytes
from agent.keys import Signer, TrustStore
from agent.seal import format as fmt
from agent.seal.segment_file import CheckpointRow


def checkpoint_body(
    *,
    segment_id: str,
    session_id: str,
    genesis_hash: bytes,
    n: int,
    tree_size: int,
    root: bytes,
    chain_head: bytes,
    seq_last: int,
    t_utc_ns: int,
    t_mono_ns: int,
    key_id: str,
) -> dict[str, Any]:
    """The body of checkpoint ``n`` committing to the tree of ``tree_size`` chunks."""
    return {
        "v": fmt.CHECKPOINT_VERSION,
        "type": "checkpoint",
        "seg": segment_id,
        "session": session_id,
        "genesis_hash": genesis_hash.hex(),
        "n": n,
        "tree_size": tree_size,
        "root": root.hex(),
        "chain_head": chain_head.hex(),
        "seq_last": seq_last,
        "t_utc_ns": t_utc_ns,
        "t_mono_ns": t_mono_ns,
        "key_id": key_id,
    }


def sign_body(signer: Signer, body: dict[str, Any]) -> tuple[bytes, bytes]:
    """(canonical bytes, Ed25519 signature) of a checkpoint or seal body."""
    body_bytes = canonical_bytes(body)
    return body_bytes, signer.sign(body_bytes)


def signature_status(
    trust: TrustStore, body: dict[str, Any], body_bytes: bytes, signature: bytes
) -> bool | None:
    """Whether the signature over ``body_bytes`` verifies; None when its key is not trusted."""
    return trust.verify(str(body.get("key_id", "")), signature, body_bytes)


def checkpoint_problem(
    cp: CheckpointRow,
    trust: TrustStore,
    *,
    segment_id: str,
    genesis_hash: bytes,
    prev_size: int,
    stored_size: int,
    stored: Mapping[int, tuple[bytes, bytes]],
) -> tuple[str, str] | None:
    """Why ``cp`` does not verify, as (check name, detail), or None when it does.

    ``prev_size`` is the previous checkpoint's tree size (sizes never shrink); ``stored_size``
    is how many chunks verify; ``stored`` maps tree sizes to the (root, chain head) recomputed
    from the stored chunks.
    """
    b = cp.body
    res = signature_status(trust, b, cp.body_bytes, cp.signature)
    if res is None:
        return "key", f"checkpoint signed by untrusted key {b.get('key_id', '')}"
    if res is False:
        return "checkpoint", "signature does not verify"
    size = b.get("tree_size")
    if (
        type(size) is not int
        or b.get("v") != fmt.CHECKPOINT_VERSION
        or b.get("seg") != segment_id
        or b.get("genesis_hash") != genesis_hash.hex()
        or size < prev_size
    ):
        return "checkpoint", "checkpoint does not belong to this segment/order"
    if size > stored_size:
        return (
            "checkpoint",
            f"checkpoint commits to {size} chunks but only {stored_size} "
            "verify (tail truncated or damaged)",
        )
    root, head = stored.get(size, (b"", b""))
    if root.hex() != b.get("root") or head.hex() != b.get("chain_head"):
        return "checkpoint", "Merkle root or chain head differs from the stored chunks"
    return None
