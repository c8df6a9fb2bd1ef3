"""Golden vectors: canonical bytes, leaf hashes and signatures are pinned byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.canonical import canonical_bytes, sha256_hex
from agent.config import Config
from agent.errors import InvalidEvent
from agent.journal.journal import Journal
from agent.journal.reader import SegmentFile
from agent.seal import chunk_header, merkle
from agent.testing import FakeClock, make_event

GOLDEN = [
    ({}, b"{}", "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"),
    (
        {"b": 1, "a": 2},
        b'{"a":2,"b":1}',
        "d3626ac30a87e6f7a6428233b3c68299976865fa5508e4267c5415c76af7a772",
    ),
    (
        {
            "z": [1, True, False, None, "x"],
            "\u00e9": "\u00fc",
            "A": {"nested": {"k": -9223372036854775808}},
        },
        b'{"A":{"nested":{"k":-9223372036854775808}},"z":[1,true,false,null,"x"],'
        b'"\xc3\xa9":"\xc3\xbc"}',
        "0e10aed68d9f05916d9e3599a10a14067535786d416ab07f50bb0b19ea7fd705",
    ),
    (
        {
            "ctrl": "tab\there\nnl\u0001",
            "quote": '"\\',
            "emoji": "\U0001f600",
            "big": 18446744073709551615,
        },
        b'{"big":18446744073709551615,"ctrl":"tab\\there\\nnl\\u0001","emoji":"\xf0\x9f\x98\x80",'
        b'"quote":"\\"\\\\"}',
        "15eeb0d9e8dd6be85518abbb11a4514e07f5bcdbb190f56cc7ea92009f4c125a",
    ),
]

CHECKPOINT = {
    "v": 2,
    "type": "checkpoint",
    "seg": "00112233aabbccdd",
    "session": "20260101T000000Z-00000000",
    "genesis_hash": "00" * 32,
    "n": 0,
    "tree_size": 1,
    "root": "11" * 32,
    "chain_head": "22" * 32,
    "seq_last": 9,
    "t_utc_ns": 1767225600000000000,
    "t_mono_ns": 1000000000,
    "key_id": "ed25519:0000000000000000",
    "prev": "00" * 32,
}
CHECKPOINT_SIG = (
    "3f6201f3ec20a6116c69a8b34a5e23ed6d5c891b8231565dbf6fcbd04c07aebad"
    "3a5e30bff3c456483739ac06f3ce534bb5ad667720c4820539cde6cc544790c"
)
HEADER = {
    "v": 1,
    "seg": "00112233aabbccdd",
    "i": 0,
    "seq0": 0,
    "seq1": 9,
    "n": 10,
    "t0": 1767225600000000000,
    "t1": 1767225600500000000,
    "kinds": {"clock.tick": 10},
    "ptlen": 100,
    "ctlen": 80,
    "z": "zstd",
}
HEADER_BYTES = (
    b'{"ctlen":80,"i":0,"kinds":{"clock.tick":10},"n":10,"ptlen":100,'
    b'"seg":"00112233aabbccdd","seq0":0,"seq1":9,"t0":1767225600000000000,'
    b'"t1":1767225600500000000,"v":1,"z":"zstd"}'
)
LEAF = "dc61cc49d4d6ba65d00de9e52841ef93ec084911aca1d845c4498fe81252d45a"


@pytest.mark.parametrize("obj,expected,digest", GOLDEN)
def test_canonical_bytes_match_golden_vectors(obj: object, expected: bytes, digest: str) -> None:
    """Sorted keys, UTF-8, no whitespace, integers: exact bytes and their SHA-256."""
    assert canonical_bytes(obj) == expected
    assert sha256_hex(expected) == digest


@pytest.mark.parametrize(
    "obj", [{"x": 1.5}, {"x": [0.0]}, {"x": b"raw"}, {1: "int key"}, {"x": 2**64}]
)
def test_floats_bytes_and_non_string_keys_are_refused(obj: object) -> None:
    """Anything without one canonical text (floats, bytes, int keys, >64-bit ints) raises."""
    with pytest.raises(InvalidEvent):
        canonical_bytes(obj)


def test_checkpoint_body_and_ed25519_signature_are_pinned() -> None:
    """Ed25519 is deterministic: a fixed key signs the canonical checkpoint to fixed bytes."""
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    body = canonical_bytes(CHECKPOINT)
    assert body.startswith(b'{"chain_head":"2222') and body.endswith(b'"type":"checkpoint","v":2}')
    assert key.sign(body).hex() == CHECKPOINT_SIG


def test_chunk_header_and_leaf_hash_are_pinned() -> None:
    """leaf = SHA-256(0x00 || canonical header || ciphertext) on fixed inputs."""
    assert canonical_bytes(HEADER) == HEADER_BYTES
    assert merkle.leaf_hash(HEADER_BYTES + bytes(range(80))).hex() == LEAF
    assert hashlib.sha256(b"\x00" + HEADER_BYTES + bytes(range(80))).hexdigest() == LEAF


def test_written_segments_store_the_rfc9162_leaf_of_header_and_ciphertext(
    home: Path, cfg: Config
) -> None:
    """The writer's stored leaf is exactly merkle.leaf_hash(header || ciphertext)."""
    clock = FakeClock()
    j = Journal.open(home, cfg, clock=clock)
    j.append_many([make_event(clock=clock)])
    j.close()
    seg = SegmentFile(j.segments[0])
    for row in seg.iter_chunks():
        assert row.leaf == merkle.leaf_hash(row.header_bytes + row.ciphertext)
        assert chunk_header.encode(row.header) == row.header_bytes
    seg.close()
