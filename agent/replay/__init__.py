"""Replay, export and offline verification of recorded sessions.

``session``        a verified, indexed view of one session (events by seq, keyframes, timeline)
``integrity``      the integrity badge of a session, from its segments' verify reports
``network_index``  request/response and WebSocket pairs for the timeline
``proofs``         Merkle inclusion proofs of chunks against seal/checkpoint roots
``server``         the local viewer (aiohttp on 127.0.0.1, per-launch token)
``export``         evidence bundles (``export_files`` writes the files, ``manifest`` signs
                   them); ``bundle_verify`` checks them offline
"""
