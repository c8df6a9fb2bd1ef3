"""Chunk header bytes: canonical JSON (versions 1 and 2) or binary (version 3), and back.

The header is stored in clear beside the ciphertext (indexing reads times and kinds without
the key), is the AEAD's associated data and is hashed into the chunk's leaf. Every reader
gets the same dict, ``{v, seg, i, seq0, seq1, n, t0, t1, kinds, ptlen, ctlen, z, nonce}``,
whatever the version. Version 3 spends ~50 bytes where the JSON spent ~220 (a live grid
writes ten chunks a second)::

    0x03 ‖ seg (the segment id's 16 hex digits as 8 bytes) ‖ i ‖ seq0 ‖ n ‖ t0 ‖ zigzag(t1 - t0)
         ‖ count of kinds ‖ (kind code ‖ [varint(len) ‖ UTF-8 when the code is 0] ‖ events)*
         ‖ ptlen ‖ ctlen ‖ nonce (12 bytes)

Numbers are unsigned LEB128 varints; ``seq1 = seq0 + n - 1``; ``z`` is always ``zstd``. A kind
code k > 0 names entry k-1 of :data:`KIND_CODES` (fixed for version 3: a new kind is written
by name). Bytes that do not parse give ``{}``, which every check then rejects. A header
that version 3 cannot hold exactly (other keys, ``seq1``, ``z`` or hex spellings the reader
would not give back) is refused when encoded, never stored as a different header.
"""

from __future__ import annotations

from typing import Any

from agent.canonical import canonical_bytes, loads
from agent.seal.chunk_pack import Cursor, unzigzag, varint, zigzag

BINARY_VERSION = 3
SEG_BYTES = 8
NONCE_BYTES = 12
KIND_CODES = (
    "rrweb.mutation",
    "rrweb.input",
    "rrweb.mouse_interaction",
    "rrweb.mouse_move",
    "rrweb.scroll",
    "rrweb.viewport_resize",
    "rrweb.meta",
    "rrweb.full_snapshot",
    "rrweb.selection",
    "rrweb.style_sheet_rule",
    "rrweb.adopted_style_sheet",
    "rrweb.style_declaration",
    "rrweb.canvas",
    "rrweb.custom",
    "capture.heartbeat",
    "capture.degraded",
    "capture.gap",
    "net.request",
    "net.response",
    "net.ws_frame",
    "net.asset",
    "net.failed",
    "clock.tick",
    "clock.jump",
    "page.navigate",
    "page.created",
    "page.closed",
    "page.title",
    "session.start",
    "session.end",
)
_CODE = {k: i + 1 for i, k in enumerate(KIND_CODES)}
KEYS = frozenset(
    ["v", "seg", "i", "seq0", "seq1", "n", "t0", "t1", "kinds", "ptlen", "ctlen", "z", "nonce"]
)


def encode(header: dict[str, Any]) -> bytes:
    """The stored bytes of ``header`` (binary for version 3, canonical JSON before)."""
    if header["v"] != BINARY_VERSION:
        return canonical_bytes(header)
    _check_binary(header)
    out = bytearray([BINARY_VERSION]) + bytes.fromhex(header["seg"])
    for n in (header["i"], header["seq0"], header["n"], header["t0"]):
        varint(out, n)
    zigzag(out, header["t1"] - header["t0"])
    varint(out, len(header["kinds"]))
    for kind, count in header["kinds"].items():
        code = _CODE.get(kind, 0)
        varint(out, code)
        if not code:
            raw = kind.encode()
            varint(out, len(raw))
            out += raw
        varint(out, count)
    varint(out, header["ptlen"])
    varint(out, header["ctlen"])
    return bytes(out + bytes.fromhex(header["nonce"]))


def _check_binary(header: dict[str, Any]) -> None:
    """ValueError unless version 3's bytes parse back to exactly ``header``."""
    if set(header) != KEYS:
        raise ValueError(f"chunk header keys {sorted(set(header) ^ KEYS)} differ from version 3's")
    if header["seq1"] != header["seq0"] + header["n"] - 1:
        raise ValueError("chunk header seq1 is not seq0 + n - 1")
    if header["z"] != "zstd":
        raise ValueError(f"chunk header compression {header['z']!r} is not zstd")
    for key, size in (("seg", SEG_BYTES), ("nonce", NONCE_BYTES)):
        value = header[key]
        if not isinstance(value, str) or len(value) != 2 * size or _hex(value) != value:
            raise ValueError(f"chunk header {key} {value!r} is not {size} bytes of lowercase hex")


def _hex(value: str) -> str:
    try:
        return bytes.fromhex(value).hex()
    except ValueError:
        return ""


def parse(data: bytes) -> dict[str, Any]:
    """The header dict of stored header bytes, or ``{}`` when they do not parse."""
    try:
        if data[:1] == bytes([BINARY_VERSION]):
            return _parse_binary(data)
        obj = loads(data)
    except (ValueError, UnicodeDecodeError):
        return {}
    return obj if isinstance(obj, dict) and obj.get("v") != BINARY_VERSION else {}


def _parse_binary(data: bytes) -> dict[str, Any]:
    cur = Cursor(data, 1)
    seg = cur.take(SEG_BYTES).hex()
    i, seq0, n, t0, zz = (cur.varint() for _ in range(5))
    kinds: dict[str, int] = {}
    for _ in range(cur.varint()):
        code = cur.varint()
        if code > len(KIND_CODES):
            raise ValueError("unknown kind code")
        kind = KIND_CODES[code - 1] if code else cur.take(cur.varint()).decode()
        if kind in kinds:
            raise ValueError("kind named twice")
        kinds[kind] = cur.varint()
    ptlen, ctlen = cur.varint(), cur.varint()
    nonce = cur.take(NONCE_BYTES).hex()
    cur.done()
    return {
        "v": BINARY_VERSION,
        "seg": seg,
        "i": i,
        "seq0": seq0,
        "seq1": seq0 + n - 1,
        "n": n,
        "t0": t0,
        "t1": t0 + unzigzag(zz),
        "kinds": kinds,
        "ptlen": ptlen,
        "ctlen": ctlen,
        "z": "zstd",
        "nonce": nonce,
    }
