"""Seal stage: leaf hashes, hash chain, RFC 9162 Merkle tree, signed checkpoints and seals.

It owns what a sealed segment is and how it is checked: ``chain`` (leaves, chain heads),
``merkle``, ``checkpoint`` (signed bodies), ``crypto`` (chunk encryption), ``format`` and
``segment_file`` (the file and its read-only view), ``timestamp`` (RFC 3161) and ``verify``.
Nothing here imports :mod:`agent.journal`; the journal writes segments with these modules.
"""
