"""Writing one segment: chunks, checkpoints and the seal, each committed durably.

:class:`SegmentWriter` is single-threaded and knows nothing of sessions, clocks or rotation
(:mod:`agent.journal.journal` does). Every public method commits before returning, with
SQLite in WAL mode and ``synchronous=FULL``: a method that returned wrote durably.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zstandard

from agent.canonical import canonical_bytes, sha256
from agent.db import transaction
from agent.errors import JournalClosed, JournalError
from agent.keys import Signer
from agent.seal import chain, chunk_codec, chunk_dict, chunk_header, merkle
from agent.seal import format as fmt
from agent.seal.checkpoint import checkpoint_body, checkpoint_link, sign_body
from agent.seal.crypto import TAG_LEN, ChunkCipher, new_nonce

# The writer's page cache, in KiB. The writer appends: a commit touches the right edge of
# each B-tree and the overflow pages of the new chunk, which it never reads again. At SQLite's
# default (2000 KiB, about 2.4 MB with page headers measured at 1 KiB pages) the cache filled
# within minutes of every segment with pages of chunks already written, and was dropped at
# rotation: a saw tooth in the long-running agent's memory.
WRITER_CACHE_KIB = 256


def connect_rw(path: Path, *, create: bool) -> sqlite3.Connection:
    """Open a segment for writing with durable settings and a page cache of
    :data:`WRITER_CACHE_KIB`."""
    if create and path.exists():
        raise JournalError(f"{path}: segment already exists", retryable=False)
    try:
        con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        if create:  # only an empty file takes a page size, and only before WAL mode
            con.execute(f"PRAGMA page_size={fmt.PAGE_SIZE}")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
    except sqlite3.Error as exc:
        if create:  # nothing was written: leave no empty file that reads as a segment
            path.unlink(missing_ok=True)
        raise JournalError(f"{path}: cannot open segment: {exc}") from exc
    return con


@dataclass(frozen=True, slots=True)
class _SealedChunk:
    """One sealed chunk ready to insert, with the event kinds it holds."""

    idx: int
    header: bytes
    ciphertext: bytes
    leaf: bytes
    chain: bytes
    kinds: Counter[str]

    def as_sql(self) -> tuple[int, bytes, bytes, bytes, bytes]:
        return (self.idx, self.header, self.ciphertext, self.leaf, self.chain)


class SegmentWriter:
    """Appends chunks to one segment file and seals it."""

    def __init__(
        self,
        path: Path,
        con: sqlite3.Connection,
        genesis: dict[str, Any],
        genesis_bytes: bytes,
        dek: bytes,
        signer: Signer,
        zstd_level: int,
    ) -> None:
        self.path = path
        self._con = con
        self.genesis = genesis
        self.genesis_hash = chain.genesis_hash(genesis_bytes)
        self.segment_id: str = genesis["segment_id"]
        self.session_id: str = genesis["session_id"]
        self._cipher = ChunkCipher(dek)
        self._signer = signer
        self._version = fmt.CHUNK_HEADER_VERSION  # of every chunk this writer seals
        self._zstd = zstandard.ZstdCompressor(
            level=zstd_level, dict_data=chunk_dict.for_version(self._version)
        )
        self.tree = merkle.CompactTree()
        self.chain_head = self.genesis_hash
        self.event_count = 0
        self.seq_first: int | None = None
        self.seq_last: int | None = None
        self.t_first: int | None = None
        self.t_last: int | None = None
        self.kinds: Counter[str] = Counter()
        self.bytes_written = len(genesis_bytes)
        self.checkpoints = 0
        self.last_checkpoint_size = -1
        self.last_checkpoint_link = self.genesis_hash  # what the next checkpoint's prev names
        self.sealed = False

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def create(
        cls, path: Path, genesis: dict[str, Any], dek: bytes, signer: Signer, zstd_level: int = 1
    ) -> SegmentWriter:
        """Create the file, its schema and genesis row in one transaction."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(f"{path.parent}: cannot create: {exc.strerror}") from exc
        con = connect_rw(path, create=True)
        gbytes = canonical_bytes(genesis)
        # One script, one transaction: a file either has schema and genesis or is empty.
        script = (
            f"BEGIN IMMEDIATE; PRAGMA application_id={fmt.APPLICATION_ID}; "
            f"PRAGMA user_version={fmt.FORMAT_VERSION};"
            + fmt.SCHEMA
            + fmt.TRIGGERS
            + f"INSERT INTO segment (id, genesis) VALUES (1, X'{gbytes.hex()}'); COMMIT;"
        )
        try:
            con.executescript(script)
        except sqlite3.Error as exc:
            # An empty or partial file would read as a broken segment: remove it.
            con.close()
            for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                p.unlink(missing_ok=True)
            raise JournalError(f"{path}: cannot create segment: {exc}") from exc
        return cls(path, con, genesis, gbytes, dek, signer, zstd_level)

    # --- chunks ---------------------------------------------------------------------------
    def write_chunk(self, records: list[dict[str, Any]]) -> int:
        """Write one chunk (see :meth:`write_chunks`); return its index."""
        return self.write_chunks([records])[0]

    def write_chunks(self, batches: list[list[dict[str, Any]]]) -> list[int]:
        """Compress, encrypt, hash and commit chunks of already-numbered records.

        All chunks go in ONE transaction (one fsync: group commit). ``records`` are event
        records (:func:`agent.events.to_record`) with dense ``seq``. Returns the chunk
        indices. Raises ``JournalError`` when the commit fails - nothing is then written and
        the in-memory tree/chain are unchanged.
        """
        if self.sealed:
            raise JournalClosed(f"{self.path}: segment is sealed")
        idx0 = self.tree.size
        head = self.chain_head
        rows: list[_SealedChunk] = []
        for k, records in enumerate(batches):
            rows.append(self._encrypt_chunk(idx0 + k, records, head))
            head = rows[-1].chain
        self._commit(
            f"chunks {idx0}..{idx0 + len(rows) - 1}",
            "INSERT INTO chunks (idx, header, ciphertext, leaf, chain) VALUES (?,?,?,?,?)",
            [r.as_sql() for r in rows],
        )
        for r in rows:
            self.tree.append(r.leaf)
            self.kinds.update(r.kinds)
            self.bytes_written += len(r.header) + len(r.ciphertext) + 64  # + leaf, chain
        self.chain_head = head
        self._count(batches[0][0], batches[-1][-1], sum(len(b) for b in batches))
        return [r.idx for r in rows]

    def _encrypt_chunk(self, idx: int, records: list[dict[str, Any]], head: bytes) -> _SealedChunk:
        """Compress and encrypt one chunk under its header; hash it onto the chain ``head``."""
        if not records:
            raise ValueError("empty chunk")
        version = self._version
        plain = chunk_codec.encode(records, version)
        comp = self._zstd.compress(plain)
        kinds = Counter(r["kind"] for r in records)
        nonce = new_nonce()
        header = {
            "v": version,
            "seg": self.segment_id,
            "i": idx,
            "seq0": records[0]["seq"],
            "seq1": records[-1]["seq"],
            "n": len(records),
            "t0": records[0]["t_utc_ns"],
            "t1": records[-1]["t_utc_ns"],
            "kinds": dict(kinds),
            "ptlen": len(plain),
            "ctlen": len(comp) + TAG_LEN,
            "z": "zstd",
            "nonce": nonce.hex(),
        }
        hbytes = chunk_header.encode(header)
        ct = self._cipher.seal(nonce, comp, hbytes)
        leaf = chain.chunk_leaf(hbytes, ct)
        return _SealedChunk(idx, hbytes, ct, leaf, chain.next_head(head, leaf), kinds)

    def _count(self, first: dict[str, Any], last: dict[str, Any], n: int) -> None:
        """Account for ``n`` committed records running from ``first`` to ``last``."""
        self.event_count += n
        if self.seq_first is None:
            self.seq_first = first["seq"]
            self.t_first = first["t_utc_ns"]
        self.seq_last = last["seq"]
        self.t_last = last["t_utc_ns"]

    def _commit(self, what: str, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Insert ``rows`` in one ``BEGIN IMMEDIATE`` transaction, committed (FULL sync) on return.

        Raises ``JournalError`` naming ``what`` when the commit fails; nothing is then written.
        """
        try:
            with transaction(self._con):
                self._con.executemany(sql, rows)
        except sqlite3.Error as exc:
            self._rollback()
            raise JournalError(f"{self.path}: {what} not committed: {exc}") from exc

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._con.execute("ROLLBACK")

    # --- checkpoints and seal -------------------------------------------------------------
    def checkpoint(self, t_utc_ns: int, t_mono_ns: int) -> dict[str, Any]:
        """Sign and commit a checkpoint of the current tree; return its body."""
        if self.sealed:
            raise JournalClosed(f"{self.path}: segment is sealed")
        body = checkpoint_body(
            segment_id=self.segment_id,
            session_id=self.session_id,
            genesis_hash=self.genesis_hash,
            n=self.checkpoints,
            tree_size=self.tree.size,
            root=self.tree.root(),
            chain_head=self.chain_head,
            seq_last=self.seq_last if self.seq_last is not None else -1,
            t_utc_ns=t_utc_ns,
            t_mono_ns=t_mono_ns,
            key_id=self._signer.key_id,
            prev=self.last_checkpoint_link,
        )
        bbytes, sig = sign_body(self._signer, body)
        self._commit(
            "checkpoint",
            "INSERT INTO checkpoints (n, body, signature) VALUES (?,?,?)",
            [(self.checkpoints, bbytes, sig)],
        )
        self.checkpoints += 1
        self.last_checkpoint_size = self.tree.size
        self.last_checkpoint_link = checkpoint_link(bbytes)
        return body

    def seal_body(
        self, reason: str, sealed_utc_ns: int, retention: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """The seal body for the segment as it stands.

        ``retention`` is the session's retention decision (``{"class", "rule"}``); recovery,
        which did not watch the session, records the explicit class or ``default`` with the
        rule ``recovered`` (the shipper keeps a session's longest class for all its segments).
        """
        g = self.genesis
        if retention is None:
            cls = str(g.get("record_class") or "default")
            retention = {"class": cls, "rule": "--class" if cls != "default" else "recovered"}
        return {
            "v": fmt.SEAL_VERSION,
            "type": "seal",
            "seg": self.segment_id,
            "session": self.session_id,
            "segment_index": g["segment_index"],
            "agent_id": g["agent_id"],
            "agent_counter": g["agent_counter"],
            "genesis_hash": self.genesis_hash.hex(),
            "prev_seal_hash": g["prev_seal_hash"],
            "tree_size": self.tree.size,
            "root": self.tree.root().hex(),
            "chain_head": self.chain_head.hex(),
            "event_count": self.event_count,
            "seq_first": self.seq_first if self.seq_first is not None else g["seq_first"],
            "seq_last": self.seq_last if self.seq_last is not None else g["seq_first"] - 1,
            "t_first_utc_ns": self.t_first if self.t_first is not None else 0,
            "t_last_utc_ns": self.t_last if self.t_last is not None else 0,
            "kinds": dict(self.kinds),
            "checkpoints": self.checkpoints,
            "sealed_utc_ns": sealed_utc_ns,
            "reason": reason,
            "key_id": self._signer.key_id,
            "retention": dict(retention),
        }

    def seal(
        self,
        reason: str,
        sealed_utc_ns: int,
        tst: bytes | None = None,
        body: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], bytes]:
        """Sign and commit the seal; return (body, seal_hash). The segment is then closed."""
        if self.sealed:
            raise JournalClosed(f"{self.path}: segment is already sealed")
        if reason not in fmt.SEAL_REASONS:
            raise ValueError(reason)
        body = body or self.seal_body(reason, sealed_utc_ns)
        bbytes, sig = sign_body(self._signer, body)
        self._commit(
            "seal",
            "INSERT INTO seal (id, body, signature, tst) VALUES (1,?,?,?)",
            [(bbytes, sig, tst)],
        )
        # The seal is committed. Fold the WAL into the file so a sealed segment is one
        # self-contained file; when that fails (a full disk) the committed WAL stays beside it
        # and readers see the seal through it until a later checkpoint (shipping does one).
        self.sealed = True
        with contextlib.suppress(sqlite3.Error):
            self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.close()
        return body, sha256(bbytes)

    def close(self) -> None:
        """Close the connection (without sealing: the segment stays unsealed)."""
        with contextlib.suppress(sqlite3.Error):
            self._con.close()
