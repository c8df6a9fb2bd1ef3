"""Version 3's encoder shortcuts (whole-list checks, the value cache) give the very bytes the
item-by-item encoder gave: digests pinned from that encoder on seeded grids and on seeded
mixes of every shape a hostile page can send, raising the same errors for the same inputs."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import pytest

from agent.mutation_columns import AttrColumns, TextColumns
from agent.seal import chunk_codec, chunk_items

T0 = 1_796_584_309_996_000_000


class _Str(str):
    """A string subclass: never taken by the shortcuts."""


VALUES: list[Any] = [
    "0", "-0", "10", "0.05", "0.50", "-12.345600", "123456789012345678901234567890.123456",
    "1234567890123456789012345678901.5", "-123456789012345678901234567890.123456", "007", "1.",
    ".5", "1e5", "+1", "1,234.56", "1.2345678", "", " 1", "€ 12", "line\nbreak", None, "x" * 38,
    "y" * 39, "Zürich", "12.5", "100.25", "-3", "5", "\ud800", "a\udfffb", 1, 1.5, True, [], {},
    _Str("1.5"), _Str("abc"), b"1",
]  # fmt: skip
PLAIN_VALUES = VALUES[:28]  # strings and null that encode
IDS: list[Any] = [0, 1, 2, 300, 2**62, 2**63 - 1, 2**64, -1, True, 1.0, "3", None]
OBJS: list[Any] = [
    {"class": "up"}, {"class": "down"}, {"class": None}, {}, {"a": "1", "b": "2"},
    {"b": "2", "a": "1"}, {"s": {"k": 1}}, {"n": 1}, {"n": True}, {"l": [1]}, {"x": _Str("u")},
]  # fmt: skip


def _mutation(seq: int, texts: Any, attributes: Any) -> dict[str, Any]:
    data = {"adds": [], "attributes": attributes, "removes": [], "source": 0, "texts": texts}
    return {
        "v": 1,
        "seq": seq,
        "kind": "rrweb.mutation",
        "t_utc_ns": T0 + seq * 50_000_000,
        "t_mono_ns": seq,
        "page": "P",
        "payload": {"type": 3, "timestamp": (T0 + seq * 50_000_000) // 10**6, "data": data},
    }


def _grid_chunk(rnd: random.Random, cells: int) -> list[dict[str, Any]]:
    """Two page updates of a live grid: prices (and now and then a counter), then the class of
    each changed cell; cells repeat across the two updates."""
    recs = []
    for update in range(2):
        ids = [2 * rnd.randrange(10, 1000) + 1 for _ in range(cells)]
        texts = [{"id": i, "value": f"{100 + rnd.random() * 50:.2f}"} for i in ids]
        texts.append({"id": 3, "value": str(rnd.randrange(1000))})
        attrs = [
            {"id": i - 1, "attributes": {"class": rnd.choice(["up", "down"])}}
            for i in ids
            if rnd.random() < 0.8
        ]
        recs += [_mutation(2 * update, texts, []), _mutation(2 * update + 1, [], attrs)]
    return recs


def _text(rnd: random.Random, weird: float) -> Any:
    if rnd.random() >= weird:
        price = f"{100 + rnd.random() * 50:.2f}"
        return {"id": rnd.randrange(3000), "value": rnd.choice([price, *PLAIN_VALUES])}
    return rnd.choice([
        {"id": rnd.choice(IDS), "value": rnd.choice(VALUES)},
        {"id": rnd.choice(IDS), "value": rnd.choice(VALUES)},
        {"id": 1, "value": "1", "x": 2},
        {"id": 1},
        {"value": "1", "idx": 3},
        [1, 2],
    ])  # fmt: skip


def _attribute(rnd: random.Random, weird: float) -> Any:
    if rnd.random() >= weird:
        return {"id": rnd.randrange(3000), "attributes": dict(rnd.choice(OBJS[:6]))}
    return rnd.choice([
        {"id": rnd.choice(IDS), "attributes": rnd.choice(OBJS)},
        {"id": 1, "attributes": "x"},
        {"id": 1, "attributes": {}, "z": 1},
        {"attributes": {}, "idd": 1},
        7,
    ])  # fmt: skip


def _mixed_chunk(rnd: random.Random) -> list[dict[str, Any]]:
    """Mutations of random sizes and shapes: attribute changes of the texts' cells (in order,
    shuffled, or elsewhere) or of any node; now and then an item of another shape."""
    weird = rnd.choice([0, 0, 0.001, 0.01, 0.2])
    recs: list[dict[str, Any]] = []
    for seq in range(rnd.randrange(1, 7)):
        texts: Any = [_text(rnd, weird) for _ in range(rnd.choice([0, 1, 2, 5, 50, 97, 300]))]
        if rnd.random() < 0.5:
            ids = [t["id"] for t in texts if type(t) is dict and type(t.get("id")) is int]
            attrs = [
                {"id": i - 1 if rnd.random() < 0.8 else rnd.randrange(3000),
                 "attributes": dict(rnd.choice(OBJS[:3]))}
                for i in ids if rnd.random() < 0.8
            ]  # fmt: skip
            if rnd.random() < 0.3:
                rnd.shuffle(attrs)
            if weird and attrs and rnd.random() < 0.5:
                attrs[rnd.randrange(len(attrs))] = _attribute(rnd, 1.0)
        else:
            attrs = [_attribute(rnd, weird) for _ in range(rnd.choice([0, 1, 3, 40]))]
        if rnd.random() < 0.05:
            texts = rnd.choice([3, None, {}])
        rec = _mutation(seq, texts, attrs if rnd.random() < 0.95 else rnd.choice([3, None, "x"]))
        if rnd.random() < 0.05:
            rec["kind"] = "rrweb.other"
        recs.append(rec)
    return recs


def _digest(chunks: list[list[dict[str, Any]]]) -> str:
    """One digest of every chunk's version 3 body, or of the error it raised."""
    h = hashlib.sha256()
    for recs in chunks:
        try:
            body = chunk_codec.encode(recs, 3)
        except Exception as exc:  # noqa: BLE001 - the error itself is what is pinned
            body = f"{type(exc).__name__}: {exc}".encode()
        h.update(len(body).to_bytes(8, "little") + body)
    return h.hexdigest()


# Pinned from the item-by-item encoder, before the shortcuts.
GRID_DIGEST = "0d66c00f5712b8c5323ad66d1c9dd0465a544d6f2932854dd226e59a6a7375a5"
MIXED_DIGEST = "326047052dcf9f9455673af1debb5a967002e9a8bbc56bd0403fe776875615cf"


def test_grid_chunks_encode_to_the_bytes_of_the_item_by_item_encoder() -> None:
    rnd = random.Random(11)
    chunks = [_grid_chunk(rnd, cells) for cells in (1, 7, 95, 96, 97, 500, 1000) for _ in range(3)]
    assert _digest(chunks) == GRID_DIGEST


def test_mixed_and_hostile_chunks_encode_or_raise_as_the_item_by_item_encoder() -> None:
    rnd = random.Random(12)
    assert _digest([_mixed_chunk(rnd) for _ in range(600)]) == MIXED_DIGEST


@pytest.mark.parametrize("cap", [1, 3, 50])
def test_a_full_value_cache_is_replaced_without_changing_a_byte(
    cap: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunk_items, "CAP", cap)
    monkeypatch.setattr(chunk_items, "_cache", [chunk_items.Values()])
    rnd = random.Random(11)
    chunks = [_grid_chunk(rnd, cells) for cells in (1, 7, 95, 96, 97, 500, 1000) for _ in range(3)]
    assert _digest(chunks) == GRID_DIGEST
    assert len(chunk_items._cache[0].tags) <= cap  # a list with more new values is not cached


def test_lists_the_shortcuts_refuse_go_item_by_item() -> None:
    """A string subclass, a value too long for a decimal, a lone surrogate: not taken."""
    assert chunk_items.plain_texts([{"id": 1, "value": _Str("1.5")}]) is None
    assert chunk_items.plain_texts([{"id": 1, "value": "9" * 39}]) is None
    assert chunk_items.plain_texts([{"id": 1, "value": "\ud800"}]) is None
    assert chunk_items.plain_texts([{"id": True, "value": "1"}]) is None
    assert chunk_items.plain_texts([{"id": 1, "value": "1"}, {"id": 2}]) is None
    with pytest.raises(UnicodeEncodeError):
        chunk_codec.encode([_mutation(0, [{"id": 1, "value": "\ud800"}], [])], 3)
    taken = chunk_items.plain_texts([{"id": 1, "value": "1.50"}, {"id": 2, "value": None}])
    assert taken is not None and taken[:3] == ([1, 2], bytes([0x12, 0]), ["1.50", None])


def test_attribute_lists_are_taken_exactly_when_every_item_is_plain() -> None:
    assert chunk_items.plain_attributes([{"id": 0, "attributes": {}}]) == ([0], [{}])
    refused: list[Any] = [
        [], None, [{"id": -1, "attributes": {}}], [{"id": 1, "attributes": []}],
        [{"id": 1, "attributes": {}, "x": 1}], [{"id": 1, "attribute": {}}], [3],
    ]  # fmt: skip
    for items in refused:
        assert chunk_items.plain_attributes(items) is None


def _shared(objs: list[Any]) -> list[Any]:
    """``objs`` with equal attribute objects made one shared object, as the agent's parser
    builds them from the recorder's ``{ids, objs, of}`` (a grid's few class flips)."""
    first: dict[str, Any] = {}
    return [first.setdefault(repr(list(o.items())), o) if type(o) is dict else o for o in objs]


def _as_columns(recs: list[dict[str, Any]], shared: bool = False) -> list[dict[str, Any]]:
    """The chunk with each mutation's texts (attribute changes) as TextColumns (AttrColumns)
    wherever every item is exactly ``{id, value}`` (``{id, attributes}``), whatever the
    ids and values: the columns the agent keeps from the recorder, and hostile ones."""
    out = []
    for r in recs:
        data = r["payload"]["data"]
        texts, attrs = data["texts"], data["attributes"]
        new = dict(data)
        if type(texts) is list and all(type(t) is dict and t.keys() == {"id", "value"}
                                       for t in texts):  # fmt: skip
            new["texts"] = TextColumns([t["id"] for t in texts], [t["value"] for t in texts])
        if type(attrs) is list and all(type(a) is dict and a.keys() == {"id", "attributes"}
                                       for a in attrs):  # fmt: skip
            objs = [a["attributes"] for a in attrs]
            new["attributes"] = AttrColumns(
                [a["id"] for a in attrs], _shared(objs) if shared else objs
            )
        out.append({**r, "payload": {**r["payload"], "data": new}})
    return out


def test_texts_and_attribute_changes_in_columns_encode_to_the_bytes_of_their_lists() -> None:
    """Columns (as the recorder sends them) change no byte of a chunk, nor any error raised:
    the grid chunks and the hostile mixes give the digests pinned above, with attribute
    objects shared between changes (coded once per object) or not."""
    for shared in (False, True):
        rnd = random.Random(11)
        grid = [_grid_chunk(rnd, n) for n in (1, 7, 95, 96, 97, 500, 1000) for _ in range(3)]
        assert _digest([_as_columns(c, shared) for c in grid]) == GRID_DIGEST
        rnd = random.Random(12)
        mixed = [_as_columns(_mixed_chunk(rnd), shared) for _ in range(600)]
        assert _digest(mixed) == MIXED_DIGEST
