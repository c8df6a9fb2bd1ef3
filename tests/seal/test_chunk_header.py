"""Chunk headers: binary in version 3, canonical JSON before; every version parses to the
same dict, and bytes that do not parse give ``{}`` (which the checks then reject)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.canonical import canonical_bytes
from agent.seal import chunk_header

HEADER: dict[str, Any] = {
    "v": 3,
    "seg": "1027a4ecaa8ae067",
    "i": 8,
    "seq0": 15,
    "seq1": 17,
    "n": 3,
    "t0": 1_796_584_309_996_000_000,
    "t1": 1_796_584_310_080_000_000,
    "kinds": {"rrweb.mutation": 2, "page.download": 1},
    "ptlen": 7484,
    "ctlen": 2621,
    "z": "zstd",
    "nonce": "f59ffe5a5c00f85a8818ae75",
}


@pytest.mark.parametrize(
    "change",
    [{}, {"t1": HEADER["t0"] - 5}, {"t1": HEADER["t0"]}, {"kinds": {}}, {"i": 2**40}],
)
def test_a_version_3_header_round_trips_in_a_fraction_of_the_json(change: dict[str, Any]) -> None:
    header = {**HEADER, **change}
    raw = chunk_header.encode(header)
    assert chunk_header.parse(raw) == header
    assert len(raw) < len(canonical_bytes(header)) / 3


def test_earlier_versions_stay_canonical_json() -> None:
    header = {**HEADER, "v": 2}
    raw = chunk_header.encode(header)
    assert raw == canonical_bytes(header)
    assert chunk_header.parse(raw) == header


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x03", b"\x03" + b"\x00" * 8, b"[1]", b"not json", canonical_bytes({**HEADER})],
)
def test_bytes_that_are_no_header_parse_to_nothing(raw: bytes) -> None:
    """Truncated binary, JSON that is no object, and a JSON header claiming version 3."""
    assert chunk_header.parse(raw) == {}


def test_every_truncation_and_a_trailing_byte_parse_to_nothing() -> None:
    raw = chunk_header.encode(HEADER)
    for cut in range(1, len(raw)):
        assert chunk_header.parse(raw[:cut]) == {}
    assert chunk_header.parse(raw + b"\x00") == {}


@pytest.mark.parametrize(
    ("field", "value"), [("seg", "ABCDEF0123456789"), ("seg", "12"), ("nonce", "00")]
)
def test_a_header_the_binary_form_cannot_hold_is_refused(field: str, value: str) -> None:
    with pytest.raises(ValueError):
        chunk_header.encode({**HEADER, field: value})
