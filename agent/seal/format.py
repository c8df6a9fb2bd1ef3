"""Segment file format, version 1: the SQLite schema and the header shapes.

A segment is one SQLite file (``application_id`` 0x53545431 "STT1", ``user_version`` = format
version). Tables::

    segment(id=1, genesis)                      canonical genesis bytes (see below)
    chunks(idx, header, ciphertext, leaf, chain) one row per chunk, idx dense from 0
    checkpoints(n, body, signature)             signed checkpoint bodies, n dense from 0
    seal(id=1, body, signature, tst)            the signed seal; tst = RFC 3161 response (or NULL)

Triggers refuse UPDATE and DELETE on every table: the file is append-only (a tamperer can drop
triggers; that is what the hashes and signatures are for).

The format lives in the seal stage because it is the shape of what is sealed and verified:
:mod:`agent.seal.verify` and :mod:`agent.seal.segment_file` read it without the journal, and
the journal, which writes segments, imports it from here.

Hashing (over stored bytes: canonical JSON, :mod:`agent.canonical`, except chunk headers of
version 3, which are binary, :mod:`agent.seal.chunk_header`; computed by
:mod:`agent.seal.chain`):

* ``genesis_hash = SHA-256(genesis)``
* ``leaf_i = SHA-256(0x00 || header_i || ciphertext_i)`` (an RFC 9162 leaf over header‖ct)
* ``chain_i = SHA-256(chain_{i-1} || leaf_i)``, ``chain_{-1} = genesis_hash``
* Merkle root over ``leaf_0..leaf_{n-1}`` (RFC 9162)
* chunk header: ``{v, seg, i, seq0, seq1, n, t0, t1, kinds, ptlen, ctlen, z, nonce}``
  (``nonce``: the 96-bit AES-GCM nonce, hex, fresh for every encryption; ``v`` also says how
  the compressed body encodes the records: :mod:`agent.seal.chunk_codec`). Versions 1 and 2
  store it as canonical JSON, version 3 in a binary form of the same fields
  (:mod:`agent.seal.chunk_header`); the leaf and the AEAD cover the stored bytes.
* ``seal_hash = SHA-256(seal body)``; the next segment's genesis carries it as ``prev_seal_hash``.

Genesis (version 3; version 2 is the same without ``previous_session``, version 1 also without
``firm_wraps``) names the segment
(``segment_id``, ``session_id``, ``segment_index``, ``prev_seal_hash``, ``seq_first``), the writer
(``agent_id``, ``agent_counter``, ``key_id``), its creation clocks, and how the data key (DEK) is
kept: ``kek_id`` + ``wrapped_dek`` (RFC 3394 under the workstation's KEK) and ``firm_wraps``, a
list of ``{kid, alg, epk, wrapped}``: the DEK sealed to each firm public key configured when the
segment was opened (:mod:`agent.keystore.firmwrap`; empty when none was configured).
``previous_session`` links a session to the one it follows on the same workstation: ``null``
or ``{session_id, seal_hash, reason}`` (the previous session's id, the SHA-256 of its last
segment's seal body, and why a new session began: ``rotation``, ``restart`` or ``recovered``);
every segment of the session carries the same value.
"""

from __future__ import annotations

APPLICATION_ID = 0x53545431  # "STT1"
FORMAT_VERSION = 1
GENESIS_VERSION = 3  # 3: ``previous_session``, the link to the session this one follows
GENESIS_VERSIONS = (1, 2, 3)  # versions readers accept (2: no link; 1: no firm wraps either)
LINK_REASONS = ("rotation", "restart", "recovered")  # why a linked session began
CHUNK_HEADER_VERSION = 3  # 3: the columns packed, attribute changes coded against the texts
CHUNK_HEADER_VERSIONS = (1, 2, 3)  # versions readers accept (1: the body is JSON only)
CHECKPOINT_VERSION = 2  # 2: ``prev`` chains each checkpoint to the one before
SEAL_VERSION = 2  # 2: ``retention`` = {"class", "rule"}, the session's retention decision
SEAL_VERSIONS = (1, 2)  # readers accept these
SEGMENT_SUFFIX = ".stj"
# SQLite page size of a new segment, the smallest SQLite takes. A chunk (a few KB after
# compression) is stored in overflow pages plus a leaf cell of the remainder, and the leaf
# pages are packed unevenly: the waste per chunk grows with the page. SQLite's default 4 KiB
# wasted ~2 KiB per chunk, 1 KiB pages ~0.35 KiB, 512 B pages half that (4 % of a
# blotter segment at 200 cells, 14 % of the order-entry form's). Readers take any page size.
PAGE_SIZE = 512

SCHEMA = """
CREATE TABLE segment (id INTEGER PRIMARY KEY CHECK (id = 1), genesis BLOB NOT NULL);
CREATE TABLE chunks (
    idx INTEGER PRIMARY KEY,
    header BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    leaf BLOB NOT NULL,
    chain BLOB NOT NULL
);
CREATE TABLE checkpoints (n INTEGER PRIMARY KEY, body BLOB NOT NULL, signature BLOB NOT NULL);
CREATE TABLE seal (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body BLOB NOT NULL,
    signature BLOB NOT NULL,
    tst BLOB
);
"""

_TABLES = ("segment", "chunks", "checkpoints", "seal")

TRIGGERS = "\n".join(
    f"""CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t}
BEGIN SELECT RAISE(ABORT, 'sessiontape: {t} is append-only'); END;
CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t}
BEGIN SELECT RAISE(ABORT, 'sessiontape: {t} is append-only'); END;"""
    for t in _TABLES
)

SEAL_REASONS = ("closed", "rotated", "recovered")
