"""Checkpoints: signed commitments to a segment's Merkle root and chain head at a tree size.

A checkpoint body names its segment, session and genesis hash, the tree size with the root
and chain head at that size, the last seq, the time and the signing key, and ``prev``: the
SHA-256 of the previous checkpoint's canonical body (checkpoint 0: the genesis hash, which
commits to the previous segment's seal). Its canonical bytes are signed with Ed25519. The
``prev`` links make the checkpoints of a segment a chain, so a deleted checkpoint (even of an
unsealed segment) breaks the link of the one after it. The seal is the segment's final signed
commitment and is signed and its signature checked the same way (:func:`sign_body`,
:func:`signature_status`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.canonical import canonical_bytes, sha256
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
    prev: bytes,
) -> dict[str, Any]:
    """The body of checkpoint ``n`` committing to the tree of ``tree_size`` chunks.

    ``prev`` is :func:`checkpoint_link` of checkpoint ``n - 1`` (for ``n == 0`` the genesis
    hash)."""
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
        "prev": prev.hex(),
    }


def checkpoint_link(body_bytes: bytes) -> bytes:
    """What the next checkpoint's ``prev`` names: SHA-256 of this one's canonical body."""
    return sha256(body_bytes)


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
    expect_n: int = 0,
    prev_link: bytes | None = None,
) -> tuple[str, str] | None:
    """Why ``cp`` does not verify, as (check name, detail), or None when it does.

    ``prev_size`` is the previous checkpoint's tree size (sizes never shrink); ``stored_size``
    is how many chunks verify; ``stored`` maps tree sizes to the (root, chain head) recomputed
    from the stored chunks. ``expect_n`` is the number this checkpoint must carry and
    ``prev_link`` what its ``prev`` must name (default: the genesis hash).
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
        or b.get("n") != cp.n
        or size < prev_size
    ):
        return "checkpoint", "checkpoint does not belong to this segment/order"
    link = _link_problem(cp, expect_n, genesis_hash if prev_link is None else prev_link)
    if link:
        return "checkpoint", link
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


def _link_problem(cp: CheckpointRow, expect_n: int, prev_link: bytes) -> str:
    """How ``cp`` breaks the checkpoint chain ("" when it is the next link)."""
    n = cp.n
    if n > expect_n:
        missing = f"{expect_n}" if n == expect_n + 1 else f"{expect_n}-{n - 1}"
        return f"checkpoint {missing} missing (the next stored checkpoint is {n})"
    if n < expect_n:
        return f"checkpoint {n} is out of order (expected checkpoint {expect_n})"
    if cp.body.get("prev") != prev_link.hex():
        after = f"checkpoint {expect_n - 1}" if expect_n else "the genesis"
        return f"checkpoint {n} does not link to {after} (prev hash differs)"
    return ""
