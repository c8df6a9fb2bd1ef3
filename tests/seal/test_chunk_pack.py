"""Chunk body version 3: packed columns, attribute changes coded against the texts, envelopes as
deltas; decoding gives back exactly the records it was given, types included."""

from __future__ import annotations

import random
from typing import Any

import pytest
import zstandard

from agent.canonical import record_bytes
from agent.mutation_columns import AttrColumns, TextColumns
from agent.seal import chunk_codec, chunk_dict, chunk_pack
from tests.seal.test_chunk_codec import EDGE_VALUES, _blotter, _mutation

T0 = 1_796_584_309_996_000_000


def _roundtrip(recs: list[dict[str, Any]]) -> bytes:
    body = chunk_codec.encode(recs, 3)
    back = chunk_codec.decode(body, 3)
    assert back == recs
    assert record_bytes(back) == record_bytes(recs)  # types too: no 1 for 1.0 or True
    columns = chunk_codec.decode(body, 3, columns=True)
    assert [_listed(r) for r in columns] == recs
    assert record_bytes([_listed(r) for r in columns]) == record_bytes(recs)
    return body


def _listed(rec: Any) -> Any:
    """A record decoded with ``columns=True``, its column objects iterated into lists."""
    data = rec.get("payload", {}).get("data") if isinstance(rec.get("payload"), dict) else None
    if not isinstance(data, dict):
        return rec
    moved = {k: list(v) for k, v in data.items() if isinstance(v, TextColumns | AttrColumns)}
    return {**rec, "payload": {**rec["payload"], "data": {**data, **moved}}} if moved else rec


def test_columns_hold_a_grid_chunks_lists_without_a_dict_per_change() -> None:
    """Decoded with ``columns=True``, a grid's texts and class changes are columns: the ids,
    the values, and the class objects shared from the chunk's table."""
    grid = CASES["a live grid's chunk"]
    texts, classes = chunk_codec.decode(chunk_codec.encode(grid, 3), 3, columns=True)
    t, a = texts["payload"]["data"]["texts"], classes["payload"]["data"]["attributes"]
    assert isinstance(t, TextColumns) and isinstance(a, AttrColumns)
    sent_texts = grid[0]["payload"]["data"]["texts"]
    sent_attrs = grid[1]["payload"]["data"]["attributes"]
    assert t.ids == [x["id"] for x in sent_texts]
    assert t.values == [x["value"] for x in sent_texts]
    assert a.ids == [x["id"] for x in sent_attrs]
    assert a.objs == [x["attributes"] for x in sent_attrs]
    assert len({id(o) for o in a.objs}) == 2  # one object per distinct value


def _grid(seq: int, ids: list[int], values: list[str]) -> list[dict[str, Any]]:
    """A text mutation and the class changes of the same cells, as the recorder sends them."""
    texts = [{"id": i, "value": v} for i, v in zip(ids, values, strict=True)]
    attrs = [
        {"id": i - 1, "attributes": {"class": "up" if k % 3 else "down"}} for k, i in enumerate(ids)
    ]
    recs = [_mutation(seq, texts), _mutation(seq + 1, [], attrs)]
    for r in recs:
        r["t_utc_ns"] = T0 + r["seq"] * 50_000_000
        r["payload"]["timestamp"] = r["t_utc_ns"] // 1_000_000
    return recs


CASES: dict[str, list[dict[str, Any]]] = {
    "edge text values": [_mutation(0, [{"id": k, "value": v} for k, v in enumerate(EDGE_VALUES)])],
    "non-ascii and surrogate-free unicode": [
        _mutation(0, [{"id": 1, "value": "Zürich ≈ 東京 🙂"}, {"id": 2, "value": "-0.00"}])
    ],
    "huge ids and id 0": [_mutation(0, [{"id": 2**63 - 1, "value": "1"}, {"id": 0, "value": "2"}])],
    "empty lists": [_mutation(0, [], [])],
    "attribute values null, nested, empty": [
        _mutation(0, [], [
            {"id": 3, "attributes": {"class": None}},
            {"id": 4, "attributes": {}},
            {"id": 5, "attributes": {"style": {"color": "red"}, "x": None}},
            {"id": 6, "attributes": {"a": "1", "b": "2"}},
            {"id": 7, "attributes": {"b": "2", "a": "1"}},
        ])
    ],
    "attribute values that equal in python but not in json": [
        _mutation(0, [], [
            {"id": 1, "attributes": {"n": 1}},
            {"id": 2, "attributes": {"n": True}},
            {"id": 3, "attributes": {"n": 1.0}},
            {"id": 4, "attributes": {"n": "1"}},
            {"id": 5, "attributes": {"n": "1"}},
        ])
    ],
    "attributes before, after and apart from their texts": [
        _mutation(0, [], [{"id": 9, "attributes": {"class": "up"}}]),
        _mutation(1, [{"id": 10, "value": "1.00"}, {"id": 10, "value": "2.00"}]),
        _mutation(2, [], [
            {"id": 9, "attributes": {"class": "up"}},
            {"id": 9, "attributes": {"class": "down"}},
            {"id": 500, "attributes": {"class": "up"}},
        ]),
        _mutation(3, [{"id": 1, "value": "3"}], [{"id": 0, "attributes": {"class": "up"}}]),
    ],
    "a live grid's chunk": _grid(0, [29 + 2 * (k * 37 % 500) for k in range(201)],
                                 [f"{100 + (k * 7919 % 5000) / 100:.2f}" for k in range(201)]),
    "group boundaries": [
        _mutation(0, [{"id": k, "value": str(k)} for k in range(chunk_pack.GROUP + 1)]),
        _mutation(1, [{"id": 7, "value": "5"} for _ in range(chunk_pack.GROUP)]),
    ],
    "mutation lists that are not columnar": [
        _mutation(0, 3, 4),
        _mutation(1, [{"id": 1, "value": "2", "extra": 3}], [{"id": -1, "attributes": {}}]),
        _mutation(2, [{"id": True, "value": "1"}, {"id": 2.0, "value": "1"}]),
        {**_mutation(3, [{"id": 1, "value": "9"}]), "kind": "rrweb.other"},
    ],
    "envelopes of every shape": [
        {"v": 1, "kind": "clock.tick", "payload": {"texts": 3}},
        {"v": 1, "seq": True, "t_utc_ns": 5, "t_mono_ns": 1, "kind": "a.b"},
        {"v": 1, "seq": 7, "t_utc_ns": 5, "t_mono_ns": 9, "kind": "a.b", "payload": None},
        {"v": 1, "seq": 3, "t_utc_ns": -5, "t_mono_ns": 2**63 - 1, "kind": "a.b"},
        {"v": 1, "seq": 4, "t_utc_ns": T0, "t_mono_ns": 1, "payload": {"timestamp": T0 // 10**6}},
        {"v": 1, "seq": 5, "t_utc_ns": T0 - 10**6, "t_mono_ns": 1, "payload": {"timestamp": 1}},
        {"v": 1, "seq": 6, "t_utc_ns": T0 + 1, "t_mono_ns": 1.5, "payload": {"timestamp": "x"}},
        {"v": 1, "seq": 6, "t_utc_ns": T0 + 7, "t_mono_ns": 0, "payload": [1]},
    ],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_version_3_gives_back_exactly_the_records_it_was_given(name: str) -> None:
    _roundtrip(CASES[name])


def test_random_records_of_mixed_shapes_round_trip() -> None:
    """A seeded mix of the shapes above, in random orders and sizes."""
    rnd = random.Random(7)
    values = [*EDGE_VALUES, "12.5", "100.25", "-3", "x" * 300]
    for _ in range(200):
        recs: list[dict[str, Any]] = []
        for seq in range(rnd.randrange(1, 8)):
            ids = [rnd.choice([0, 1, 2, 300, 2**62]) for _ in range(rnd.randrange(0, 120))]
            texts = [{"id": i, "value": rnd.choice(values)} for i in ids]
            attrs = [
                {"id": rnd.choice([i - 1, i, 5]), "attributes": rnd.choice(
                    [{"class": "up"}, {"class": None}, {}, {"s": {"k": 1}}, {"n": 1}]
                )}
                for i in ids if rnd.random() < 0.7
            ]  # fmt: skip
            rec = _mutation(seq, texts, attrs)
            rec["t_utc_ns"] = rnd.choice([T0 + seq * 10**6, T0 - seq, 0])
            recs.append(rec)
        _roundtrip(recs)


def test_a_live_grid_chunk_is_a_third_smaller_than_version_2() -> None:
    recs = _grid(0, [29 + 2 * random.Random(k).randrange(1000) for k in range(400)],
                 [f"{100 + random.Random(-k).random() * 50:.2f}" for k in range(400)])  # fmt: skip
    v2 = len(zstandard.ZstdCompressor(level=1).compress(chunk_codec.encode(recs, 2)))
    z3 = zstandard.ZstdCompressor(level=1, dict_data=chunk_dict.zstd_dict())
    v3 = len(z3.compress(_roundtrip(recs)))
    assert v3 < 0.67 * v2


def test_the_class_changes_of_the_texts_cells_cost_about_a_bit_each() -> None:
    """Attribute ids coded against the texts (a bitmap) and values from the table."""
    ids = [29 + 2 * k for k in range(200)]
    recs = _grid(0, ids, ["1.00"] * 200)
    without = _grid(0, ids, ["1.00"] * 200)
    without[1]["payload"]["data"]["attributes"] = []
    extra = len(_roundtrip(recs)) - len(chunk_codec.encode(without, 3))
    assert extra < 100  # ~two bits a change (place and value), the table and group headers


@pytest.mark.parametrize("cut", [1, 2, 10, 100])
def test_truncated_or_extended_version_3_body_does_not_decode(cut: int) -> None:
    body = _roundtrip(_blotter(4, 60))
    with pytest.raises(ValueError):
        chunk_codec.decode(body[:-cut], 3)
    with pytest.raises(ValueError):
        chunk_codec.decode(body + b"\x00" * cut, 3)


def test_a_packed_group_out_of_its_range_does_not_decode() -> None:
    """A group whose number exceeds r**count is not silently read modulo r."""
    out = bytearray()
    chunk_pack.pack(out, [0, 2, 1])
    out[-1] = 0xFF
    with pytest.raises(ValueError, match="out of range"):
        chunk_pack.Cursor(bytes(out)).unpack(3)


@pytest.mark.parametrize("tag", [0x10, 0x18, 0x11, 0x12, 0x1A, 0x16, 0x1E])
def test_decoded_decimal_columns_match_one_by_one_through_the_kept_strings(
    tag: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The column decoder, with its kept strings filled, partly hit and cleared at its cap,
    gives each value as :func:`chunk_pack.decimal` does alone."""
    monkeypatch.setattr(chunk_pack, "_DECIMALS", {})
    monkeypatch.setattr(chunk_pack, "DECIMALS_KEPT", 500)
    rng = random.Random(tag)
    edges = [0, 1, 5, 9, 10, 99, 100, 101, 999_999, 1_000_000, 10**29 + 7]
    for size in (5, 300, 300, 40, 2000, 3):
        column = edges + [rng.randrange(10 ** rng.randrange(1, 12)) for _ in range(size)]
        assert chunk_pack.decimals(tag, column) == [chunk_pack.decimal(tag, m) for m in column]
        assert len(chunk_pack._DECIMALS[tag]) <= max(500, len(set(column)))
