"""Verification of segments and sessions, without the decryption key unless asked.

Checks, by name (a report names the first failing check and the exact chunk/seq):

``format``      the file is a readable sessiontape segment of a known version
``chain``       every leaf recomputes from header‖ciphertext; the hash chain links; idx dense
``headers``     chunk headers name this segment, their index, and dense seq ranges
``checkpoint``  every checkpoint is signed by a trusted key and matches the tree at its size
``seal``        the seal is signed by a trusted key and matches root, chain, counts, seqs
``key``         every signing key is in the trust store
``continuity``  a session's segments are all there: indices dense, each genesis names the
                previous seal, seqs continue across segments
``counter``     (whole state dir) per-agent segment counters have no holes
``rfc3161``     the seal's timestamp token verifies against trusted TSA roots
``decrypt``     (``--decrypt``) every chunk authenticates and decodes to its header's events
``vault``       (``--vault``) checkpoints shipped to WORM are consistent with the local file

Statuses: ``verified`` (sealed on close/rotation), ``recovered`` (sealed by recovery after a
crash - the "unsealed-recovered" state), ``unsealed`` (no seal: reported with how far it
verifies; not a pass), ``failed``.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.canonical import sha256
from agent.errors import InputError, KeyMaterialError, SessiontapeError, VerificationFailed
from agent.journal import format as fmt
from agent.journal.reader import SegmentFile, decode_chunk_raw
from agent.keys import Keyring, TrustStore
from agent.seal import merkle


@dataclass
class Check:
    """One named check's outcome (``ok`` None = not applicable / not checked)."""

    name: str
    ok: bool | None
    detail: str = ""
    where: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "where": self.where}


@dataclass
class SegmentReport:
    """Verification of one segment."""

    path: str
    segment_id: str = ""
    session_id: str = ""
    index: int = -1
    status: str = "failed"
    checks: list[Check] = field(default_factory=list)
    chunks_verified: int = 0
    seq_first: int | None = None
    seq_last_verified: int | None = None
    events: int = 0
    key_id: str = ""
    seal_hash: str = ""
    prev_seal_hash: str = ""
    seq_first_genesis: int = 0
    seal_seq_last: int | None = None
    seal_reason: str = ""
    tst_time: str = ""
    agent_id: str = ""
    agent_counter: int = -1
    bytes: int = 0

    def fail(self, name: str, detail: str, where: str = "") -> None:
        self.checks.append(Check(name, False, detail, where))

    def ok(self, name: str, detail: str = "") -> None:
        self.checks.append(Check(name, True, detail))

    @property
    def first_failure(self) -> Check | None:
        return next((c for c in self.checks if c.ok is False), None)

    @property
    def passed(self) -> bool:
        return self.first_failure is None and self.status in ("verified", "recovered")

    def as_dict(self) -> dict[str, Any]:
        ff = self.first_failure
        return {
            "path": self.path,
            "segment_id": self.segment_id,
            "session_id": self.session_id,
            "index": self.index,
            "status": self.status,
            "passed": self.passed,
            "chunks_verified": self.chunks_verified,
            "events": self.events,
            "seq_first": self.seq_first,
            "seq_last_verified": self.seq_last_verified,
            "key_id": self.key_id,
            "seal_hash": self.seal_hash,
            "seal_reason": self.seal_reason,
            "tst_time": self.tst_time,
            "bytes": self.bytes,
            "first_failure": ff.as_dict() if ff else None,
            "checks": [c.as_dict() for c in self.checks],
        }


@dataclass
class VerifyReport:
    """Verification of everything asked for."""

    segments: list[SegmentReport] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)  # cross-segment checks
    errors: list[str] = field(default_factory=list)  # inputs that could not be read at all

    @property
    def ok(self) -> bool:
        return (
            not self.errors
            and bool(self.segments)
            and all(s.passed for s in self.segments)
            and all(c.ok is not False for c in self.checks)
        )

    @property
    def first_failure(self) -> str | None:
        if self.errors:
            return self.errors[0]
        for s in self.segments:
            ff = s.first_failure
            if ff:
                return f"{s.path}: {ff.name}: {ff.detail}" + (f" ({ff.where})" if ff.where else "")
            if s.status == "unsealed":
                return (
                    f"{s.path}: seal: segment is unsealed; verified {s.chunks_verified} "
                    f"chunks up to seq {s.seq_last_verified}"
                )
        for c in self.checks:
            if c.ok is False:
                return f"{c.name}: {c.detail}" + (f" ({c.where})" if c.where else "")
        if not self.segments:
            return "no segments found"
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "first_failure": self.first_failure,
            "errors": self.errors,
            "checks": [c.as_dict() for c in self.checks],
            "segments": [s.as_dict() for s in self.segments],
        }


TimestampVerifier = Callable[[bytes, bytes], str]  # (token, digest) -> gen time text; raises


def verify_segment(
    path: Path,
    trust: TrustStore,
    *,
    keyring: Keyring | None = None,
    decrypt: bool = False,
    tst_verifier: TimestampVerifier | None = None,
) -> SegmentReport:
    """Verify one segment file; never raises for content problems (they go in the report)."""
    rep = SegmentReport(path=str(path))
    with contextlib.suppress(OSError):
        rep.bytes = path.stat().st_size
    try:
        seg = SegmentFile(path)
    except InputError as exc:
        rep.fail("format", exc.message)
        return rep
    try:
        _verify_open(seg, rep, trust, keyring, decrypt, tst_verifier)
    except SessiontapeError as exc:
        rep.fail("format", exc.message)
    finally:
        seg.close()
    if rep.first_failure is not None:
        rep.status = "failed"
    return rep


def _verify_open(
    seg: SegmentFile,
    rep: SegmentReport,
    trust: TrustStore,
    keyring: Keyring | None,
    decrypt: bool,
    tst_verifier: TimestampVerifier | None,
) -> None:
    g = seg.genesis
    rep.segment_id, rep.session_id = seg.segment_id, seg.session_id
    rep.index = int(g.get("segment_index", -1))
    rep.prev_seal_hash = str(g.get("prev_seal_hash", ""))
    rep.seq_first_genesis = int(g.get("seq_first", 0))
    rep.agent_id, rep.agent_counter = str(g.get("agent_id", "")), int(g.get("agent_counter", -1))
    rep.ok("format", f"segment format v{fmt.FORMAT_VERSION}")
    genesis_hash = sha256(seg.genesis_bytes)
    cps = seg.checkpoints()
    cp_by_size: dict[int, list[Any]] = defaultdict(list)
    for cp in cps:
        cp_by_size[int(cp.body.get("tree_size", -1))].append(cp)
    tree = merkle.CompactTree()
    chain = genesis_hash
    roots_at: dict[int, tuple[bytes, bytes]] = {0: (tree.root(), chain)}
    cipher = None
    if decrypt:
        if keyring is None:
            raise KeyMaterialError("--decrypt needs a keyring")
        cipher = seg.cipher(keyring)
    expect_seq = rep.seq_first_genesis
    chain_ok = headers_ok = True
    decrypt_ok: bool | None = True if decrypt else None
    for row in seg.iter_chunks():
        where = f"chunk {row.idx}"
        h = row.header
        if row.idx != tree.size:
            rep.fail(
                "chain",
                f"chunk {tree.size} is missing or out of order (next stored chunk is {row.idx})",
                f"chunk {tree.size}, after seq {expect_seq - 1}",
            )
            chain_ok = False
            break
        leaf = hashlib.sha256(b"\x00" + row.header_bytes + row.ciphertext).digest()
        if leaf != row.leaf:
            rep.fail(
                "chain",
                "leaf hash does not match header/ciphertext",
                f"{where}, seq {h.get('seq0')}-{h.get('seq1')}",
            )
            chain_ok = False
            break
        nxt = sha256(chain + leaf)
        if nxt != row.chain:
            rep.fail("chain", "hash chain broken", f"{where}, seq {h.get('seq0')}-{h.get('seq1')}")
            chain_ok = False
            break
        if (
            h.get("v") != fmt.CHUNK_HEADER_VERSION
            or h.get("seg") != seg.segment_id
            or h.get("i") != row.idx
            or h.get("seq0") != expect_seq
            or h.get("seq1") != expect_seq + int(h.get("n", 0)) - 1
        ):
            rep.fail(
                "headers",
                f"chunk header does not fit (expected seq {expect_seq}, "
                f"segment {seg.segment_id}, index {row.idx})",
                where,
            )
            headers_ok = False
            break
        if cipher is not None:
            try:
                recs = decode_chunk_raw(seg, row, cipher)
                seqs = [r.get("seq") for r in recs]
                if seqs != list(range(h["seq0"], h["seq1"] + 1)):
                    raise VerificationFailed(
                        "decrypt", "events do not match the header seqs", where=where
                    )
            except VerificationFailed as exc:
                rep.fail("decrypt", exc.message.split(": ", 1)[-1], where)
                decrypt_ok = False
                break
            except Exception as exc:  # decompress/parse errors of authenticated data
                rep.fail("decrypt", f"chunk does not decode: {type(exc).__name__}", where)
                decrypt_ok = False
                break
        chain = nxt
        tree.append(leaf)
        roots_at[tree.size] = (tree.root(), chain) if tree.size in cp_by_size else (b"", chain)
        expect_seq = int(h["seq1"]) + 1
        rep.chunks_verified += 1
        rep.events += int(h.get("n", 0))
        if rep.seq_first is None:
            rep.seq_first = int(h["seq0"])
        rep.seq_last_verified = int(h["seq1"])
    if chain_ok:
        rep.ok("chain", f"{tree.size} chunks")
    if headers_ok:
        rep.ok("headers")
    if decrypt_ok:
        rep.ok("decrypt", f"{rep.events} events")
    elif decrypt_ok is None:
        rep.checks.append(Check("decrypt", None, "not requested"))
    # --- checkpoints ----------------------------------------------------------------------
    keys_seen: set[str] = set()
    cp_ok = True
    prev_size = -1
    for cp in cps:
        b = cp.body
        kid = str(b.get("key_id", ""))
        keys_seen.add(kid)
        where = f"checkpoint {cp.n} (tree size {b.get('tree_size')})"
        res = trust.verify(kid, cp.signature, cp.body_bytes)
        if res is None:
            rep.fail("key", f"checkpoint signed by untrusted key {kid}", where)
            cp_ok = False
            break
        if res is False:
            rep.fail("checkpoint", "signature does not verify", where)
            cp_ok = False
            break
        size = int(b.get("tree_size", -1))
        if (
            b.get("v") != fmt.CHECKPOINT_VERSION
            or b.get("seg") != seg.segment_id
            or b.get("genesis_hash") != genesis_hash.hex()
            or size < prev_size
        ):
            rep.fail("checkpoint", "checkpoint does not belong to this segment/order", where)
            cp_ok = False
            break
        prev_size = size
        if size > tree.size:
            rep.fail(
                "checkpoint",
                f"checkpoint commits to {size} chunks but only {tree.size} "
                "verify (tail truncated or damaged)",
                where,
            )
            cp_ok = False
            break
        root, ch = roots_at.get(size, (b"", b""))
        if root.hex() != b.get("root") or ch.hex() != b.get("chain_head"):
            rep.fail(
                "checkpoint", "Merkle root or chain head differs from the stored chunks", where
            )
            cp_ok = False
            break
    if cp_ok:
        rep.ok("checkpoint", f"{len(cps)} checkpoints")
    # --- seal -----------------------------------------------------------------------------
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
    else:
        b = seal.body
        kid = str(b.get("key_id", ""))
        keys_seen.add(kid)
        rep.key_id = kid
        rep.seal_hash = sha256(seal.body_bytes).hex()
        rep.seal_reason = str(b.get("reason", ""))
        rep.seal_seq_last = b.get("seq_last")
        res = trust.verify(kid, seal.signature, seal.body_bytes)
        expected = {
            "v": fmt.SEAL_VERSION,
            "seg": seg.segment_id,
            "session": seg.session_id,
            "genesis_hash": genesis_hash.hex(),
            "prev_seal_hash": g.get("prev_seal_hash"),
            "segment_index": g.get("segment_index"),
            "tree_size": tree.size,
            "root": tree.root().hex(),
            "chain_head": chain.hex(),
            "event_count": rep.events,
        }
        if res is None:
            rep.fail("key", f"seal signed by untrusted key {kid}", "seal")
        elif res is False:
            rep.fail("seal", "seal signature does not verify", "seal")
        else:
            bad = [k for k, v in expected.items() if b.get(k) != v]
            if bad:
                detail = ", ".join(
                    f"{k}: sealed {b.get(k)!r} vs stored {expected[k]!r}" for k in bad[:2]
                )
                if (
                    "tree_size" in bad
                    and isinstance(b.get("tree_size"), int)
                    and b["tree_size"] > tree.size
                ):
                    detail = (
                        f"seal commits to {b['tree_size']} chunks but {tree.size} verify "
                        f"(chunks missing after seq {rep.seq_last_verified})"
                    )
                rep.fail("seal", detail, "seal")
            else:
                rep.ok("seal", f"{rep.seal_reason}, {tree.size} chunks, {rep.events} events")
                rep.status = "recovered" if rep.seal_reason == "recovered" else "verified"
        # --- rfc3161 ----------------------------------------------------------------------
        if seal.tst is None:
            rep.checks.append(Check("rfc3161", None, "no timestamp token"))
        elif tst_verifier is None:
            rep.checks.append(Check("rfc3161", None, "token present; no trusted TSA roots given"))
        else:
            try:
                rep.tst_time = tst_verifier(seal.tst, sha256(seal.body_bytes))
                rep.ok("rfc3161", f"genTime {rep.tst_time}")
            except VerificationFailed as exc:
                rep.fail("rfc3161", exc.message.split(": ", 1)[-1], "seal")
    if all(k in trust.keys for k in keys_seen) and not any(
        c.name == "key" and c.ok is False for c in rep.checks
    ):
        rep.ok("key", ", ".join(sorted(keys_seen)) or "no signatures")


def _collect(paths: Iterable[Path]) -> tuple[list[Path], list[str], bool]:
    files: list[Path] = []
    errors: list[str] = []
    whole_root = False
    for p in paths:
        if p.is_dir():
            found = sorted(p.rglob(f"*{fmt.SEGMENT_SUFFIX}"))
            if not found:
                errors.append(f"{p}: no segments ({fmt.SEGMENT_SUFFIX} files) in this directory")
            if len({f.parent for f in found}) > 1:
                whole_root = True
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            errors.append(f"{p}: no such file or directory")
    return files, errors, whole_root


def verify_paths(
    paths: Iterable[Path],
    trust: TrustStore,
    *,
    keyring: Keyring | None = None,
    decrypt: bool = False,
    tst_verifier: TimestampVerifier | None = None,
    check_counters: bool | None = None,
) -> VerifyReport:
    """Verify segment files, session directories or a whole journals directory."""
    files, errors, whole = _collect(paths)
    report = VerifyReport(errors=errors)
    for f in files:
        report.segments.append(
            verify_segment(f, trust, keyring=keyring, decrypt=decrypt, tst_verifier=tst_verifier)
        )
    _continuity(report)
    if check_counters if check_counters is not None else whole:
        _counters(report)
    return report


def _continuity(report: VerifyReport) -> None:
    by_session: dict[str, list[SegmentReport]] = defaultdict(list)
    for s in report.segments:
        if s.session_id:
            by_session[s.session_id].append(s)
    for sid, segs in by_session.items():
        segs.sort(key=lambda s: s.index)
        problems = []
        if segs[0].index != 0 and len(segs) > 1:
            problems.append(
                (f"session {sid} starts at segment index {segs[0].index}", segs[0].path)
            )
        for a, b in zip(segs, segs[1:], strict=False):
            if b.index != a.index + 1:
                problems.append(
                    (
                        f"segment index {a.index + 1} missing in session {sid} "
                        f"(between {Path(a.path).name} and {Path(b.path).name})",
                        b.path,
                    )
                )
            elif a.seal_hash and b.prev_seal_hash != a.seal_hash:
                problems.append(
                    (f"segment {b.index} does not follow the seal of segment {a.index}", b.path)
                )
            elif a.seal_seq_last is not None and b.seq_first_genesis != a.seal_seq_last + 1:
                problems.append(
                    (
                        f"seq jumps from {a.seal_seq_last} to {b.seq_first_genesis} "
                        f"between segments {a.index} and {b.index}",
                        b.path,
                    )
                )
            elif not a.seal_hash:
                problems.append(
                    (f"segment {a.index} is unsealed but followed by segment {b.index}", a.path)
                )
        for msg, where in problems:
            report.checks.append(Check("continuity", False, msg, where))
        if not problems:
            report.checks.append(
                Check("continuity", True, f"session {sid}: {len(segs)} segments in order")
            )


def _counters(report: VerifyReport) -> None:
    by_agent: dict[str, list[int]] = defaultdict(list)
    for s in report.segments:
        if s.agent_id:
            by_agent[s.agent_id].append(s.agent_counter)
    for agent, counters in by_agent.items():
        cs = sorted(counters)
        missing = sorted(set(range(cs[0], cs[-1] + 1)) - set(cs))
        if missing:
            report.checks.append(
                Check(
                    "counter", False, f"agent {agent}: segment counters {missing[:5]} missing", ""
                )
            )
        else:
            report.checks.append(Check("counter", True, f"agent {agent}: {len(cs)} segments"))
