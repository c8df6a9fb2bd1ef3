"""Recovery after a crash: seal what a dead writer left unsealed, if it is intact.

A segment without a seal is re-hashed from its stored bytes (leaf and chain recomputed for
every chunk, the latest checkpoint's signature and root checked). Only when everything it
holds verifies is it sealed with reason ``recovered`` - recovery never signs bytes it has not
hashed and checked. A segment that does not verify is left unsealed for ``verify`` to report.
"""

from __future__ import annotations

import fcntl
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from agent.canonical import sha256_hex
from agent.clock import Clock
from agent.errors import JournalError
from agent.events import Event, to_record
from agent.journal.outage import OutageState, Sidecar
from agent.journal.segment import SegmentWriter, connect_rw
from agent.keys import Keyring, Signer
from agent.seal import chain, merkle
from agent.seal import format as fmt
from agent.seal.checkpoint import checkpoint_link, signature_status
from agent.seal.segment_file import SegmentFile

log = structlog.get_logger("sessiontape.journal")


def segment_paths(sdir: Path) -> list[Path]:
    """Segment files of a session directory, in index order."""
    return sorted(sdir.glob(f"*{fmt.SEGMENT_SUFFIX}"))


@dataclass
class _Rehashed:
    """What an unsealed segment's stored chunks add up to, recomputed from their bytes."""

    genesis: dict[str, Any]
    genesis_bytes: bytes
    head: bytes
    tree: merkle.CompactTree = field(default_factory=merkle.CompactTree)
    kinds: Counter[str] = field(default_factory=Counter)
    count: int = 0
    checkpoints: int = 0
    last_checkpoint_link: bytes = b""
    seq_first: int | None = None
    seq_last: int | None = None
    t_first: int | None = None
    t_last: int | None = None


def recover_segment(
    path: Path, keyring: Keyring, clock: Clock, outage: OutageState | None = None
) -> str | None:
    """Seal an unsealed, intact segment as ``recovered``; return its seal hash (hex) or None.

    ``outage``: the write outage the session's writer recorded before it stopped; the gap
    then carries its cause (``disk_full``) and ``lost_events`` instead of ``agent_crash``.
    """
    seg = SegmentFile(path)
    try:
        if seg.seal() is not None:
            return None
        state = _rehash(seg, keyring)
        if state is None:
            return None
        kid = str(seg.genesis.get("kek_id", ""))
        wrapped = bytes.fromhex(str(seg.genesis.get("wrapped_dek", "")))
    finally:
        seg.close()
    signer = keyring.signer()
    if not keyring.holds_kek(kid):
        log.error("recovery.refused", segment=str(path), reason="decryption key not held")
        return None
    writer = _resume_writer(path, state, keyring.unwrap_dek(kid, wrapped, where=str(path)), signer)
    now = clock.utc_ns()
    try:
        gap = _crash_gap(state, now, clock, outage)
        writer.write_chunks([[to_record(gap, _next_seq(state))]])
        body, seal_hash = writer.seal("recovered", now)
    except JournalError:
        writer.close()
        raise
    log.info("segment.recovered", segment=str(path), events=body["event_count"])
    return seal_hash.hex()


def _rehash(seg: SegmentFile, keyring: Keyring) -> _Rehashed | None:
    """Recompute every leaf and chain link and check the latest checkpoint; None if any fails."""
    state = _Rehashed(seg.genesis, seg.genesis_bytes, chain.genesis_hash(seg.genesis_bytes))
    for row in seg.iter_chunks():
        leaf = chain.chunk_leaf(row.header_bytes, row.ciphertext)
        state.head = chain.next_head(state.head, leaf)
        if row.idx != state.tree.size or leaf != row.leaf or state.head != row.chain:
            log.error("recovery.refused", segment=str(seg.path), chunk=row.idx)
            return None
        state.tree.append(leaf)
        h = row.header
        state.kinds.update(h.get("kinds", {}))
        state.count += int(h.get("n", 0))
        if state.seq_first is None:
            state.seq_first, state.t_first = h.get("seq0"), h.get("t0")
        state.seq_last, state.t_last = h.get("seq1"), h.get("t1")
    cps = seg.checkpoints()
    if cps:
        cp = cps[-1]
        ok = signature_status(keyring.trust(), cp.body, cp.body_bytes, cp.signature)
        size = int(cp.body.get("tree_size", -1))
        if not ok or size > state.tree.size:
            log.error("recovery.refused", segment=str(seg.path), checkpoint=cp.n)
            return None
    state.checkpoints = len(cps)
    if cps:
        state.last_checkpoint_link = checkpoint_link(cps[-1].body_bytes)
    return state


def _resume_writer(path: Path, state: _Rehashed, dek: bytes, signer: Signer) -> SegmentWriter:
    """A writer positioned after the segment's last stored chunk."""
    writer = SegmentWriter(
        path, connect_rw(path, create=False), state.genesis, state.genesis_bytes, dek, signer, 1
    )
    writer.tree, writer.chain_head, writer.event_count = state.tree, state.head, state.count
    writer.seq_first, writer.seq_last = state.seq_first, state.seq_last
    writer.t_first, writer.t_last = state.t_first, state.t_last
    writer.kinds, writer.checkpoints = state.kinds, state.checkpoints
    if state.checkpoints:
        writer.last_checkpoint_link = state.last_checkpoint_link
    return writer


def _next_seq(state: _Rehashed) -> int:
    """The seq the recovery event takes: right after the last stored one."""
    return (state.seq_last + 1) if state.seq_last is not None else int(state.genesis["seq_first"])


def _crash_gap(state: _Rehashed, now: int, clock: Clock, outage: OutageState | None) -> Event:
    """The crash itself goes on the record, signed and sealed with what it interrupted.

    Without an outage record the writer simply stopped (``agent_crash``; what it had not
    yet committed is unknown). With one, the gap starts where the outage did and says how
    many events the failed commits refused.
    """
    start = state.t_last or int(state.genesis["created_utc_ns"])
    payload: dict[str, object] = {"cause": "agent_crash", "recovered_by_pid": os.getpid()}
    if outage is not None:
        start = min(start, outage.start_utc_ns)
        payload.update(cause=outage.cause, lost_events=outage.lost_events)
    payload.update(start=start, end=now)  # the same fields as every other capture.gap
    return Event("capture.gap", payload, now, clock.mono_ns())


def recover_session(sdir: Path, keyring: Keyring, clock: Clock) -> list[Path]:
    """Recover every unsealed segment of a session directory; return those sealed now."""
    done = []
    sidecar = Sidecar(sdir)
    outage = sidecar.read()
    paths = segment_paths(sdir)
    for p in paths:
        # The outage belongs to the segment it names, or (when the writer died before
        # naming one) to the last one: the segment that was being written.
        named = outage is not None and (
            outage.segment == p.name or (outage.segment is None and p == paths[-1])
        )
        if recover_segment(p, keyring, clock, outage if named else None) is not None:
            done.append(p)
            if named:
                sidecar.write(None)
                outage = None
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
            sha256_hex(seal.body_bytes),
            int(seg.genesis["segment_index"]) + 1,
            int(b["seq_last"]) + 1,
            int(b["t_last_utc_ns"]) or None,
        )
    finally:
        seg.close()
