"""Chunk headers: binary in version 3, canonical JSON before; every version parses to the
same dict, and bytes that do not parse give ``{}`` (which the checks then reject)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from agent.canonical import canonical_bytes
from agent.seal import chunk_dict, chunk_header

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
    ("field", "value"),
    [
        ("seg", "ABCDEF0123456789"),
        ("seg", "12"),
        ("nonce", "00"),
        ("nonce", "F59FFE5A5C00F85A8818AE75"),  # would read back lowercase
        ("seq1", 18),  # the reader derives seq0 + n - 1 = 17
        ("z", "zlib"),  # the reader says zstd
        ("note", "extra"),  # a key the bytes have no room for
    ],
)
def test_a_header_the_binary_form_cannot_hold_is_refused(field: str, value: Any) -> None:
    with pytest.raises(ValueError):
        chunk_header.encode({**HEADER, field: value})


# Version 3's fixed parts: a stored header's kinds and a stored body's dictionary mean what
# they meant when written only while these bytes stay the same. A change is a new version.
GOLDEN_HEADER = (
    "031027a4ecaa8ae067080f0380a6e8b294fdaff71880f48d50020102000d706167652e646f776e6c6f616401"
    "bc3abd14f59ffe5a5c00f85a8818ae75"
)
KIND_CODES_SHA256 = "e608dae6520fceceb31104b96328999bd683d3507215c60783354553ee9762b1"
ZSTD_DICT_SHA256 = "12f2234930ba2abed1595413d96055dd9a6ff46965c1ae8d20e38d8e92a5a4ea"


def test_version_3_header_bytes_kind_codes_and_dictionary_are_pinned() -> None:
    assert chunk_header.encode(HEADER).hex() == GOLDEN_HEADER
    assert chunk_header.parse(bytes.fromhex(GOLDEN_HEADER)) == HEADER
    codes = "\n".join(chunk_header.KIND_CODES).encode()
    assert hashlib.sha256(codes).hexdigest() == KIND_CODES_SHA256
    assert hashlib.sha256(chunk_dict.ZSTD_DICT).hexdigest() == ZSTD_DICT_SHA256
