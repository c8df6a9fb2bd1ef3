"""Reading a sealed segment file: format dispatch, rows, and decryption of chunk bodies.

The segment file is what sealing produces and what verification reads, so its read-only view
lives in the seal stage: :mod:`agent.seal.verify` checks segments with nothing from the
journal, and the journal (which writes segments and turns chunk bodies into event
:class:`~agent.events.Record` objects) builds on this module, never the reverse.

Opening never writes: a segment with a live WAL is opened ``mode=ro``; otherwise
``immutable=1`` so files on read-only media (vault copies, export bundles) open too.
Anything that is not a sessiontape segment of a known version is a clear ``NotAJournal`` /
``UnknownVersion`` naming the file.
"""

from __future__ import annotations

import sqlite3
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zstandard

from agent.canonical import loads
from agent.errors import InputError, NotAJournal, UnknownVersion
from agent.keys import Keyring
from agent.keystore.firmwrap import parse_wraps
from agent.seal import chunk_codec, chunk_dict, chunk_header
from agent.seal import format as fmt
from agent.seal.crypto import ChunkCipher


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """One stored chunk, as bytes plus its parsed header."""

    idx: int
    header_bytes: bytes
    header: dict[str, Any]
    ciphertext: bytes
    leaf: bytes
    chain: bytes


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    """One stored checkpoint."""

    n: int
    body_bytes: bytes
    body: dict[str, Any]
    signature: bytes


@dataclass(frozen=True, slots=True)
class SealRow:
    """The stored seal."""

    body_bytes: bytes
    body: dict[str, Any]
    signature: bytes
    tst: bytes | None


# SQLite's message for a damaged schema quotes the schema text; when a flipped byte left that
# text invalid UTF-8, the sqlite3 module raises UnicodeDecodeError decoding the message
# instead of an sqlite3.Error.
_DB_ERRORS = (sqlite3.Error, UnicodeDecodeError)


def _parse(data: bytes, what: str, path: Path) -> dict[str, Any]:
    try:
        obj = loads(data)
    except ValueError as exc:
        raise NotAJournal(f"{path}: {what} is not valid JSON") from exc
    if not isinstance(obj, dict):
        raise NotAJournal(f"{path}: {what} is not an object")
    return obj


def _object_or_empty(data: bytes) -> dict[str, Any]:
    """A stored JSON object, or ``{}`` when it does not parse (the checks then fail on it)."""
    try:
        obj = loads(data)
    except ValueError:
        return {}
    return obj if isinstance(obj, dict) else {}


def _blob(value: Any, what: str, path: Path) -> bytes:
    """A stored BLOB; any other SQLite type (text, integer, real, NULL) means a damaged file."""
    if not isinstance(value, bytes):
        raise NotAJournal(f"{path}: {what} is {type(value).__name__}, not a blob")
    return value


def _chunk_row(row: tuple[Any, ...], path: Path) -> ChunkRow:
    idx, h, ct, leaf, chain = row
    if type(idx) is not int:
        raise NotAJournal(f"{path}: chunk index {idx!r} is not an integer")
    what = f"chunk {idx}"
    header = _blob(h, f"{what} header", path)
    return ChunkRow(
        idx,
        header,
        chunk_header.parse(header),
        _blob(ct, f"{what} ciphertext", path),
        _blob(leaf, f"{what} leaf", path),
        _blob(chain, f"{what} chain", path),
    )


# Genesis fields read as integers; a genesis whose field has another type is not a segment
# this build wrote (the genesis hash then fails too, but reading must not crash first).
_GENESIS_INTS = ("segment_index", "seq_first", "agent_counter")
_GENESIS_STRS = ("segment_id", "session_id", "prev_seal_hash", "agent_id", "kek_id", "wrapped_dek")


def _check_genesis(genesis: dict[str, Any], path: Path) -> None:
    """Refuse a genesis whose identity fields are missing or of the wrong type."""
    for key in ("segment_id", "session_id"):
        if key not in genesis:
            raise NotAJournal(f"{path}: genesis has no {key}")
    for key in _GENESIS_INTS:
        if key in genesis and type(genesis[key]) is not int:
            raise NotAJournal(f"{path}: genesis {key} is not an integer")
    for key in _GENESIS_STRS:
        if key in genesis and not isinstance(genesis[key], str):
            raise NotAJournal(f"{path}: genesis {key} is not a string")
    if genesis.get("v") != 1 or "firm_wraps" in genesis:
        try:
            parse_wraps(genesis.get("firm_wraps"))
        except ValueError as exc:
            raise NotAJournal(f"{path}: genesis {exc}") from None
    if genesis.get("v") not in (1, 2):
        _check_link(genesis, path)


def _check_link(genesis: dict[str, Any], path: Path) -> None:
    """A version-3 genesis names the session it follows (``previous_session``) or ``null``."""
    if "previous_session" not in genesis:
        raise NotAJournal(f"{path}: genesis has no previous_session")
    link = genesis["previous_session"]
    if link is None:
        return
    if not isinstance(link, dict) or not all(
        isinstance(link.get(k), str) for k in ("session_id", "seal_hash", "reason")
    ):
        raise NotAJournal(
            f"{path}: genesis previous_session is not {{session_id, seal_hash, reason}}"
        )
    if link["reason"] not in fmt.LINK_REASONS:
        raise NotAJournal(f"{path}: genesis previous_session reason {link['reason']!r} unknown")


def _damage(path: Path, exc: BaseException) -> str:
    """What is wrong with a segment SQLite cannot read: truncation when the file is shorter
    than its database header says, else SQLite's own message."""
    try:
        with open(path, "rb") as f:
            header = f.read(100)
        size = path.stat().st_size
    except OSError:
        return str(exc)
    if len(header) < 100:
        return f"truncated: {size} bytes, shorter than the 100-byte database header"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[24:28] == header[92:96]  # the page count is current only when these match
    if valid and pages and size < page_size * pages:
        return f"truncated: {size} bytes on disk, its database header says {page_size * pages}"
    return str(exc)


class SegmentFile:
    """A segment opened read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            raise InputError(f"{path}: no such file")
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a segment")
        with open(path, "rb") as f:
            magic = f.read(16)
        if magic != b"SQLite format 3\x00":
            raise NotAJournal(f"{path}: not a sessiontape segment (not an SQLite file)")
        q = "mode=ro" if Path(str(path) + "-wal").exists() else "immutable=1"
        uri = "file:" + urllib.parse.quote(str(path.resolve())) + "?" + q
        try:
            self._con = sqlite3.connect(uri, uri=True, check_same_thread=False)
            app_id = self._con.execute("PRAGMA application_id").fetchone()[0]
            version = self._con.execute("PRAGMA user_version").fetchone()[0]
        except _DB_ERRORS as exc:
            raise NotAJournal(f"{path}: unreadable SQLite file ({_damage(path, exc)})") from exc
        if app_id != fmt.APPLICATION_ID:
            raise NotAJournal(f"{path}: not a sessiontape segment (application_id {app_id:#x})")
        if version != fmt.FORMAT_VERSION:
            raise UnknownVersion(
                f"{path}: segment format version {version} is not supported "
                f"(this build reads version {fmt.FORMAT_VERSION})"
            )
        try:
            row = self._con.execute("SELECT genesis FROM segment WHERE id = 1").fetchone()
        except _DB_ERRORS as exc:
            raise NotAJournal(f"{path}: damaged segment ({_damage(path, exc)})") from exc
        if row is None:
            raise NotAJournal(f"{path}: segment has no genesis row")
        self.genesis_bytes: bytes = _blob(row[0], "genesis", path)
        self.genesis = _parse(self.genesis_bytes, "genesis", path)
        _supported(self.genesis.get("v"), fmt.GENESIS_VERSIONS, f"{path}: genesis")
        _check_genesis(self.genesis, path)

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._con.execute(sql, args).fetchall()
        except _DB_ERRORS as exc:
            raise NotAJournal(f"{self.path}: damaged segment ({_damage(self.path, exc)})") from exc

    @property
    def segment_id(self) -> str:
        return str(self.genesis["segment_id"])

    @property
    def session_id(self) -> str:
        return str(self.genesis["session_id"])

    @property
    def previous_session(self) -> dict[str, str] | None:
        """The session this one follows (``session_id``, ``seal_hash``, ``reason``), if linked."""
        link = self.genesis.get("previous_session")
        return {k: str(link[k]) for k in ("session_id", "seal_hash", "reason")} if link else None

    def chunk_count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM chunks")[0][0])

    def iter_chunks(self) -> Iterator[ChunkRow]:
        """Chunks in idx order."""
        try:
            cur = self._con.execute(
                "SELECT idx, header, ciphertext, leaf, chain FROM chunks ORDER BY idx"
            )
            for row in cur:
                yield _chunk_row(row, self.path)
        except _DB_ERRORS as exc:
            raise NotAJournal(f"{self.path}: damaged segment ({_damage(self.path, exc)})") from exc

    def chunk(self, idx: int) -> ChunkRow | None:
        """One stored chunk by index (a point query), or None when absent."""
        rows = self._query(
            "SELECT idx, header, ciphertext, leaf, chain FROM chunks WHERE idx = ?", (idx,)
        )
        return _chunk_row(rows[0], self.path) if rows else None

    def chunk_headers(self) -> list[dict[str, Any]]:
        """Parsed chunk headers only (cheap: no ciphertext)."""
        out = []
        for (h,) in self._query("SELECT header FROM chunks ORDER BY idx"):
            out.append(chunk_header.parse(_blob(h, "chunk header", self.path)))
        return out

    def checkpoints(self) -> list[CheckpointRow]:
        """Checkpoints in order."""
        out = []
        for n, b, s in self._query("SELECT n, body, signature FROM checkpoints ORDER BY n"):
            body = _blob(b, f"checkpoint {n} body", self.path)
            out.append(
                CheckpointRow(
                    n,
                    body,
                    _object_or_empty(body),
                    _blob(s, f"checkpoint {n} signature", self.path),
                )
            )
        return out

    def seal(self) -> SealRow | None:
        """The seal, or None for an unsealed segment."""
        rows = self._query("SELECT body, signature, tst FROM seal WHERE id = 1")
        if not rows:
            return None
        b, s, t = rows[0]
        body = _blob(b, "seal body", self.path)
        return SealRow(
            body,
            _object_or_empty(body),
            _blob(s, "seal signature", self.path),
            _blob(t, "seal timestamp token", self.path) if t is not None else None,
        )

    def cipher(self, keyring: Keyring) -> ChunkCipher:
        """The chunk cipher: the DEK opened by :meth:`Keyring.open_dek` (this home's KEK, else
        a firm key held here; ``KeyUnavailable`` when neither)."""
        return ChunkCipher(keyring.open_dek(self.genesis, where=str(self.path)))

    def close(self) -> None:
        self._con.close()


# A ZstdDecompressor wraps one native decompression context and is not safe to use from two
# threads at once (the agent verifies a sealed session while its index job reads segments:
# a shared context crashed the process). One per thread.
_LOCAL = threading.local()


def _dctx(version: int) -> zstandard.ZstdDecompressor:
    """This thread's decompressor for bodies of ``version`` (3 has its fixed dictionary)."""
    dict_data = chunk_dict.for_version(version)
    name = "dctx" if dict_data is None else f"dctx{version}"
    dctx: zstandard.ZstdDecompressor | None = getattr(_LOCAL, name, None)
    if dctx is None:
        dctx = zstandard.ZstdDecompressor(dict_data=dict_data)
        setattr(_LOCAL, name, dctx)
    return dctx


def _supported(v: Any, versions: tuple[int, ...], what: str) -> int:
    """``v`` when it is one of ``versions``; else :class:`UnknownVersion` naming ``what``."""
    if type(v) is not int or v not in versions:
        known = ", ".join(str(x) for x in versions)
        raise UnknownVersion(
            f"{what} version {v!r} is not supported (this build reads versions {known})"
        )
    return v


def decode_chunk_raw(
    seg: SegmentFile, row: ChunkRow, cipher: ChunkCipher, *, columns: bool = False
) -> list[Any]:
    """Decrypt and decompress one chunk into raw record dicts (AEAD failure names the chunk;
    ``columns``: see :func:`agent.seal.chunk_codec.decode`)."""
    where = f"{seg.path} chunk {row.idx}"
    version = _supported(row.header.get("v"), fmt.CHUNK_HEADER_VERSIONS, f"{where}: chunk header")
    try:
        nonce = bytes.fromhex(str(row.header["nonce"]))
    except (KeyError, ValueError) as exc:
        raise NotAJournal(f"{where}: chunk header has no valid nonce") from exc
    comp = cipher.open(nonce, row.ciphertext, row.header_bytes, where=where)
    limit = int(row.header.get("ptlen", 0)) or 1 << 30
    plain = _dctx(version).decompress(comp, max_output_size=limit)
    recs = chunk_codec.decode(plain, version, columns=columns)
    if not isinstance(recs, list):
        raise NotAJournal(f"{where}: chunk body is not a list of records")
    return recs
