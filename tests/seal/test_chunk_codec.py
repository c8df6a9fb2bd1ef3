"""Chunk bodies: versions 2 and 3 move mutation texts and attributes into columns and give
back exactly the records they were given; readers dispatch on the chunk header's version."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import zstandard

from agent.canonical import canonical_bytes, record_bytes
from agent.errors import UnknownVersion
from agent.journal.reader import iter_records
from agent.keys import Keyring
from agent.seal import chunk_codec, chunk_header
from agent.seal import format as fmt
from agent.seal.segment_file import SegmentFile, decode_chunk_raw
from agent.testing import FakeClock
from tests.journals import append_events, open_journal, tamper


def _mutation(seq: int, texts: Any, attributes: Any = None) -> dict[str, Any]:
    data = {"adds": [], "attributes": attributes or [], "removes": [], "source": 0}
    data["texts"] = texts
    return {
        "v": 1,
        "seq": seq,
        "kind": "rrweb.mutation",
        "t_utc_ns": 1_767_225_600_000_000_000 + seq,
        "t_mono_ns": seq,
        "page": "P",
        "payload": {"type": 3, "timestamp": 1_767_225_600_000, "data": data},
    }


def _blotter(seed: int, cells: int) -> list[dict[str, Any]]:
    """Grid updates like a live blotter's: prices as text changes, up/down as class changes."""
    rnd = random.Random(seed)
    out = []
    for seq in range(4):
        ids = [rnd.randrange(100, 2100) for _ in range(cells)]
        texts = [{"id": i, "value": f"{100 + rnd.random() * 50:.2f}"} for i in ids]
        attrs = [{"id": i + 1, "attributes": {"class": rnd.choice(["up", "down"])}} for i in ids]
        out.append(_mutation(seq, texts, attrs))
    return out


EDGE_VALUES = [
    "0", "-0", "10", "0.05", "0.50", "-12.345600", "123456789012345678901234567890.123456",
    "007", "1.", ".5", "1e5", "+1", "1,234.56", "1.2345678", "", " 1", "€ 12", "line\nbreak",
    None,
]  # fmt: skip


def test_version_2_gives_back_exactly_the_records_it_was_given() -> None:
    """Decimals of every shape, strings that only look numeric, nulls and unicode survive;
    items that are not plain {id, value} / {id, attributes} stay in the JSON as they were."""
    recs = _blotter(1, 50)
    recs.append(_mutation(4, [{"id": k, "value": v} for k, v in enumerate(EDGE_VALUES)]))
    recs.append(_mutation(5, [{"id": 1, "value": "2", "extra": 3}], [{"id": -1, "attributes": {}}]))
    recs.append(_mutation(6, [], [{"id": 7, "attributes": {"style": {"color": "red"}, "x": None}}]))
    recs.append(_mutation(7, [{"id": True, "value": "1"}, {"id": 2.0, "value": "1"}]))
    recs.append({**_mutation(8, [{"id": 1, "value": "9"}]), "kind": "rrweb.other"})
    recs.append({"v": 1, "seq": 9, "kind": "clock.tick", "payload": {"texts": 3}})
    body = chunk_codec.encode(recs, 2)
    back = chunk_codec.decode(body, 2)
    assert back == recs
    assert record_bytes(back) == record_bytes(recs)  # types too: no 1 for 1.0 or True


def test_version_2_of_a_blotter_chunk_compresses_smaller_than_version_1() -> None:
    recs = _blotter(2, 200)
    z = zstandard.ZstdCompressor(level=1)
    v1 = len(z.compress(chunk_codec.encode(recs, 1)))
    v2 = len(z.compress(chunk_codec.encode(recs, 2)))
    assert v2 < 0.8 * v1


def test_version_1_body_is_the_records_json() -> None:
    recs = _blotter(3, 5)
    assert chunk_codec.encode(recs, 1) == canonical_bytes(recs)
    assert chunk_codec.decode(canonical_bytes(recs), 1) == recs


@pytest.mark.parametrize("cut", [1, 10, 40])
def test_truncated_version_2_body_does_not_decode(cut: int) -> None:
    body = chunk_codec.encode(_blotter(4, 20), 2)
    with pytest.raises(ValueError):
        chunk_codec.decode(body[:-cut], 2)


def _session(home: Path) -> Path:
    clock = FakeClock()
    j = open_journal(home, clock=clock)
    events = [("rrweb.mutation", r["payload"], None) for r in _blotter(5, 30)]
    append_events(j, clock, events)
    j.close()
    return j.segments[0]


def test_a_segment_with_version_1_chunks_still_reads(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readers dispatch on each chunk's header version: a segment written with version 1
    bodies reads back the same events as one written now."""
    now = [r.payload for r in iter_records(_session(home / "now"), Keyring.load(home / "now"))]
    monkeypatch.setattr(fmt, "CHUNK_HEADER_VERSION", 1)
    seg = _session(home / "v1")
    sf = SegmentFile(seg)
    assert {h["v"] for h in sf.chunk_headers()} == {1}
    sf.close()
    assert [r.payload for r in iter_records(seg, Keyring.load(home / "v1"))] == now


def test_a_chunk_of_an_unknown_version_is_a_clear_error(home: Path) -> None:
    seg = _session(home)
    sf = SegmentFile(seg)
    row = sf.chunk(1)
    sf.close()
    assert row is not None
    header = {**chunk_header.parse(row.header_bytes), "v": 9}
    tamper(seg, "UPDATE chunks SET header = ? WHERE idx = 1", args=(chunk_header.encode(header),))
    sf = SegmentFile(seg)
    try:
        row = sf.chunk(1)
        assert row is not None
        with pytest.raises(UnknownVersion, match="chunk 1: chunk header version 9 is not"):
            decode_chunk_raw(sf, row, sf.cipher(Keyring.load(home)))
    finally:
        sf.close()


def test_a_new_segment_has_small_pages(home: Path) -> None:
    """Chunks live in overflow pages and leaf cells; small pages waste less of each chunk."""
    seg = _session(home)
    with open(seg, "rb") as f:
        header = f.read(18)
    assert int.from_bytes(header[16:18], "big") == fmt.PAGE_SIZE == 512


@pytest.mark.parametrize("tag", [0x02, 0x17, 0x20])
def test_an_unknown_text_tag_does_not_decode(tag: int) -> None:
    rec = _mutation(0, 1)  # the JSON as version 2 writes it: one text in the columns
    head = record_bytes([rec])
    size = bytes([len(head) & 0x7F | 0x80, len(head) >> 7])  # a two-byte varint
    assert 0x80 <= len(head) < 0x4000
    body = size + head + b"\x05" + bytes([tag]) + b"\x01"
    assert chunk_codec.decode(body[:-2] + b"\x12\x01", 2)[0]["payload"]["data"]["texts"] == [
        {"id": 5, "value": "0.01"}
    ]
    with pytest.raises(ValueError, match="unknown text tag"):
        chunk_codec.decode(body, 2)
