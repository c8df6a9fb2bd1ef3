"""Recovery after a crash: seal what a dead writer left unsealed, if it is intact.

A segment without a seal is re-hashed from its stored bytes (leaf and chain recomputed for
every chunk, the latest checkpoint's signature and root checked). Only when everything it
holds verifies is it sealed with reason ``recovered`` - recovery never signs bytes it has not
hashed and checked. A segment that does not verify is left unsealed for ``verify`` to report.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections import Counter
from pathlib import Path

import structlog

from agent.canonical import sha256
from agent.clock import Clock
from agent.errors import JournalError
from agent.events import Event, to_record
from agent.journal import format as fmt
from agent.journal.reader import SegmentFile
from agent.journal.segment import SegmentWriter, connect_rw
from agent.keys import Keyring
from agent.seal import merkle
from agent.seal.crypto import unwrap_dek

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
        genesis_bytes = seg.genesis_bytes
        kek = keyring.kek(str(g.get("kek_id", "")))
        wrapped = bytes.fromhex(str(g.get("wrapped_dek", "")))
    finally:
        seg.close()
    signer = keyring.signer()
    if kek is None:
        log.error("recovery.refused", segment=str(path), reason="decryption key not held")
        return None
    writer = SegmentWriter(
        path,
        connect_rw(path, create=False),
        g,
        genesis_bytes,
        unwrap_dek(kek, wrapped, where=str(path)),
        signer,
        1,
    )
    writer.tree, writer.chain_head, writer.event_count = tree, chain, count
    writer.seq_first, writer.seq_last, writer.t_first, writer.t_last = (
        seq_first,
        seq_last,
        t_first,
        t_last,
    )
    writer.kinds, writer.checkpoints = kinds, len(cps)
    now = clock.utc_ns()
    # The crash itself goes on the record, signed and sealed with what it interrupted.
    seq = (seq_last + 1) if seq_last is not None else int(g["seq_first"])
    gap = Event(
        "capture.gap",
        {
            "start_utc_ns": t_last or int(g["created_utc_ns"]),
            "end_utc_ns": now,
            "cause": "agent_crash",
            "recovered_by_pid": os.getpid(),
        },
        now,
        clock.mono_ns(),
    )
    try:
        writer.write_chunks([[to_record(gap, seq)]])
        body, seal_hash = writer.seal("recovered", now)
    except JournalError:
        writer.close()
        raise
    log.info("segment.recovered", segment=str(path), events=body["event_count"])
    return seal_hash.hex()


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
            raise JournalError(
                f"{paths[-1]}: cannot resume a session whose last segment is "
                "unsealed and failed recovery",
                retryable=False,
            )
        b = seal.body
        return (
            sha256(seal.body_bytes).hex(),
            int(seg.genesis["segment_index"]) + 1,
            int(b["seq_last"]) + 1,
            int(b["t_last_utc_ns"]) or None,
        )
    finally:
        seg.close()
