"""Checkpoint bodies, their Ed25519 signatures and their check (agent.seal.checkpoint)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.canonical import canonical_bytes
from agent.keys import KeySigner, Signer, TrustStore
from agent.seal.checkpoint import checkpoint_body, checkpoint_problem, sign_body, signature_status
from agent.seal.segment_file import CheckpointRow
from tests.test_canonical import CHECKPOINT, CHECKPOINT_SIG

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
SIGNER = KeySigner(str(CHECKPOINT["key_id"]), KEY)
TRUST = TrustStore({SIGNER.key_id: KEY.public_key()})
GENESIS_HASH = bytes.fromhex(str(CHECKPOINT["genesis_hash"]))
ROOT, HEAD = bytes.fromhex("11" * 32), bytes.fromhex("22" * 32)


def _golden_body() -> dict[str, Any]:
    return checkpoint_body(
        segment_id="00112233aabbccdd",
        session_id="20260101T000000Z-00000000",
        genesis_hash=GENESIS_HASH,
        n=0,
        tree_size=1,
        root=ROOT,
        chain_head=HEAD,
        seq_last=9,
        t_utc_ns=1767225600000000000,
        t_mono_ns=1000000000,
        key_id=SIGNER.key_id,
        prev=GENESIS_HASH,
    )


def _row(
    body: dict[str, Any], body_bytes: bytes | None = None, signer: Signer = SIGNER
) -> CheckpointRow:
    signed_bytes, sig = sign_body(signer, body)
    return CheckpointRow(0, body_bytes if body_bytes is not None else signed_bytes, body, sig)


def _problem(cp: CheckpointRow, stored_size: int = 1) -> tuple[str, str] | None:
    return checkpoint_problem(
        cp,
        TRUST,
        segment_id="00112233aabbccdd",
        genesis_hash=GENESIS_HASH,
        prev_size=-1,
        stored_size=stored_size,
        stored={1: (ROOT, HEAD)},
    )


def test_checkpoint_body_and_signature_equal_the_golden_vectors() -> None:
    """The body built here is the pinned checkpoint, and signing it gives the pinned signature."""
    body = _golden_body()
    assert body == CHECKPOINT
    body_bytes, sig = sign_body(SIGNER, body)
    assert body_bytes == canonical_bytes(CHECKPOINT)
    assert sig.hex() == CHECKPOINT_SIG


def test_signed_checkpoint_verifies_and_matches_the_stored_tree() -> None:
    """A checkpoint signed by a trusted key over the stored root and head has no problem."""
    cp = _row(_golden_body())
    assert signature_status(TRUST, cp.body, cp.body_bytes, cp.signature) is True
    assert _problem(cp) is None


def test_modified_checkpoint_body_fails_its_signature() -> None:
    """Bytes changed after signing fail the signature check, naming it."""
    body = _golden_body()
    cp = _row(body, canonical_bytes({**body, "tree_size": 2}))
    assert signature_status(TRUST, cp.body, cp.body_bytes, cp.signature) is False
    assert _problem(cp) == ("checkpoint", "signature does not verify")


def test_checkpoint_by_an_untrusted_key_fails_the_key_check() -> None:
    """A key outside the trust store is reported as the key check, with its id."""
    other = KeySigner("ed25519:ffffffffffffffff", Ed25519PrivateKey.generate())
    cp = _row({**_golden_body(), "key_id": other.key_id}, signer=other)
    assert signature_status(TRUST, cp.body, cp.body_bytes, cp.signature) is None
    assert _problem(cp) == ("key", "checkpoint signed by untrusted key ed25519:ffffffffffffffff")


def test_signed_checkpoint_of_another_segment_or_tree_fails() -> None:
    """A validly signed checkpoint fails when it names another segment, root or more chunks."""
    other_seg = _row({**_golden_body(), "seg": "ffffffffffffffff"})
    assert _problem(other_seg) == (
        "checkpoint",
        "checkpoint does not belong to this segment/order",
    )
    other_root = _row({**_golden_body(), "root": "33" * 32})
    assert _problem(other_root) == (
        "checkpoint",
        "Merkle root or chain head differs from the stored chunks",
    )
    assert _problem(_row(_golden_body()), stored_size=0) == (
        "checkpoint",
        "checkpoint commits to 1 chunks but only 0 verify (tail truncated or damaged)",
    )


def test_checkpoint_chain_names_a_missing_or_unlinked_checkpoint() -> None:
    """Checkpoints are numbered densely and each names the previous one's body hash: a
    checkpoint after a deleted one, or whose ``prev`` is not its predecessor, fails."""
    assert _chained(2, 1, bytes(32), bytes(32)) == (
        "checkpoint",
        "checkpoint 1 missing (the next stored checkpoint is 2)",
    )
    unlinked = _row({**_golden_body(), "prev": "aa" * 32})
    assert _problem(unlinked) == (
        "checkpoint",
        "checkpoint 0 does not link to the genesis (prev hash differs)",
    )


def _chained(n: int, expect_n: int, prev_link: bytes, prev: bytes) -> tuple[str, str] | None:
    body = {**_golden_body(), "n": n, "prev": prev.hex()}
    body_bytes, sig = sign_body(SIGNER, body)
    return checkpoint_problem(
        CheckpointRow(n, body_bytes, body, sig),
        TRUST,
        segment_id="00112233aabbccdd",
        genesis_hash=GENESIS_HASH,
        prev_size=-1,
        stored_size=1,
        stored={1: (ROOT, HEAD)},
        expect_n=expect_n,
        prev_link=prev_link,
    )


def test_checkpoint_chain_names_a_missing_range_and_the_link_it_breaks() -> None:
    """Two deleted checkpoints are named as a range; a later checkpoint whose ``prev`` is not
    its predecessor's hash names that predecessor; the right link passes."""
    link = bytes.fromhex("ab" * 32)
    assert _chained(3, 1, link, link) == (
        "checkpoint",
        "checkpoint 1-2 missing (the next stored checkpoint is 3)",
    )
    assert _chained(2, 2, link, bytes(32)) == (
        "checkpoint",
        "checkpoint 2 does not link to checkpoint 1 (prev hash differs)",
    )
    assert _chained(2, 2, link, link) is None
