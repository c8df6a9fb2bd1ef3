"""Tamper tests that pin each verifier check's exact outcome: which checks pass, which fails
first, with what message and where, and how far verification got.

Each test alters a real sealed session the way an attacker with file access would (dropping
the append-only triggers, editing rows, recomputing the plain SHA-256 chain), or, where a
check guards against a faulty writer or a key holder, re-signs with the agent's own key. The
mutation check (``python -m tests.mutation.mutate``) relies on these to kill every mutant of
the verifier.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from agent.canonical import canonical_bytes, loads
from agent.keys import Keyring
from agent.seal import chunk_header
from agent.seal.checkpoint import checkpoint_body, sign_body
from agent.seal.report import SegmentReport
from agent.seal.segment_file import SegmentFile
from tests.journals import flip_byte, tamper
from tests.seal.conftest import segments, verify_home

PASSING_SEGMENT = [
    ("format", True),
    ("chain", True),
    ("headers", True),
    ("decrypt", None),
    ("checkpoint", True),
    ("seal", True),
    ("rfc3161", None),
    ("key", True),
]
"""The outcomes of an untouched sealed segment without a TSA token, verified without --decrypt."""


def _outcomes(rep: SegmentReport) -> list[tuple[str, bool | None]]:
    return [(c.name, c.ok) for c in rep.checks]


def _detail(rep: SegmentReport, name: str) -> str:
    return next(c.detail for c in rep.checks if c.name == name)


def _rows(seg: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(seg)
    try:
        return list(con.execute(sql))
    finally:
        con.close()


def _rechain(seg: Path) -> None:
    """Recompute every chunk's leaf and chain hash from the stored bytes (plain SHA-256, no key
    needed), as an attacker who edited a chunk would."""
    (genesis,) = _rows(seg, "SELECT genesis FROM segment WHERE id = 1")[0]
    head = hashlib.sha256(bytes(genesis)).digest()
    fixed = []
    for idx, header, ciphertext in _rows(seg, "SELECT idx, header, ciphertext FROM chunks"):
        leaf = hashlib.sha256(b"\x00" + bytes(header) + bytes(ciphertext)).digest()
        head = hashlib.sha256(head + leaf).digest()
        fixed.append((idx, leaf, head))
    for idx, leaf, head in fixed:
        tamper(seg, f"UPDATE chunks SET leaf = ?, chain = ? WHERE idx = {idx}", args=(leaf, head))


def _drop_final_checkpoint(seg: Path) -> None:
    tamper(seg, "DELETE FROM checkpoints WHERE n = (SELECT max(n) FROM checkpoints)")


def _header(seg: Path, idx: int) -> dict[str, Any]:
    (raw,) = _rows(seg, f"SELECT header FROM chunks WHERE idx = {idx}")[0]
    header: dict[str, Any] = chunk_header.parse(bytes(raw))
    return header


def test_an_untouched_segment_passes_each_named_check_once(victim: Path) -> None:
    """Every check of every segment runs once and passes; the key check names the key; the
    session-level checks are continuity and the session's end (one session directory: no
    counter check)."""
    rep = verify_home(victim)
    key_id = Keyring.load(victim).signer().key_id
    for seg in rep.segments:
        assert _outcomes(seg) == PASSING_SEGMENT
        assert _detail(seg, "key") == key_id
    assert [(c.name, c.ok) for c in rep.checks] == [("continuity", True), ("session-end", True)]
    first, second = rep.segments[0], rep.segments[1]
    assert first.seq_first == 0 and first.seal_seq_last is not None
    assert second.seq_first == second.seq_first_genesis == first.seal_seq_last + 1
    decrypted = verify_home(victim, decrypt=True).segments[1]
    assert ("decrypt", True) in _outcomes(decrypted)
    assert _detail(decrypted, "decrypt") == f"{decrypted.events} events"


def test_renumbered_chunk_is_reported_after_the_last_verified_seq(victim: Path) -> None:
    """A chunk moved away is reported at the first missing index, after the seq that verified."""
    seg = segments(victim)[0]
    last_good = _header(seg, 2)["seq1"]
    tamper(seg, "UPDATE chunks SET idx = 100 WHERE idx = 3")
    ff = verify_home(victim).segments[0].first_failure
    assert ff is not None and ff.name == "chain"
    assert ff.where == f"chunk 3, after seq {last_good}"


def test_rewritten_header_with_a_recomputed_chain_fails_the_header_check(victim: Path) -> None:
    """A chunk header claiming another index, with leaf and chain recomputed, passes the chain
    but fails ``headers`` at that chunk; verification stops there and the key still passes."""
    seg = segments(victim)[1]
    header = _header(seg, 2)
    expect_seq = header["seq0"]
    header["i"] = 5
    tamper(seg, "UPDATE chunks SET header = ? WHERE idx = 2", args=(chunk_header.encode(header),))
    _rechain(seg)
    rep = verify_home(victim).segments[1]
    ff = rep.first_failure
    assert ff is not None and (ff.name, ff.where) == ("headers", "chunk 2")
    expected = f"expected seq {expect_seq}, segment {rep.segment_id}, index 2"
    assert ff.detail == f"chunk header does not fit ({expected})"
    assert rep.chunks_verified == 2
    outcomes = _outcomes(rep)
    assert ("chain", True) in outcomes and ("headers", True) not in outcomes
    assert ("key", True) in outcomes


def test_undecryptable_chunk_stops_verification_at_that_chunk(victim: Path) -> None:
    """With --decrypt, a ciphertext edit (chain recomputed) fails AEAD at the edited chunk and
    the chunks after it are not counted as verified."""
    seg = segments(victim)[2]
    flip_byte(seg, "idx = 1", offset=5, mask=0x01)
    _rechain(seg)
    rep = verify_home(victim, decrypt=True).segments[2]
    ff = rep.first_failure
    assert ff is not None and (ff.name, ff.where) == ("decrypt", "chunk 1")
    assert ff.detail.startswith("AEAD authentication failed")
    assert rep.chunks_verified == 1
    assert ("decrypt", True) not in _outcomes(rep)


def test_authenticated_chunk_that_does_not_decode_is_named(victim: Path) -> None:
    """A chunk encrypted with the segment's own key but holding no compressed records (a
    faulty writer) fails ``decrypt`` naming the chunk and the decoder's error type."""
    seg = segments(victim)[0]
    header = _header(seg, 2)
    sf = SegmentFile(seg)
    try:
        cipher = sf.cipher(Keyring.load(victim))
        row = sf.chunk(2)
    finally:
        sf.close()
    assert row is not None
    garbage = cipher.seal(bytes.fromhex(str(header["nonce"])), b"not zstd", row.header_bytes)
    tamper(seg, "UPDATE chunks SET ciphertext = ? WHERE idx = 2", args=(garbage,))
    _rechain(seg)
    rep = verify_home(victim, decrypt=True).segments[0]
    ff = rep.first_failure
    assert ff is not None and (ff.name, ff.where) == ("decrypt", "chunk 2")
    assert ff.detail == "chunk does not decode: ZstdError"
    assert rep.chunks_verified == 2


def test_chunk_changed_after_the_last_checkpoint_fails_the_seal_root(victim: Path) -> None:
    """With the final checkpoint deleted and the chain recomputed, an edited last chunk is
    caught by the seal alone, naming the first two commitments that differ."""
    seg = segments(victim)[0]
    _drop_final_checkpoint(seg)
    flip_byte(seg, "idx = 6", offset=3, mask=0x01)
    _rechain(seg)
    rep = verify_home(victim).segments[0]
    ff = rep.first_failure
    assert ff is not None and (ff.name, ff.where) == ("seal", "seal")
    assert ff.detail.startswith("root: sealed '")
    assert ", chain_head: sealed '" in ff.detail
    assert ("checkpoint", True) in _outcomes(rep)


def test_tail_truncated_with_its_checkpoint_fails_the_seal_naming_the_count(victim: Path) -> None:
    """Last chunk and final checkpoint removed: the seal names how many chunks it commits to,
    how many verify and the last seq that did."""
    seg = segments(victim)[1]
    _drop_final_checkpoint(seg)
    tamper(seg, "DELETE FROM chunks WHERE idx = 5")
    rep = verify_home(victim).segments[1]
    ff = rep.first_failure
    assert ff is not None and ff.name == "seal"
    missing = f"chunks missing after seq {rep.seq_last_verified}"
    assert ff.detail == f"seal commits to 6 chunks but 5 verify ({missing})"
    assert rep.seq_last_verified == _header(seg, 4)["seq1"]


def test_chunk_appended_after_the_seal_fails_naming_two_differences(victim: Path) -> None:
    """A fitting chunk appended to a sealed segment (chain recomputed) passes chain, headers
    and checkpoints; the seal fails naming tree size and root, and only those two."""
    seg = segments(victim)[0]
    header = _header(seg, 6)
    n = int(header["n"])
    seq0 = int(header["seq1"]) + 1
    header.update(i=7, seq0=seq0, seq1=seq0 + n - 1)
    (ciphertext,) = _rows(seg, "SELECT ciphertext FROM chunks WHERE idx = 6")[0]
    tamper(
        seg,
        "INSERT INTO chunks VALUES (7, ?, ?, x'00', x'00')",
        args=(chunk_header.encode(header), ciphertext),
    )
    _rechain(seg)
    rep = verify_home(victim).segments[0]
    ff = rep.first_failure
    assert ff is not None and ff.name == "seal"
    assert ff.detail.startswith("tree_size: sealed 7 vs stored 8, root: sealed '")
    assert "chain_head" not in ff.detail and "event_count" not in ff.detail
    assert _outcomes(rep)[:5] == PASSING_SEGMENT[:5]


def test_checkpoint_spliced_from_another_segment_does_not_belong(victim: Path) -> None:
    """A checkpoint validly signed by the agent, but for segment 0, fails in segment 1."""
    first, second = segments(victim)[:2]
    body, sig = _rows(first, "SELECT body, signature FROM checkpoints WHERE n = 0")[0]
    tamper(second, "UPDATE checkpoints SET body = ?, signature = ? WHERE n = 0", args=(body, sig))
    ff = verify_home(victim).segments[1].first_failure
    assert ff is not None and ff.name == "checkpoint"
    assert ff.detail == "checkpoint does not belong to this segment/order"
    assert ff.where == f"checkpoint 0 (tree size {loads(bytes(body))['tree_size']})"


def test_checkpoints_in_shrinking_order_fail(victim: Path) -> None:
    """Swapping a segment's two checkpoints makes the tree size shrink: refused."""
    seg = segments(victim)[0]
    rows = _rows(seg, "SELECT n, body, signature FROM checkpoints ORDER BY n")
    tamper(seg, "DELETE FROM checkpoints")
    for (n, _, _), (_, body, sig) in zip(rows, reversed(rows), strict=True):
        tamper(seg, f"INSERT INTO checkpoints VALUES ({n}, ?, ?)", args=(body, sig))
    ff = verify_home(victim).segments[0].first_failure
    assert ff is not None and ff.detail == "checkpoint does not belong to this segment/order"
    assert ff.where.startswith("checkpoint 0 ")


def test_checkpoint_signed_by_the_agent_with_another_chain_head_fails(victim: Path) -> None:
    """A checkpoint whose root is right but whose chain head is not (a faulty writer, or a
    holder of the signing key) fails even though its signature verifies."""
    seg = segments(victim)[1]
    (raw,) = _rows(seg, "SELECT body FROM checkpoints WHERE n = 0")[0]
    body = loads(bytes(raw))
    body["chain_head"] = "00" * 32
    signed = canonical_bytes(body)
    sig = Keyring.load(victim).signer().sign(signed)
    tamper(seg, "UPDATE checkpoints SET body = ?, signature = ? WHERE n = 0", args=(signed, sig))
    ff = verify_home(victim).segments[1].first_failure
    assert ff is not None and ff.name == "checkpoint"
    assert ff.detail == "Merkle root or chain head differs from the stored chunks"


def _empty_tree_checkpoint(victim: Path, seg: Path, n: int) -> tuple[bytes, bytes]:
    """A validly signed checkpoint ``n`` of the empty tree (what a writer checkpointing a
    segment before its first chunk signs): the empty root, the genesis as head and prev."""
    sf = SegmentFile(seg)
    try:
        genesis = hashlib.sha256(sf.genesis_bytes).digest()
        key = Keyring.load(victim).signer()
        body = checkpoint_body(
            segment_id=sf.segment_id,
            session_id=sf.session_id,
            genesis_hash=genesis,
            n=n,
            tree_size=0,
            root=hashlib.sha256(b"").digest(),
            chain_head=genesis,
            seq_last=-1,
            t_utc_ns=0,
            t_mono_ns=0,
            key_id=key.key_id,
            prev=genesis,
        )
    finally:
        sf.close()
    return sign_body(key, body)


def test_checkpoint_of_the_empty_tree_verifies(victim: Path) -> None:
    """An empty-tree checkpoint 0 commits to the empty root and the genesis hash, and
    verifies; replacing a sealed segment's checkpoints with it is caught by the seal's
    checkpoint count instead."""
    seg = segments(victim)[1]
    signed = _empty_tree_checkpoint(victim, seg, 0)
    tamper(seg, "DELETE FROM checkpoints", "INSERT INTO checkpoints VALUES (0, ?, ?)", args=signed)
    rep = verify_home(victim)
    checks = {c.name: c for c in rep.segments[1].checks}
    assert checks["checkpoint"].ok is True
    assert _detail(rep.segments[1], "checkpoint") == "1 checkpoints"
    assert checks["seal"].ok is False
    assert "checkpoints: sealed 2 vs stored 1" in checks["seal"].detail


def test_checkpoint_inserted_before_the_chain_fails(victim: Path) -> None:
    """A validly signed checkpoint inserted before checkpoint 0 is out of the checkpoint
    chain: the checkpoint check names it (the seal's count disagrees too)."""
    seg = segments(victim)[1]
    signed = _empty_tree_checkpoint(victim, seg, -1)
    tamper(seg, "INSERT INTO checkpoints VALUES (-1, ?, ?)", args=signed)
    rep = verify_home(victim)
    checks = {c.name: c for c in rep.segments[1].checks}
    assert checks["checkpoint"].ok is False
    assert checks["checkpoint"].detail == "checkpoint -1 is out of order (expected checkpoint 0)"
    assert checks["checkpoint"].where == "checkpoint -1 (tree size 0)"
    assert checks["seal"].ok is False
    assert "checkpoints: sealed 2 vs stored 3" in checks["seal"].detail
