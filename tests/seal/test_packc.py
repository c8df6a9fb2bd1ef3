"""The compiled packer (agent/seal/_packc.c) writes exactly the reference packer's bytes, and
leaves to the reference what does not fit its 64-bit words without touching the output."""

from __future__ import annotations

import random
from typing import Any

import pytest

from agent.seal import _packc, chunk_pack

G = chunk_pack.GROUP
TOP = 2**64 - 1

EDGES: list[list[int]] = [
    [],
    [0],
    [TOP],
    [7] * (G + 1),  # r = 1: nothing but lo and r
    list(range(3 * G + 5)),  # groups of G, the last partial
    [0, TOP - 1] * 100,  # the widest range that fits: r = 2**64 - 1
    [TOP - 1] * G + [0, 5] * 3,  # a group's lo below the one before: a negative zigzag
    [2**32, 0] * G,  # r just past a 32-bit word
    [5001 * k % 5001 + 10_000 for k in range(1000)],  # a grid's prices
    [G - 1 - k for k in range(G)] + [10**15 + k for k in range(G)],  # lo jumps up, r as well
]


def _random_columns(n: int) -> list[list[int]]:
    rnd = random.Random(20261207)
    out = []
    for _ in range(n):
        count = rnd.choice([1, 2, 3, G - 1, G, G + 1, 2 * G, 2 * G + 1, 500])
        bits = rnd.choice([1, 2, 3, 8, 12, 13, 16, 21, 31, 32, 33, 40, 63, 64])
        base = rnd.randrange(0, 2**64 - 2**bits + 1) if rnd.random() < 0.3 else 0
        out.append([base + rnd.randrange(0, 2**bits) for _ in range(count)])
    return out


@pytest.mark.parametrize("values", EDGES + _random_columns(400))
def test_compiled_packer_writes_the_reference_bytes(values: list[int]) -> None:
    ref, fast = bytearray(b"head"), bytearray(b"head")
    chunk_pack.pack_reference(ref, values)
    _packc.pack(fast, values)
    assert fast == ref
    assert chunk_pack.Cursor(bytes(fast), 4).unpack(len(values)) == values


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ([1, -1], OverflowError),
        ([2**64], OverflowError),
        ([0, TOP], OverflowError),  # r would be 2**64
        ([1, True], TypeError),
    ],
)
def test_what_does_not_fit_is_refused_untouched_and_packed_by_the_reference(
    values: list[int], error: type[Exception]
) -> None:
    out = bytearray(b"head")
    with pytest.raises(error):
        _packc.pack(out, values)
    assert out == b"head"
    ref, via = bytearray(), bytearray()
    chunk_pack.pack_reference(ref, values)
    chunk_pack.pack(via, values)
    assert via == ref and via


def test_group_size_is_the_one_the_decoder_reads() -> None:
    assert _packc.GROUP == chunk_pack.GROUP


TAGS = {None: 0, "x": 1, "1.50": 0x12}


@pytest.mark.parametrize(
    ("ids", "values"),
    [
        ([], []),  # nothing to move
        ([1, 2], ["x"]),  # lengths differ
        ([1, True], ["x", "x"]),  # a bool is not an id
        ([1, -1], ["x", "x"]),
        ([1, -(2**70)], ["x", "x"]),
        ([1, 2.0], ["x", "x"]),
        ([1, 2], ["x", 1.5]),  # a value that is neither a string nor null
        ([1, 2], ["x", b"x"]),
        ((1, 2), ["x", "x"]),  # columns are lists
    ],
)
def test_text_tags_refuse_texts_that_are_not_plain(ids: Any, values: Any) -> None:
    assert _packc.text_tags(ids, values, TAGS) is None


def test_text_tags_are_the_cached_tags_with_the_places_of_unknown_values() -> None:
    assert _packc.text_tags([0, 2**70, 5], ["1.50", None, "x"], TAGS) == (bytes([0x12, 0, 1]), [])
    got = _packc.text_tags([0, 1, 2, 3], ["2.25", "1.50", "9", "2.25"], TAGS)
    assert got == (bytes([0, 0x12, 0, 0]), [0, 2, 3])
    assert _packc.text_tags([0, 1, -1], ["2.25", "1.50", "x"], TAGS) is None  # shape wins


def test_tag_numbers_are_the_codecs() -> None:
    assert (_packc.NULL_TAG, _packc.STRING_TAG) == (chunk_pack.NULL, chunk_pack.STRING)


def test_known_columns_append_each_tags_values_in_first_use_order() -> None:
    """Strings to the string bytes, each decimal tag's mantissas to its own column, a column
    made on first use after the ones already there; NULL adds nothing."""
    mantissas: dict[str | None, int] = {"1.50": 150, "2": 2, "-3.5": 35}
    strings: dict[str | None, bytes] = {"ab": b"\x02ab"}
    by_tag: dict[int, list[int]] = {0x11: [7]}
    out = bytearray(b"s")
    tags = bytes([0x12, 0x10, 1, 0, 0x12, 0x19])
    values: list[str | None] = ["1.50", "2", "ab", None, "1.50", "-3.5"]
    _packc.known_columns(tags, values, mantissas, strings, by_tag, out)
    assert out == b"s\x02ab"
    assert by_tag == {0x11: [7], 0x12: [150, 150], 0x10: [2], 0x19: [35]}
    assert list(by_tag) == [0x11, 0x12, 0x10, 0x19]
    with pytest.raises(KeyError):
        _packc.known_columns(bytes([0x12]), ["9.99"], mantissas, strings, by_tag, out)


def _reference_indexes(xs: Any, below: int) -> bool:
    """The Python checks the compiled ``indexes`` replaced in the recorder's message parser."""
    if type(xs) is not list:
        return False
    if not xs:
        return True
    return {int} == set(map(type, xs)) and min(xs) >= 0 and (below < 0 or max(xs) < below)


@pytest.mark.parametrize(
    ("xs", "below"),
    [
        ([], -1),
        ([], 0),
        ([0, 5, 2**70], -1),  # past a 64-bit word is still an index
        ([0, 5, 2**70], 6),  # ...but not under a bound
        ([0, 5], 6),
        ([0, 6], 6),
        ([0, -1], -1),
        ([0, -(2**70)], -1),
        ([0, True], -1),  # a bool is not an index
        ([0, 1.0], -1),
        ([0, "1"], -1),
        ((0, 1), -1),  # a column is a list
        (None, -1),
    ],
)
def test_indexes_agree_with_the_python_checks(xs: Any, below: int) -> None:
    assert _packc.indexes(xs, below) is _reference_indexes(xs, below)


@pytest.mark.parametrize(
    ("values", "n", "ok"),
    [
        ([], 0, True),
        (["a", None, ""], 3, True),
        (["a", None], 3, False),  # not as many as the ids
        (["a", 1], 2, False),
        (["a", b"a"], 2, False),
        (["a", ["a"]], 2, False),
        (("a",), 1, False),  # a column is a list
        ({"a": 1}, 1, False),
    ],
)
def test_text_values_take_lists_of_strings_and_nulls_of_the_given_length(
    values: Any, n: int, ok: bool
) -> None:
    assert _packc.text_values(values, n) is ok


def test_first_places_add_each_new_id_at_its_earliest_position_after_start() -> None:
    first = {7: 0}
    ids = [7, 3, 9, 3, 7, 9, 2**70, 4]
    _packc.first_places(ids, 1, first)
    # 7 was already indexed: it keeps its place; each other id its earliest place from 1 on
    assert first == {7: 0, 3: 1, 9: 2, 2**70: 6, 4: 7}
    _packc.first_places(ids, len(ids), first)  # nothing new past the end
    assert first == {7: 0, 3: 1, 9: 2, 2**70: 6, 4: 7}
    fresh: dict[int, int] = {}
    _packc.first_places([5, 5, 6], 0, fresh)
    assert fresh == {5: 0, 6: 2}
