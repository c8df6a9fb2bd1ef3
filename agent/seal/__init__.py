"""Seal stage: leaf hashes, hash chain, RFC 9162 Merkle tree, signed checkpoints and seals."""
