"""Replay, export and offline verification of recorded sessions (issue #7).

``session``  a verified, indexed view of one session (events by seq, keyframes, timeline)
``proofs``   Merkle inclusion proofs of chunks against seal/checkpoint roots
``server``   the local viewer (aiohttp on 127.0.0.1, per-launch token)
``export``   evidence bundles; ``bundle_verify`` checks them offline
"""
