"""RFC 9162 Merkle tree: published CT test vectors (transparency-dev/merkle) + properties."""

from __future__ import annotations

import random

from agent.seal import merkle

DATA = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
LEAVES = [merkle.leaf_hash(d) for d in DATA]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index 0-based, tree size, audit path) from the published vectors
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def test_roots_match_published_vectors_for_sizes_0_to_8() -> None:
    """MTH over the reference leaves equals the published root at every size."""
    for n in range(0, 9):
        assert merkle.root(LEAVES[:n]).hex() == ROOTS[n]


def test_compact_tree_root_matches_full_computation_at_every_size() -> None:
    """The writer's O(log n) tree gives the same root as the recursive definition."""
    tree = merkle.CompactTree()
    assert tree.root().hex() == ROOTS[0]
    for n, leaf in enumerate(LEAVES, start=1):
        tree.append(leaf)
        assert tree.root().hex() == ROOTS[n]
    rng = random.Random(9162)
    leaves = [merkle.leaf_hash(rng.randbytes(5)) for _ in range(300)]
    tree = merkle.CompactTree()
    for n, leaf in enumerate(leaves, start=1):
        tree.append(leaf)
        if n % 37 == 0 or n in (1, 2, 255, 256, 257):
            assert tree.root() == merkle.root(leaves[:n])


def test_inclusion_proofs_match_published_vectors_and_verify() -> None:
    """Audit paths equal the published ones; they verify, and fail against another root."""
    for index, size, path in INCLUSION:
        proof = merkle.inclusion_proof(index, LEAVES[:size])
        assert [p.hex() for p in proof] == path
        root = bytes.fromhex(ROOTS[size])
        assert merkle.verify_inclusion(LEAVES[index], index, size, proof, root)
        assert not merkle.verify_inclusion(
            LEAVES[index], index, size, proof, bytes.fromhex(ROOTS[size - 1])
        )
        assert not merkle.verify_inclusion(LEAVES[(index + 1) % size], index, size, proof, root)


def test_consistency_proofs_match_published_vectors_and_verify() -> None:
    """Consistency proofs equal the published ones and verify between the two roots."""
    for m, n, path in CONSISTENCY:
        proof = merkle.consistency_proof(m, LEAVES[:n])
        assert [p.hex() for p in proof] == path
        assert merkle.verify_consistency(
            m, n, proof, bytes.fromhex(ROOTS[m]), bytes.fromhex(ROOTS[n])
        )
        if m != n:
            assert not merkle.verify_consistency(
                m, n, proof, bytes.fromhex(ROOTS[m - 1]), bytes.fromhex(ROOTS[n])
            )


def test_every_proof_verifies_in_ragged_trees_and_a_flipped_leaf_fails() -> None:
    """Inclusion and consistency round-trip for all sizes up to 33; tampering is caught."""
    rng = random.Random(6962)
    for n in range(1, 34):
        leaves = [merkle.leaf_hash(rng.randbytes(4)) for _ in range(n)]
        r = merkle.root(leaves)
        for i in range(n):
            proof = merkle.inclusion_proof(i, leaves)
            assert merkle.verify_inclusion(leaves[i], i, n, proof, r)
            bad = bytes([leaves[i][0] ^ 1]) + leaves[i][1:]
            assert not merkle.verify_inclusion(bad, i, n, proof, r)
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(m, leaves)
            assert merkle.verify_consistency(m, n, proof, merkle.root(leaves[:m]), r)
