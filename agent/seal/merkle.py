"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and proof checks.

Leaf hash ``SHA-256(0x00 || leaf)``, node hash ``SHA-256(0x01 || left || right)``;
the tree over n leaves splits at the largest power of two smaller than n (RFC 9162 §2.1.1).
Functions take the *leaf hashes* (the journal stores them), not leaf data.

:class:`CompactTree` appends in O(log n) and gives the root at any size - what the journal
writer uses per chunk; :func:`root`, :func:`inclusion_proof`, :func:`consistency_proof` work
on a full list of leaf hashes (verify, export); ``verify_*`` implement RFC 9162 §2.1.3.2
and §2.1.4.2 literally.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): audit path for leaf ``index`` in the tree of ``leaves``."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} outside tree of size {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return inclusion_proof(index, leaves[:k]) + [root(leaves[k:])]
    return inclusion_proof(index - k, leaves[k:]) + [root(leaves[:k])]


def consistency_proof(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): proof that the tree of size m is a prefix of the tree of ``leaves``."""
    n = len(leaves)
    if not 0 < m <= n:
        raise ValueError(f"consistency from size {m} to {n} is undefined")
    return _subproof(m, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [root(leaves)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaves[:k], b) + [root(leaves[k:])]
    return _subproof(m - k, leaves[k:], False) + [root(leaves[:k])]


def _left_siblings(fn: int, sn: int, path: Sequence[bytes]) -> list[bool] | None:
    """RFC 9162's walk of ``fn`` and ``sn`` along ``path``, shared by both verifiers.

    For each path element, whether it is a left sibling (hashed on the left); ``None`` when
    the path is longer than the walk or does not end at the root (``sn`` not 0).
    """
    sides: list[bool] = []
    for _ in path:
        if sn == 0:
            return None
        left = bool(fn & 1) or fn == sn
        sides.append(left)
        if left and not fn & 1:
            while True:
                fn >>= 1
                sn >>= 1
                if fn & 1 or fn == 0:
                    break
        fn >>= 1
        sn >>= 1
    return sides if sn == 0 else None


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show leaf hash ``leaf`` at ``index`` under the root."""
    if index >= size:
        return False
    sides = _left_siblings(index, size - 1, proof)
    if sides is None:
        return False
    r = leaf
    for p, left in zip(proof, sides, strict=True):
        r = node_hash(p, r) if left else node_hash(r, p)
    return r == expected_root


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> bool:
    """RFC 9162 §2.1.4.2: does ``proof`` show the size1 tree is a prefix of the size2 tree."""
    if size1 > size2:
        return False
    if size1 == size2:
        return len(proof) == 0 and root1 == root2
    if size1 == 0:
        return False  # RFC 9162: consistency with an empty tree is not proven by a proof
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # exact power of two: first_hash is root1
        path = [root1] + path
    if not path:
        return False
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    sides = _left_siblings(fn, sn, path[1:])
    if sides is None:
        return False
    fr = sr = path[0]
    for c, left in zip(path[1:], sides, strict=True):
        if left:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
        else:
            sr = node_hash(sr, c)
    return fr == root1 and sr == root2


class CompactTree:
    """Append-only Merkle tree keeping only the O(log n) perfect-subtree roots."""

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (height, hash), heights strictly decreasing
        self.size = 0

    def append(self, leaf: bytes) -> None:
        """Add a leaf hash."""
        h, node = 0, leaf
        while self._stack and self._stack[-1][0] == h:
            _, left = self._stack.pop()
            node = node_hash(left, node)
            h += 1
        self._stack.append((h, node))
        self.size += 1

    def root(self) -> bytes:
        """The RFC 9162 root of the leaves appended so far."""
        if not self._stack:
            return EMPTY_ROOT
        acc = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            acc = node_hash(left, acc)
        return acc
