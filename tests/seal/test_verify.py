"""The tamper matrix: every alteration of a real multi-segment session fails verify, by name.

Tampering is done the way an attacker with file access would: drop the append-only triggers,
then edit rows (or remove files). The untouched session passes.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.canonical import canonical_bytes, loads, sha256
from agent.config import Config
from agent.journal.reader import SegmentFile
from agent.keys import Keyring, signing_key_id
from agent.seal.verify import verify_paths
from agent.testing import FakeClock
from tests.journals import flip_byte, tamper, write_session
from tests.seal.conftest import segments, verify_home


def test_untouched_session_passes_every_check(victim: Path) -> None:
    """The control: all segments verified, continuity and counters pass."""
    rep = verify_home(victim, decrypt=True)
    assert rep.ok, rep.first_failure
    assert [s.status for s in rep.segments] == ["verified"] * 3
    assert {c.name for c in rep.checks} >= {"continuity"}


@pytest.mark.parametrize(
    "column,check",
    [("header", "chain"), ("ciphertext", "chain"), ("leaf", "chain"), ("chain", "chain")],
)
def test_flipped_byte_in_each_chunk_column_fails_naming_the_chunk(
    victim: Path, column: str, check: str
) -> None:
    """One flipped bit in header, ciphertext, leaf or chain of chunk 2 fails at chunk 2."""
    seg = segments(victim)[1]
    flip_byte(seg, "idx = 2", column=column, offset=5, mask=0x01)
    rep = verify_home(victim)
    assert not rep.ok
    bad = rep.segments[1]
    ff = bad.first_failure
    assert ff is not None and ff.name == check
    assert "chunk 2" in ff.where
    assert rep.segments[0].passed and rep.segments[2].passed


def test_renumbered_chunk_index_fails(victim: Path) -> None:
    """Changing a chunk's idx (moving it) breaks the dense index."""
    seg = segments(victim)[0]
    tamper(seg, "UPDATE chunks SET idx = 100 WHERE idx = 3")
    ff = verify_home(victim).segments[0].first_failure
    assert ff is not None and ff.name == "chain" and ff.where.startswith("chunk 3,")
    assert "next stored chunk is 4" in ff.detail


def _rechain(seg: Path) -> None:
    """Recompute every chunk's leaf and chain hash from the stored bytes, as an attacker who
    edited a ciphertext would (plain SHA-256: no key needed)."""
    sf = SegmentFile(seg)
    try:
        chain = sha256(sf.genesis_bytes)
        rows = []
        for row in sf.iter_chunks():
            leaf = hashlib.sha256(b"\x00" + row.header_bytes + row.ciphertext).digest()
            chain = sha256(chain + leaf)
            rows.append((row.idx, leaf, chain))
    finally:
        sf.close()
    for idx, leaf, chain in rows:
        tamper(seg, f"UPDATE chunks SET leaf = ?, chain = ? WHERE idx = {idx}", args=(leaf, chain))


def test_flipped_ciphertext_byte_with_a_recomputed_chain_fails_decryption_with_the_key(
    victim: Path,
) -> None:
    """Leaf and chain hashes recomputed after the edit pass the chain check; with --decrypt,
    AEAD authentication fails naming the chunk (without the key, the signed roots catch it)."""
    seg = segments(victim)[2]
    flip_byte(seg, "idx = 1", offset=5, mask=0x01)
    _rechain(seg)
    ff = verify_home(victim, decrypt=True).segments[2].first_failure
    assert ff is not None and (ff.name, ff.where) == ("decrypt", "chunk 1")
    assert ff.detail.startswith("AEAD authentication failed")
    keyless = verify_home(victim).segments[2].first_failure
    assert keyless is not None and keyless.name in ("checkpoint", "seal")


def test_deleted_chunk_fails_naming_the_gap(victim: Path) -> None:
    """Deleting chunk 3 of 6 is reported at the first missing index."""
    seg = segments(victim)[1]
    tamper(seg, "DELETE FROM chunks WHERE idx = 3")
    ff = verify_home(victim).segments[1].first_failure
    assert ff is not None and ff.name == "chain" and ff.where.startswith("chunk 3,")
    assert "missing" in ff.detail


def test_swapped_chunks_fail(victim: Path) -> None:
    """Swapping the contents of chunks 1 and 2 breaks the chain at chunk 1."""
    seg = segments(victim)[0]
    con = sqlite3.connect(seg)
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT idx, header, ciphertext, leaf, chain FROM chunks WHERE idx IN (1, 2)"
        )
    }
    con.close()
    tamper(seg, "DELETE FROM chunks WHERE idx IN (1, 2)")
    con = sqlite3.connect(seg)
    con.execute("INSERT INTO chunks VALUES (1, ?, ?, ?, ?)", rows[2])
    con.execute("INSERT INTO chunks VALUES (2, ?, ?, ?, ?)", rows[1])
    con.commit()
    con.close()
    ff = verify_home(victim).segments[0].first_failure
    assert ff is not None and ff.name == "chain" and "chunk 1" in ff.where


def test_tail_truncated_after_last_checkpoint_fails_against_the_seal(victim: Path) -> None:
    """Chunks after the last checkpoint removed: the seal's tree size no longer matches."""
    seg = segments(victim)[1]
    con = sqlite3.connect(seg)
    sizes = [
        loads(b)["tree_size"] for (b,) in con.execute("SELECT body FROM checkpoints ORDER BY n")
    ]
    total = con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    con.close()
    cut = max(s for s in sizes if s < total)
    assert cut < total
    tamper(seg, f"DELETE FROM chunks WHERE idx >= {cut}")
    ff = verify_home(victim).segments[1].first_failure
    assert ff is not None and ff.name in ("seal", "checkpoint")
    assert "verify" in ff.detail


def test_tail_and_seal_removed_from_a_middle_segment_fails_continuity(victim: Path) -> None:
    """Removing the seal too leaves an unsealed segment followed by another: both caught."""
    seg = segments(victim)[1]
    tamper(seg, "DELETE FROM chunks WHERE idx >= 4", "DELETE FROM seal")
    rep = verify_home(victim)
    assert not rep.ok
    assert rep.segments[1].status in ("unsealed", "failed")
    assert any(c.name == "continuity" and c.ok is False for c in rep.checks)


def test_dropped_middle_segment_fails_continuity_naming_the_index(victim: Path) -> None:
    """A whole missing segment is detected by index, seal link and agent counter."""
    segments(victim)[1].unlink()
    rep = verify_home(victim)
    assert not rep.ok
    msgs = [c.detail for c in rep.checks if c.ok is False]
    assert any("segment index 1 missing" in m for m in msgs)


def test_replaced_checkpoint_signature_fails_naming_the_checkpoint(victim: Path) -> None:
    """A checkpoint with a foreign signature fails at that checkpoint."""
    seg = segments(victim)[0]
    tamper(seg, "UPDATE checkpoints SET signature = ? WHERE n = 1", args=(b"\x07" * 64,))
    ff = verify_home(victim).segments[0].first_failure
    assert ff is not None and ff.name == "checkpoint" and "checkpoint 1" in ff.where


def test_seal_resigned_with_an_untrusted_key_fails_key_check(victim: Path) -> None:
    """A valid signature by a key not in the trust store is refused as untrusted."""
    seg = segments(victim)[2]
    con = sqlite3.connect(seg)
    (body_b,) = con.execute("SELECT body FROM seal").fetchone()
    con.close()
    rogue = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    raw = rogue.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    body = loads(body_b)
    body["key_id"] = signing_key_id(raw)
    nb = canonical_bytes(body)
    tamper(seg, "UPDATE seal SET body = ?, signature = ?", args=(nb, rogue.sign(nb)))
    ff = verify_home(victim).segments[2].first_failure
    assert ff is not None and ff.name == "key" and "untrusted" in ff.detail


def test_seal_body_edit_fails_signature(victim: Path) -> None:
    """Editing the seal (e.g. the event count) breaks its signature."""
    seg = segments(victim)[0]
    flip_byte(seg, "id = 1", table="seal", column="body", offset=40, mask=0x01)
    ff = verify_home(victim).segments[0].first_failure
    assert ff is not None and ff.name == "seal"


def test_genesis_edit_breaks_the_chain_from_the_first_chunk(victim: Path) -> None:
    """The chain starts at the genesis hash: editing genesis fails chunk 0."""
    seg = segments(victim)[0]
    flip_byte(seg, "id = 1", table="segment", column="genesis", offset=30, mask=0x01)
    ff = verify_home(victim).segments[0].first_failure
    assert ff is not None and ff.name in ("chain", "format")


Tamper = Callable[[Path], None]


def test_verify_works_without_the_decryption_key(victim: Path, tmp_path: Path) -> None:
    """Integrity checks need only public keys: a trust dir without KEKs verifies."""
    trust_only = tmp_path / "trust"
    shutil.copytree(victim / "keys" / "trusted", trust_only)
    from agent.keys import TrustStore

    rep = verify_paths([victim / "journals"], TrustStore.from_dir(trust_only))
    assert rep.ok, rep.first_failure


def test_key_rotation_keeps_old_segments_verifiable(victim: Path, cfg: Config) -> None:
    """After rotating signing key and KEK, old and new sessions verify and decrypt."""
    kr = Keyring.load(victim)
    old = kr.signer().key_id
    kr.rotate_signing()
    kr.rotate_kek()
    write_session(victim, cfg, FakeClock(), segments=1)
    rep = verify_home(victim, decrypt=True)
    assert rep.ok, rep.first_failure
    assert {s.key_id for s in rep.segments} == {old, kr.signer().key_id}
