"""The live feed: a session that is still being recorded, read as its events become durable.

:class:`LiveFeed` follows the segment files of one session in ``<home>/journals/<session>``
while the journal writes them (the open segment is read through SQLite's WAL, read-only).
Each :meth:`LiveFeed.poll` reads the chunks committed since the last one and checks every one
before any of its events is handed out: its index is the next one, its leaf recomputes from
header and ciphertext, it extends the hash chain from the genesis, its header names this
segment and the next dense seqs, and it decrypts (AES-GCM bound to the header) to exactly
those seqs. Each new signed checkpoint is then checked like ``sessiontape verify`` checks it
(trusted Ed25519 signature, the next link of the checkpoint chain, Merkle root and chain head
equal to those of the chunks read); a seal is checked against the whole segment. Events after
the newest verified checkpoint are *chain-checked only* until a checkpoint covers them, and
the status says so.

After a ``rotated`` seal the feed moves to the next segment (index + 1, whose genesis must
name that seal's hash and the next seq); any other seal ends the session. Any failed check
stops the feed for good (state ``failed`` with the check and where): nothing after a broken
chunk is ever handed out, and nothing is skipped.

A segment with no WAL and no seal is one being created, so the feed waits for its writer; after
:data:`NOT_READY_S` it reads it anyway and its status says nobody writes it (what a journal
that stopped without sealing and closed its file leaves), until the recovery's seal arrives.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agent.canonical import sha256_hex
from agent.errors import InputError, UsageError, VerificationFailed
from agent.events import Record
from agent.journal.reader import SegmentFile, decode_chunk
from agent.keys import Keyring, TrustStore
from agent.seal import chain
from agent.seal import format as fmt
from agent.seal.checkpoint import checkpoint_link, checkpoint_problem
from agent.seal.crypto import ChunkCipher
from agent.seal.report import SegmentReport
from agent.seal.segment_file import ChunkRow
from agent.seal.verify_checks import StoredChunks, check_seal

NOT_READY_S = 10.0
"""How long a newest segment may stay unreadable (created, genesis not yet committed), or
stay without a WAL and unsealed, before the feed stops waiting for its writer."""


@dataclass
class LiveStatus:
    """Where the live feed is and how far what it handed out is verified.

    ``state``: ``waiting`` (no segment yet), ``live``, ``ended`` (sealed; ``end_reason``) or
    ``failed`` (``error`` names the check and where). ``checkpoint`` is the number of the
    newest checkpoint whose signature, link and Merkle root checked, in segment
    ``checkpoint_segment``; ``verified_seq`` the last seq it (or a seal) covers;
    ``chained_seq`` the last seq handed out (chain-checked, decrypted). ``stalled`` is set
    while the segment read is unsealed and nobody writes it (its writer stopped without
    sealing it and closed the file, so SQLite removed the WAL: the agent's next start seals
    it)."""

    session_id: str
    state: str = "waiting"
    segment: int = 0
    checkpoint: int | None = None
    checkpoint_segment: int | None = None
    verified_seq: int | None = None
    chained_seq: int | None = None
    end_reason: str = ""
    error: str = ""
    stalled: str = ""

    @property
    def chain_only(self) -> int:
        """How many events handed out are chain-checked but not yet under a checkpoint."""
        if self.chained_seq is None:
            return 0
        return self.chained_seq - (self.verified_seq if self.verified_seq is not None else -1)

    def badge(self) -> str:
        """The one line the viewer's integrity badge shows."""
        if self.state == "failed":
            return f"FAILED: {self.error}"
        if self.state == "waiting":
            return "waiting for the session's first durable event"
        where = ""
        if self.checkpoint is not None:
            seg = f" of segment {self.checkpoint_segment}" if self.checkpoint_segment else ""
            where = f"verified to checkpoint {self.checkpoint}{seg}"
        if self.state == "ended":
            return f"ended ({self.end_reason}), sealed and verified"
        head = f"live, {where}" if where else "live, no checkpoint yet"
        tail = f"; {self.chain_only} newer events chain-checked only" if self.chain_only else ""
        return head + tail + (f"; {self.stalled}" if self.stalled else "")

    def as_dict(self) -> dict[str, Any]:
        """The status as JSON, with the badge text."""
        return {**asdict(self), "chain_only": self.chain_only, "badge": self.badge()}


class _Tail:
    """One segment being followed: its file, cipher and what its verified chunks commit to."""

    def __init__(self, path: Path, keyring: Keyring, expect_seq: int) -> None:
        self.path = path
        self.file = SegmentFile(path)
        self.index = int(self.file.genesis.get("segment_index", -1))
        try:
            self.cipher: ChunkCipher = self.file.cipher(keyring)
        except Exception:
            self.file.close()
            raise
        g_hash = chain.genesis_hash(self.file.genesis_bytes)
        self.stored = StoredChunks(g_hash, g_hash, expect_seq)
        self.stored.roots_at[0] = (self.stored.tree.root(), g_hash)
        self.rep = SegmentReport(path=str(path), segment_id=self.file.segment_id)
        self.next_cp = 0
        self.prev_cp_size = -1
        self.prev_link = g_hash

    def where(self, what: str) -> str:
        return f"{self.path.name} {what}"

    def read_chunks(self) -> list[Record]:
        """Check and decode every chunk committed since the last call."""
        out: list[Record] = []
        while (row := self.file.chunk(self.stored.tree.size)) is not None:
            out.extend(self._chunk(row))
        return out

    def _chunk(self, row: ChunkRow) -> list[Record]:
        st, h = self.stored, row.header
        where = self.where(f"chunk {row.idx}")
        leaf = chain.chunk_leaf(row.header_bytes, row.ciphertext)
        if leaf != row.leaf:
            raise VerificationFailed(
                "chain", "leaf hash does not match header/ciphertext", where=where
            )
        head = chain.next_head(st.head, leaf)
        if head != row.chain:
            raise VerificationFailed("chain", "hash chain broken", where=where)
        if (
            h.get("v") not in fmt.CHUNK_HEADER_VERSIONS
            or h.get("seg") != self.file.segment_id
            or not all(type(h.get(k)) is int for k in ("v", "i", "seq0", "seq1", "n"))
            or h["i"] != row.idx
            or h["seq0"] != st.expect_seq
            or h["seq1"] != st.expect_seq + h["n"] - 1
        ):
            raise VerificationFailed(
                "headers", f"chunk header does not fit (expected seq {st.expect_seq})", where=where
            )
        try:
            recs = decode_chunk(self.file, row, self.cipher)
        except VerificationFailed:
            raise
        except Exception as exc:
            raise VerificationFailed(
                "decrypt", f"chunk does not decode: {type(exc).__name__}", where=where
            ) from exc
        if [r.seq for r in recs] != list(range(h["seq0"], h["seq1"] + 1)):
            raise VerificationFailed("decrypt", "events do not match the header seqs", where=where)
        st.append(leaf, head, int(h["seq1"]), {st.tree.size + 1})
        self.rep.chunks_verified += 1
        self.rep.events += int(h["n"])
        self.rep.seq_last_verified = int(h["seq1"])
        return recs

    def read_checkpoints(self, trust: TrustStore) -> int | None:
        """Check the checkpoints written since the last call that the chunks read so far
        cover; return the last seq the newest one covers (None when none was new)."""
        covered: int | None = None
        for cp in self.file.checkpoints()[self.next_cp :]:
            size = cp.body.get("tree_size")
            if type(size) is int and size > self.stored.tree.size:
                break  # its chunks were committed after this poll read the chunks
            problem = checkpoint_problem(
                cp,
                trust,
                segment_id=self.file.segment_id,
                genesis_hash=self.stored.genesis_hash,
                prev_size=self.prev_cp_size,
                stored_size=self.stored.tree.size,
                stored=self.stored.roots_at,
                expect_n=self.next_cp,
                prev_link=self.prev_link,
            )
            if problem is not None:
                raise VerificationFailed(*problem, where=self.where(f"checkpoint {cp.n}"))
            self.next_cp += 1
            self.prev_cp_size = int(cp.body["tree_size"])
            self.prev_link = checkpoint_link(cp.body_bytes)
            covered = int(cp.body.get("seq_last", -1))
            for s in [s for s in self.stored.roots_at if s < self.prev_cp_size]:
                del self.stored.roots_at[s]  # sizes before a verified checkpoint are done
        return covered

    def sealed(self) -> bool:
        """Whether the segment is sealed (asked before reading the chunks: everything the
        seal covers was committed before it, so that read then sees all of it)."""
        return self.file.seal() is not None

    def check_seal(self, trust: TrustStore) -> tuple[str, str]:
        """(reason, seal hash) of the seal, checked against every chunk read."""
        check_seal(self.file, self.rep, trust, self.stored)
        seal = self.file.seal()
        bad = self.rep.first_failure
        if bad is not None or seal is None:
            detail = bad.detail if bad else "seal vanished"
            raise VerificationFailed(bad.name if bad else "seal", detail, where=self.where("seal"))
        return str(seal.body.get("reason", "")), sha256_hex(seal.body_bytes)

    def close(self) -> None:
        self.file.close()


class LiveFeed:
    """See the module docstring. :meth:`poll` returns new records; :attr:`status` says how far
    they are verified. Not thread-safe: one poller at a time."""

    def __init__(
        self,
        home: Path,
        session_id: str,
        *,
        keyring: Keyring | None = None,
        trust: TrustStore | None = None,
    ) -> None:
        self.dir = home / "journals" / session_id
        if not self.dir.is_dir():
            raise UsageError(f"unknown session {session_id!r} in {home / 'journals'}")
        self.keyring = keyring or Keyring.load(home)
        self.trust = trust if trust is not None else self.keyring.trust()
        self.status = LiveStatus(session_id)
        self._tail: _Tail | None = None
        self._next_index = 0
        self._expect_seq = 0
        self._prev_seal = ""
        self._first_seen: dict[Path, float] = {}

    @property
    def done(self) -> bool:
        """The session ended or the feed failed: later polls return nothing."""
        return self.status.state in ("ended", "failed")

    def poll(self) -> list[Record]:
        """The records that became durable since the last poll, each chunk checked."""
        out: list[Record] = []
        if self.done:
            return out
        try:
            while True:
                tail = self._tail or self._open_next()
                if tail is None:
                    return out
                if self.status.stalled and _written(tail.path):
                    tail = self._reopen(tail, out)
                self._tail = tail
                sealed = tail.sealed()
                out.extend(tail.read_chunks())
                covered = tail.read_checkpoints(self.trust)
                self._advance(tail, out, covered)
                if not sealed:
                    return out
                self._after_seal(tail, *tail.check_seal(self.trust))
                if self.done:
                    return out
        except VerificationFailed as exc:
            self._fail(exc.message)
        except InputError as exc:  # an unreadable or undecryptable segment
            self._fail(exc.message)
        return out

    def _advance(self, tail: _Tail, out: list[Record], covered: int | None) -> None:
        st = self.status
        st.state, st.segment = "live", tail.index
        if out:
            st.chained_seq = out[-1].seq
        if covered is not None:
            st.checkpoint, st.checkpoint_segment = tail.next_cp - 1, tail.index
            st.verified_seq = covered

    def _after_seal(self, tail: _Tail, reason: str, seal_hash: str) -> None:
        st = self.status
        st.stalled = ""
        st.verified_seq = tail.rep.seq_last_verified
        self._expect_seq = tail.stored.expect_seq
        self._prev_seal = seal_hash
        self._next_index = tail.index + 1
        tail.close()
        self._tail = None
        if reason != "rotated":
            st.state, st.end_reason = "ended", reason

    def _open_next(self) -> _Tail | None:
        """The next segment once it exists and is readable; None while it is not there yet."""
        found = sorted(self.dir.glob(f"{self._next_index:06d}-*{fmt.SEGMENT_SUFFIX}"))
        if not found:
            return None
        path = found[0]
        stalled = not Path(str(path) + "-wal").exists() and not _sealed(path)
        if stalled and not self._waited(path):
            return None  # being created: its WAL is not there yet
        try:
            tail = _Tail(path, self.keyring, self._expect_seq)
        except InputError:
            if not self._waited(path):
                return None
            raise
        self._check_link(tail)
        if stalled:
            self.status.stalled = (
                f"segment {tail.index} is unsealed and no longer written: its writer stopped "
                "without sealing it, and the agent's next start seals it"
            )
        return tail

    def _reopen(self, tail: _Tail, out: list[Record]) -> _Tail:
        """A stalled segment written again (recovery seals it): it was opened immutable, so
        it is opened again and read from its start, every chunk checked again; only records
        not handed out yet are added to ``out``."""
        first, handed = int(tail.file.genesis.get("seq_first", 0)), self.status.chained_seq
        tail.close()
        self._tail = None
        fresh = _Tail(tail.path, self.keyring, first)
        self._check_link(fresh)
        out.extend(r for r in fresh.read_chunks() if handed is None or r.seq > handed)
        self.status.stalled = ""
        return fresh

    def _waited(self, path: Path) -> bool:
        """Whether ``path`` was first found not ready at least :data:`NOT_READY_S` ago."""
        first = self._first_seen.setdefault(path, time.monotonic())
        return time.monotonic() - first >= NOT_READY_S

    def _check_link(self, tail: _Tail) -> None:
        """A segment after the first continues the previous one: its seal hash, next seq."""
        g = tail.file.genesis
        if tail.index != self._next_index or (
            self._next_index > 0
            and (
                g.get("prev_seal_hash") != self._prev_seal or g.get("seq_first") != self._expect_seq
            )
        ):
            tail.close()
            raise VerificationFailed(
                "continuity",
                f"segment {tail.path.name} does not follow segment {self._next_index - 1}",
                where=tail.path.name,
            )
        if self._next_index == 0:
            self._expect_seq = int(g.get("seq_first", 0))
            tail.stored.expect_seq = self._expect_seq

    def _fail(self, message: str) -> None:
        self.status.state, self.status.error = "failed", message
        if self._tail is not None:
            self._tail.close()
            self._tail = None

    def close(self) -> None:
        """Close the segment being read."""
        if self._tail is not None:
            self._tail.close()
            self._tail = None


def _written(path: Path) -> bool:
    """Whether a segment has a WAL (a writer) or a seal."""
    return Path(str(path) + "-wal").exists() or _sealed(path)


def _sealed(path: Path) -> bool:
    """Whether a segment with no WAL is a finished (sealed) file rather than a new one."""
    try:
        f = SegmentFile(path)
    except InputError:
        return False
    try:
        return f.seal() is not None
    finally:
        f.close()
