"""Reading a session's events back: chunk bodies decoded into event records.

The segment file itself (format dispatch, rows, decryption) is read by
:class:`agent.seal.segment_file.SegmentFile`, which this module re-exports so that callers
reading events need one import. Reading never verifies; :mod:`agent.seal.verify` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from agent.events import Record
from agent.keys import Keyring
from agent.seal.crypto import ChunkCipher
from agent.seal.segment_file import ChunkRow, SegmentFile, decode_chunk_raw

__all__ = ["SegmentFile", "decode_chunk", "iter_records"]


def decode_chunk(
    seg: SegmentFile, row: ChunkRow, cipher: ChunkCipher, *, columns: bool = False
) -> list[Record]:
    """Decrypt one chunk into :class:`Record` objects (``columns``: see
    :func:`agent.seal.chunk_codec.decode`)."""
    return [
        Record.from_dict(r, chunk=row.idx, segment=seg.segment_id)
        for r in decode_chunk_raw(seg, row, cipher, columns=columns)
    ]


def iter_records(path: Path, keyring: Keyring, *, columns: bool = False) -> Iterator[Record]:
    """Every event record of a segment, in seq order (decrypts; does not verify).

    ``columns``: a mutation's texts and attribute changes may come as
    :class:`agent.mutation_columns.TextColumns` and ``AttrColumns`` (iterable, read only)."""
    seg = SegmentFile(path)
    try:
        cipher = seg.cipher(keyring)
        for row in seg.iter_chunks():
            yield from decode_chunk(seg, row, cipher, columns=columns)
    finally:
        seg.close()
