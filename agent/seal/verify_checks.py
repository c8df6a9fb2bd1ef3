"""The named checks of one segment, one function each, in the order verification runs them.

``format`` (:func:`check_format`), then one walk over the stored chunks that runs ``chain``,
``headers`` and ``decrypt`` per chunk (:func:`check_chunks`), then ``checkpoint``
(:func:`check_checkpoints`), ``seal`` (:func:`check_seal`), ``rfc3161``
(:func:`check_rfc3161`) and ``key`` (:func:`check_keys`). Each appends its outcome to the
:class:`~agent.seal.report.SegmentReport`; a chunk-level failure stops the walk at that chunk,
and the later checks then judge the commitments against the chunks that did verify.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from agent.canonical import sha256, sha256_hex
from agent.errors import VerificationFailed
from agent.keys import TrustStore
from agent.seal import chain, merkle
from agent.seal import format as fmt
from agent.seal.checkpoint import checkpoint_link, checkpoint_problem, signature_status
from agent.seal.crypto import ChunkCipher
from agent.seal.report import Check, SegmentReport
from agent.seal.segment_file import (
    CheckpointRow,
    ChunkRow,
    SealRow,
    SegmentFile,
    decode_chunk_raw,
)

TimestampVerifier = Callable[[bytes, bytes], str]  # (token, digest) -> gen time text; raises


@dataclass
class StoredChunks:
    """What the chunks that verified commit to: their tree, chain head and the next seq."""

    genesis_hash: bytes
    head: bytes
    expect_seq: int
    tree: merkle.CompactTree = field(default_factory=merkle.CompactTree)
    roots_at: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)
    """(Merkle root, chain head) by tree size; the root only at sizes a checkpoint names."""

    def append(self, leaf: bytes, head: bytes, seq1: int, checkpoint_sizes: set[int]) -> None:
        """Take a verified chunk into the tree and chain."""
        self.head = head
        self.tree.append(leaf)
        size = self.tree.size
        self.roots_at[size] = (self.tree.root(), head) if size in checkpoint_sizes else (b"", head)
        self.expect_seq = seq1 + 1


def check_format(seg: SegmentFile, rep: SegmentReport) -> None:
    """``format``: the file opened as a segment; copy its identity from the genesis."""
    g = seg.genesis
    rep.segment_id, rep.session_id = seg.segment_id, seg.session_id
    rep.index = int(g.get("segment_index", -1))
    rep.prev_seal_hash = str(g.get("prev_seal_hash", ""))
    rep.seq_first_genesis = int(g.get("seq_first", 0))
    rep.agent_id, rep.agent_counter = str(g.get("agent_id", "")), int(g.get("agent_counter", -1))
    created = g.get("created_utc_ns")
    rep.created_utc_ns = created if type(created) is int else 0
    rep.previous_session = seg.previous_session
    rep.ok("format", f"segment format v{fmt.FORMAT_VERSION}")


def check_chunks(
    seg: SegmentFile,
    rep: SegmentReport,
    cipher: ChunkCipher | None,
    checkpoint_sizes: set[int],
    *,
    no_key: str = "",
) -> StoredChunks:
    """``chain``, ``headers`` and ``decrypt`` over every chunk, stopping at the first failure.

    ``no_key``: why decryption was asked for but no cipher could be had (the data key does not
    open here); ``decrypt`` then fails with it, after the integrity checks of the walk."""
    g_hash = chain.genesis_hash(seg.genesis_bytes)
    stored = StoredChunks(g_hash, g_hash, rep.seq_first_genesis)
    stored.roots_at[0] = (stored.tree.root(), stored.head)
    failed = ""
    for row in seg.iter_chunks():
        link = _check_link(row, stored, rep)
        if link is None:
            failed = "chain"
            break
        if not _check_header(row, seg, stored.expect_seq, rep):
            failed = "headers"
            break
        if cipher is not None and not _check_decrypt(row, seg, cipher, rep):
            failed = "decrypt"
            break
        h = row.header
        stored.append(*link, int(h["seq1"]), checkpoint_sizes)
        rep.chunks_verified += 1
        rep.events += int(h["n"])
        if rep.seq_first is None:
            rep.seq_first = int(h["seq0"])
        rep.seq_last_verified = int(h["seq1"])
    if failed != "chain":
        rep.ok("chain", f"{stored.tree.size} chunks")
    if failed != "headers":
        rep.ok("headers")
    if cipher is None and no_key:
        rep.fail("decrypt", no_key)
    elif cipher is None:
        rep.checks.append(Check("decrypt", None, "not requested"))
    elif failed != "decrypt":
        rep.ok("decrypt", f"{rep.events} events")
    return stored


def _check_link(
    row: ChunkRow, stored: StoredChunks, rep: SegmentReport
) -> tuple[bytes, bytes] | None:
    """``chain`` for one chunk: its index is next, its leaf recomputes, the chain links.

    Returns (leaf, next chain head), or None after recording the failure.
    """
    h = row.header
    if row.idx != stored.tree.size:
        rep.fail(
            "chain",
            f"chunk {stored.tree.size} is missing or out of order (next stored chunk is {row.idx})",
            f"chunk {stored.tree.size}, after seq {stored.expect_seq - 1}",
        )
        return None
    where = f"chunk {row.idx}, seq {h.get('seq0')}-{h.get('seq1')}"
    leaf = chain.chunk_leaf(row.header_bytes, row.ciphertext)
    if leaf != row.leaf:
        rep.fail("chain", "leaf hash does not match header/ciphertext", where)
        return None
    head = chain.next_head(stored.head, leaf)
    if head != row.chain:
        rep.fail("chain", "hash chain broken", where)
        return None
    return leaf, head


def _check_header(row: ChunkRow, seg: SegmentFile, expect_seq: int, rep: SegmentReport) -> bool:
    """``headers`` for one chunk: it names this segment, its index and the next dense seqs.

    The numbers must be JSON integers (``1.0`` equals ``1`` in Python but is not canonical).
    """
    h = row.header
    if (
        h.get("v") not in fmt.CHUNK_HEADER_VERSIONS
        or h.get("seg") != seg.segment_id
        or not all(type(h.get(k)) is int for k in ("v", "i", "seq0", "seq1", "n"))
        or h["i"] != row.idx
        or h["seq0"] != expect_seq
        or h["seq1"] != expect_seq + h["n"] - 1
    ):
        rep.fail(
            "headers",
            f"chunk header does not fit (expected seq {expect_seq}, "
            f"segment {seg.segment_id}, index {row.idx})",
            f"chunk {row.idx}",
        )
        return False
    return True


def _check_decrypt(
    row: ChunkRow, seg: SegmentFile, cipher: ChunkCipher, rep: SegmentReport
) -> bool:
    """``decrypt`` for one chunk: it authenticates and decodes to exactly its header's seqs."""
    where = f"chunk {row.idx}"
    h = row.header
    try:
        recs = decode_chunk_raw(seg, row, cipher)
        seqs = [r.get("seq") for r in recs]
        if seqs != list(range(h["seq0"], h["seq1"] + 1)):
            raise VerificationFailed("decrypt", "events do not match the header seqs", where=where)
    except VerificationFailed as exc:
        rep.fail("decrypt", exc.message.split(": ", 1)[-1], where)
        return False
    except Exception as exc:  # decompress/parse errors of authenticated data
        rep.fail("decrypt", f"chunk does not decode: {type(exc).__name__}", where)
        return False
    return True


def check_checkpoints(
    cps: list[CheckpointRow],
    seg: SegmentFile,
    rep: SegmentReport,
    trust: TrustStore,
    stored: StoredChunks,
) -> set[str]:
    """``checkpoint``: each is signed by a trusted key, is the next link of the checkpoint
    chain (numbered densely from 0, ``prev`` naming the previous one's body hash, the first
    the genesis hash) and matches the tree at its size.

    Returns the signing key ids seen (up to the first failure), for :func:`check_keys`.
    """
    keys_seen: set[str] = set()
    prev_size = -1
    prev_link = stored.genesis_hash
    for expect_n, cp in enumerate(cps):
        keys_seen.add(str(cp.body.get("key_id", "")))
        problem = checkpoint_problem(
            cp,
            trust,
            segment_id=seg.segment_id,
            genesis_hash=stored.genesis_hash,
            prev_size=prev_size,
            stored_size=stored.tree.size,
            stored=stored.roots_at,
            expect_n=expect_n,
            prev_link=prev_link,
        )
        if problem is not None:
            where = f"checkpoint {cp.n} (tree size {cp.body.get('tree_size')})"
            rep.fail(*problem, where)
            return keys_seen
        prev_size = int(cp.body.get("tree_size", -1))
        prev_link = checkpoint_link(cp.body_bytes)
    rep.ok("checkpoint", f"{len(cps)} checkpoints")
    return keys_seen


def check_seal(
    seg: SegmentFile, rep: SegmentReport, trust: TrustStore, stored: StoredChunks
) -> SealRow | None:
    """``seal``: signed by a trusted key and matching root, chain, counts and seqs.

    Sets the report's status (``unsealed`` when there is no seal, ``verified`` or
    ``recovered`` when it checks). Returns the seal row, or None when there is none.
    """
    seal = seg.seal()
    if seal is None:
        rep.status = "unsealed"
        rep.checks.append(
            Check(
                "seal",
                None,
                f"unsealed: {rep.chunks_verified} chunks verify, up to seq {rep.seq_last_verified}",
            )
        )
        return None
    b = seal.body
    rep.key_id = str(b.get("key_id", ""))
    rep.seal_hash = sha256_hex(seal.body_bytes)
    rep.seal_reason = str(b.get("reason", ""))
    # Read back by the continuity check before the signature is known to verify.
    rep.seal_seq_last = b["seq_last"] if type(b.get("seq_last")) is int else None
    res = signature_status(trust, b, seal.body_bytes, seal.signature)
    if res is None:
        rep.fail("key", f"seal signed by untrusted key {rep.key_id}", "seal")
    elif res is False:
        rep.fail("seal", "seal signature does not verify", "seal")
    else:
        detail = _seal_mismatch(seal, seg, rep, stored)
        if detail:
            rep.fail("seal", detail, "seal")
        else:
            rep.ok("seal", f"{rep.seal_reason}, {stored.tree.size} chunks, {rep.events} events")
            rep.status = "recovered" if rep.seal_reason == "recovered" else "verified"
    return seal


def _seal_mismatch(
    seal: SealRow, seg: SegmentFile, rep: SegmentReport, stored: StoredChunks
) -> str:
    """How the seal body differs from the stored chunks ("" when it does not)."""
    b, g, tree = seal.body, seg.genesis, stored.tree
    if b.get("v") not in fmt.SEAL_VERSIONS:
        return f"unknown seal version {b.get('v')!r} (this reader knows {fmt.SEAL_VERSIONS})"
    if b["v"] >= 2 and not _retention_ok(b.get("retention")):
        return f"seal version 2 without a valid retention decision: {b.get('retention')!r}"
    expected = {
        "seg": seg.segment_id,
        "session": seg.session_id,
        "genesis_hash": stored.genesis_hash.hex(),
        "prev_seal_hash": g.get("prev_seal_hash"),
        "segment_index": g.get("segment_index"),
        "tree_size": tree.size,
        "root": tree.root().hex(),
        "chain_head": stored.head.hex(),
        "event_count": rep.events,
        # The seal counts the checkpoints, so removing one (the last, say) is detected.
        "checkpoints": len(seg.checkpoints()),
    }
    bad = [k for k, v in expected.items() if b.get(k) != v]
    if not bad:
        return ""
    if "tree_size" in bad and isinstance(b.get("tree_size"), int) and b["tree_size"] > tree.size:
        return (
            f"seal commits to {b['tree_size']} chunks but {tree.size} verify "
            f"(chunks missing after seq {rep.seq_last_verified})"
        )
    return ", ".join(f"{k}: sealed {b.get(k)!r} vs stored {expected[k]!r}" for k in bad[:2])


def _retention_ok(value: object) -> bool:
    """A version-2 seal's ``retention``: ``{"class": str, "rule": str}``, both non-empty."""
    return (
        isinstance(value, dict)
        and set(value) == {"class", "rule"}
        and all(isinstance(v, str) and v for v in value.values())
    )


NO_ROOTS = "no trusted TSA roots given (--tsa-root or seal.tsa_roots)"


def check_rfc3161(
    seal: SealRow,
    rep: SegmentReport,
    tst_verifier: TimestampVerifier | None,
    require: bool = False,
    token_required: bool = False,
) -> None:
    """``rfc3161``: the seal's timestamp token is a valid timestamp of the seal.

    Always checked when there is a token: it parses, is granted, its CMS signature verifies
    with the TSA certificate it embeds and its imprint is the seal's digest. With roots
    (``tst_verifier``) that certificate must also chain to one of them. Sets
    ``rep.tst_state``: ``chain``, ``signature`` (chain not checked: no roots), ``failed`` or
    ``none``. With ``token_required`` (verify's default: when roots are given) a sealed segment
    without a token fails (a removed token must not pass); with ``require`` (``--strict``,
    ``seal.require_timestamp``) a missing token or an unchained one fails too.
    """
    if seal.tst is None:
        rep.tst_state = "none"
        if token_required or require:
            rep.fail("rfc3161", "sealed segment has no timestamp token", "seal")
        else:
            rep.checks.append(Check("rfc3161", None, "no timestamp token"))
        return
    digest = sha256(seal.body_bytes)
    try:
        if tst_verifier is None:
            from agent.seal.timestamp import verify_timestamp_signature

            rep.tst_time = verify_timestamp_signature(seal.tst, digest).gen_time.isoformat()
            rep.tst_state = "signature"
        else:
            rep.tst_time = tst_verifier(seal.tst, digest)
            rep.tst_state = "chain"
    except VerificationFailed as exc:
        rep.tst_state = "failed"
        rep.fail("rfc3161", exc.message.split(": ", 1)[-1], "seal")
        return
    if rep.tst_state == "chain":
        rep.ok("rfc3161", f"genTime {rep.tst_time}")
    elif require:
        rep.fail("rfc3161", f"timestamp token not chain-checked: {NO_ROOTS}", "seal")
    else:
        rep.ok(
            "rfc3161",
            f"genTime {rep.tst_time}; signature verified with the embedded TSA certificate; "
            f"chain NOT checked: {NO_ROOTS}",
        )


def check_keys(rep: SegmentReport, trust: TrustStore, keys_seen: set[str]) -> None:
    """``key``: every signing key seen is in the trust store (unless already failed)."""
    if all(k in trust.keys for k in keys_seen) and not any(
        c.name == "key" and c.ok is False for c in rep.checks
    ):
        rep.ok("key", ", ".join(sorted(keys_seen)) or "no signatures")
