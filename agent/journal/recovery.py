"""Recovery after a crash: seal what a dead writer left unsealed, if it is intact.

A segment without a seal is re-hashed from its stored bytes (leaf and chain recomputed for
every chunk, the latest checkpoint's signature and root checked). Only when everything it
holds verifies is it sealed with reason ``recovered`` - recovery never signs bytes it has not
hashed and checked. A segment that does not verify is left unsealed for ``verify`` to report.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections import Counter
from pathlib import Path

import structlog

from agent.canonical import canonical_bytes, sha256
from agent.clock import Clock
from agent.errors import JournalError
from agent.journal import format as fmt
from agent.journal.reader import SegmentFile
from agent.journal.segment import connect_rw
from agent.keys import Keyring
from agent.seal import merkle

log = structlog.get_logger("sessiontape.journal")


def segment_paths(sdir: Path) -> list[Path]:
    """Segment files of a session directory, in index order."""
    return sorted(sdir.glob(f"*{fmt.SEGMENT_SUFFIX}"))


def recover_segment(path: Path, keyring: Keyring, clock: Clock) -> str | None:
    """Seal an unsealed, intact segment as ``recovered``; return its seal hash (hex) or None."""
    seg = SegmentFile(path)
    try:
        if seg.seal() is not None:
            return None
        tree = merkle.CompactTree()
        chain = sha256(seg.genesis_bytes)
        kinds: Counter[str] = Counter()
        count = 0
        seq_first = seq_last = t_first = t_last = None
        for row in seg.iter_chunks():
            leaf = hashlib.sha256(b"\x00" + row.header_bytes + row.ciphertext).digest()
            chain = sha256(chain + leaf)
            if row.idx != tree.size or leaf != row.leaf or chain != row.chain:
                log.error("recovery.refused", segment=str(path), chunk=row.idx)
                return None
            tree.append(leaf)
            h = row.header
            kinds.update(h.get("kinds", {}))
            count += int(h.get("n", 0))
            if seq_first is None:
                seq_first, t_first = h.get("seq0"), h.get("t0")
            seq_last, t_last = h.get("seq1"), h.get("t1")
        cps = seg.checkpoints()
        if cps:
            cp = cps[-1]
            ok = keyring.trust().verify(str(cp.body.get("key_id")), cp.signature, cp.body_bytes)
            size = int(cp.body.get("tree_size", -1))
            if not ok or size > tree.size:
                log.error("recovery.refused", segment=str(path), checkpoint=cp.n)
                return None
        g = seg.genesis
        signer = keyring.signer()
        body = {
            "v": fmt.SEAL_VERSION, "type": "seal", "seg": g["segment_id"],
            "session": g["session_id"], "segment_index": g["segment_index"],
            "agent_id": g["agent_id"], "agent_counter": g["agent_counter"],
            "genesis_hash": sha256(seg.genesis_bytes).hex(),
            "prev_seal_hash": g["prev_seal_hash"], "tree_size": tree.size,
            "root": tree.root().hex(), "chain_head": chain.hex(), "event_count": count,
            "seq_first": seq_first if seq_first is not None else g["seq_first"],
            "seq_last": seq_last if seq_last is not None else g["seq_first"] - 1,
            "t_first_utc_ns": t_first or 0, "t_last_utc_ns": t_last or 0,
            "kinds": dict(kinds), "checkpoints": len(cps),
            "sealed_utc_ns": clock.utc_ns(), "reason": "recovered", "key_id": signer.key_id,
        }
    finally:
        seg.close()
    bbytes = canonical_bytes(body)
    con = connect_rw(path, create=False)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO seal (id, body, signature, tst) VALUES (1, ?, ?, NULL)",
                    (bbytes, signer.sign(bbytes)))
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except Exception as exc:
        raise JournalError(f"{path}: recovery seal not committed: {exc}") from exc
    finally:
        con.close()
    log.info("segment.recovered", segment=str(path), events=count)
    return sha256(bbytes).hex()


def recover_session(sdir: Path, keyring: Keyring, clock: Clock) -> list[Path]:
    """Recover every unsealed segment of a session directory; return those sealed now."""
    done = []
    for p in segment_paths(sdir):
        if recover_segment(p, keyring, clock) is not None:
            done.append(p)
    return done


def recover_all(home: Path, keyring: Keyring, clock: Clock) -> list[Path]:
    """Recover every session not currently locked by a live writer."""
    done: list[Path] = []
    root = home / "journals"
    if not root.is_dir():
        return done
    for sdir in sorted(p for p in root.iterdir() if p.is_dir()):
        with open(sdir / ".lock", "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer holds it
            done.extend(recover_session(sdir, keyring, clock))
    return done


def session_tail(sdir: Path) -> tuple[str, int, int, int | None]:
    """(last seal hash, next segment index, next seq, last event UTC ns) of a session."""
    paths = segment_paths(sdir)
    if not paths:
        return "0" * 64, 0, 0, None
    seg = SegmentFile(paths[-1])
    try:
        seal = seg.seal()
        if seal is None:
            raise JournalError(f"{paths[-1]}: cannot resume a session whose last segment is "
                               "unsealed and failed recovery", retryable=False)
        b = seal.body
        return (sha256(seal.body_bytes).hex(), int(seg.genesis["segment_index"]) + 1,
                int(b["seq_last"]) + 1, int(b["t_last_utc_ns"]) or None)
    finally:
        seg.close()
