"""The compiled packer (agent/seal/_packc.c) writes exactly the reference packer's bytes, and
leaves to the reference what does not fit its 64-bit words without touching the output."""

from __future__ import annotations

import random

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
