"""A real sealed, timestamped segment and the ways an attacker with file access can change it.

:func:`sealed_segment` writes one segment with :class:`agent.journal.Journal` (checkpoints,
a seal and an RFC 3161 token from the local TSA). The mutations edit a copy of its bytes:

- ``flip``: XOR bytes of the SQLite file at any offsets (headers, b-tree pages, free space);
- ``truncate`` / ``extend``: cut the file at any length or append junk;
- ``set``: set one column of one row to any value (blob, text, integer, real), after
  dropping the append-only triggers; ``settext``: to TEXT holding any bytes (not UTF-8);
- ``delete`` / ``insert``: remove rows, or add a row of junk;
- ``rehash``: replace a JSON document (genesis, a chunk header, a checkpoint or seal body) by
  any JSON, re-computing every chunk leaf and the hash chain after it, as an attacker who
  knows the (unkeyed) hash formulas would; only signatures and the AEAD stand in the way;
- ``wal``: drop a junk ``-wal`` file next to the segment.

:func:`committed_content` is the oracle: every stored value that a signature, the hash chain
or the AEAD covers, read with plain SQLite (None when SQLite cannot read it).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from agent.canonical import loads
from agent.config import load_config
from agent.journal.journal import Journal
from agent.keys import Keyring, TrustStore
from agent.seal import chain, chunk_header
from agent.seal.timestamp import request_timestamp, tst_verifier
from agent.seal.tsa_local import LocalTSA
from agent.seal.verify import TimestampVerifier
from agent.testing import FakeClock, make_event
from tests.journals import tamper


@dataclass(frozen=True)
class Sealed:
    """One sealed segment's bytes and what verifying it needs."""

    data: bytes
    name: str
    trust: TrustStore
    keyring: Keyring
    tst_verifier: TimestampVerifier
    content: tuple[Any, ...]
    docs: dict[str, Any]
    """The parsed JSON documents by where they are stored (``genesis``, ``chunks.0``, ...)."""

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """Hypothesis prints test arguments: the fixture's bytes would drown the mutation."""
        p.text("Sealed(...)")


def sealed_segment(home: Path, tsa: LocalTSA, *, chunks: int = 4) -> Sealed:
    """Write and seal one segment of ``chunks`` chunks, a checkpoint after each two."""
    keyring = Keyring.load_or_init(home)
    cfg = load_config(env={}, home=home)
    clock = FakeClock()
    j = Journal.open(
        home,
        cfg,
        clock=clock,
        keyring=keyring,
        timestamper=lambda digest: request_timestamp(digest, tsa.url, timeout=10),
    )
    for c in range(chunks):
        clock.advance_s(0.1)
        j.append_many(
            [make_event("clock.tick", {"n": c, "i": i}, clock=clock, page="P") for i in range(3)]
        )
        if c % 2:
            j.checkpoint_now()
    j.close()
    (path,) = j.segments
    verifier = tst_verifier([tsa.root_pem])
    assert verifier is not None
    content = committed_content(path)
    assert content is not None
    return Sealed(
        path.read_bytes(),
        path.name,
        keyring.trust(),
        keyring,
        verifier,
        content,
        _documents(path),
    )


def committed_content(path: Path) -> tuple[Any, ...] | None:
    """What signatures, hashes and the AEAD cover, as stored; None when SQLite cannot read it.

    Checkpoints are compared in their stored order; the ``n`` column is only that order.
    """
    try:
        con = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            return (
                con.execute("PRAGMA application_id").fetchall(),
                con.execute("PRAGMA user_version").fetchall(),
                con.execute("SELECT id, genesis FROM segment ORDER BY id").fetchall(),
                con.execute(
                    "SELECT idx, header, ciphertext, leaf, chain FROM chunks ORDER BY idx"
                ).fetchall(),
                con.execute("SELECT body, signature FROM checkpoints ORDER BY n").fetchall(),
                con.execute("SELECT id, body, signature, tst FROM seal ORDER BY id").fetchall(),
            )
        finally:
            con.close()
    except (sqlite3.Error, UnicodeDecodeError):
        return None


def _documents(path: Path) -> dict[str, Any]:
    con = sqlite3.connect(path)
    try:
        docs: dict[str, Any] = {
            "genesis": loads(con.execute("SELECT genesis FROM segment").fetchone()[0])
        }
        for idx, h in con.execute("SELECT idx, header FROM chunks"):
            docs[f"chunks.{idx}"] = chunk_header.parse(h)
        for n, b in con.execute("SELECT n, body FROM checkpoints"):
            docs[f"checkpoints.{n}"] = loads(b)
        docs["seal.1"] = loads(con.execute("SELECT body FROM seal").fetchone()[0])
        return docs
    finally:
        con.close()


# --- values -------------------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.sampled_from([0, -1, 1, 2**63 - 1, 2**63, 2**64, -(2**63)])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["", "zz", "00" * 12, "0" * 64, "01", "-1"])
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
COLUMN_VALUES = (
    st.binary(max_size=64)
    | st.text(max_size=16)
    | st.integers(-(2**63), 2**63 - 1)
    | st.sampled_from([2**40, -5, 0])
    | st.floats(allow_nan=False)
)


def json_variant(original: Any) -> st.SearchStrategy[Any]:
    """Any JSON, or ``original`` (an object) with some keys set to any JSON or removed."""
    if not isinstance(original, dict) or not original:
        return JSON_VALUES
    keys = st.sampled_from(sorted(original) + ["extra"])
    edits = st.lists(
        st.tuples(keys, st.none() | JSON_VALUES.map(lambda v: [v])), min_size=1, max_size=3
    )

    def apply(changes: list[tuple[str, list[Any] | None]]) -> dict[str, Any]:
        out = dict(original)
        for key, box in changes:
            if box is None:
                out.pop(key, None)
            else:
                out[key] = box[0]
        return out

    return JSON_VALUES | edits.map(apply)


def json_bytes(value: Any) -> bytes:
    """JSON text of any value (integers of any size), sorted keys, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )


# --- mutations ----------------------------------------------------------------------------

TABLE_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "segment": ("id", ("id", "genesis")),
    "chunks": ("idx", ("idx", "header", "ciphertext", "leaf", "chain")),
    "checkpoints": ("n", ("n", "body", "signature")),
    "seal": ("id", ("id", "body", "signature", "tst")),
}


def mutations(sealed: Sealed) -> st.SearchStrategy[tuple[Any, ...]]:
    """One mutation of ``sealed``, as a tuple whose first item names its kind."""
    size = len(sealed.data)
    flips = st.lists(
        st.tuples(st.integers(0, size - 1), st.integers(1, 255)), min_size=1, max_size=4
    )
    tables = st.sampled_from(sorted(TABLE_COLUMNS))
    rows = st.integers(-1, 5)
    doc_names = st.sampled_from(sorted(sealed.docs))
    return st.one_of(
        st.tuples(st.just("flip"), flips),
        st.tuples(st.just("truncate"), st.integers(0, size - 1)),
        st.tuples(st.just("extend"), st.binary(min_size=1, max_size=4096)),
        tables.flatmap(
            lambda t: st.tuples(
                st.just("set"),
                st.just(t),
                st.sampled_from(TABLE_COLUMNS[t][1]),
                rows,
                COLUMN_VALUES,
            )
        ),
        st.tuples(st.just("delete"), tables, rows),
        tables.flatmap(
            lambda t: st.tuples(
                st.just("settext"),
                st.just(t),
                st.sampled_from(TABLE_COLUMNS[t][1]),
                rows,
                st.binary(max_size=16),
            )
        ),
        tables.flatmap(
            lambda t: st.tuples(
                st.just("insert"),
                st.just(t),
                st.lists(
                    COLUMN_VALUES,
                    min_size=len(TABLE_COLUMNS[t][1]),
                    max_size=len(TABLE_COLUMNS[t][1]),
                ),
            )
        ),
        doc_names.flatmap(
            lambda d: st.tuples(st.just("rehash"), st.just(d), json_variant(sealed.docs[d]))
        ),
        st.tuples(st.just("wal"), st.binary(max_size=8192)),
    )


def apply_mutation(path: Path, m: tuple[Any, ...]) -> None:
    """Apply one mutation from :func:`mutations` to the segment at ``path``.

    A mutation SQLite refuses (a NOT NULL or CHECK constraint, a duplicate key) leaves the
    file unchanged.
    """
    kind = m[0]
    if kind == "flip":
        data = bytearray(path.read_bytes())
        for offset, mask in m[1]:
            data[offset] ^= mask
        path.write_bytes(bytes(data))
    elif kind == "truncate":
        path.write_bytes(path.read_bytes()[: m[1]])
    elif kind == "extend":
        path.write_bytes(path.read_bytes() + m[1])
    elif kind == "wal":
        Path(str(path) + "-wal").write_bytes(m[1])
    else:
        with contextlib.suppress(sqlite3.IntegrityError):
            _apply_sql(path, m)


def _apply_sql(path: Path, m: tuple[Any, ...]) -> None:
    kind = m[0]
    if kind == "set":
        _, table, column, row, value = m
        key = TABLE_COLUMNS[table][0]
        tamper(path, f"UPDATE {table} SET {column} = ? WHERE {key} = {int(row)}", args=(value,))
    elif kind == "settext":  # a TEXT value holding these bytes, UTF-8 or not
        _, table, column, row, value = m
        key = TABLE_COLUMNS[table][0]
        tamper(
            path,
            f"UPDATE {table} SET {column} = CAST(? AS TEXT) WHERE {key} = {int(row)}",
            args=(value,),
        )
    elif kind == "delete":
        _, table, row = m
        tamper(path, f"DELETE FROM {table} WHERE {TABLE_COLUMNS[table][0]} = {int(row)}")
    elif kind == "insert":
        _, table, values = m
        cols = TABLE_COLUMNS[table][1]
        marks = ", ".join("?" for _ in cols)
        tamper(
            path, f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", args=tuple(values)
        )
    elif kind == "rehash":
        _, where, value = m
        _rehash(path, where, _document_bytes(where, value))
    else:  # pragma: no cover - the strategy makes only the kinds above
        raise AssertionError(kind)


def _document_bytes(where: str, value: Any) -> bytes:
    """A mutated document as stored: a chunk header in its binary form when it still has
    one (any other header is stored as JSON, which readers take for an earlier version)."""
    if where.startswith("chunks."):
        try:
            return chunk_header.encode(value)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
    return json_bytes(value)


def _rehash(path: Path, where: str, doc: bytes) -> None:
    """Store ``doc`` at ``where`` and recompute the leaves and chain it changes."""
    table, _, key = where.partition(".")
    column = {"segment": "genesis", "genesis": "genesis", "chunks": "header"}.get(table, "body")
    if table == "genesis":
        tamper(path, "UPDATE segment SET genesis = ? WHERE id = 1", args=(doc,))
    else:
        tamper(
            path,
            f"UPDATE {table} SET {column} = ? WHERE {TABLE_COLUMNS[table][0]} = {int(key)}",
            args=(doc,),
        )
    if table not in ("genesis", "chunks"):
        return
    con = sqlite3.connect(path)
    try:
        (genesis,) = con.execute("SELECT genesis FROM segment WHERE id = 1").fetchone()
        head = chain.genesis_hash(genesis)
        for idx, header, ct in con.execute(
            "SELECT idx, header, ciphertext FROM chunks ORDER BY idx"
        ).fetchall():
            leaf = chain.chunk_leaf(header, ct)
            head = chain.next_head(head, leaf)
            con.execute("UPDATE chunks SET leaf = ?, chain = ? WHERE idx = ?", (leaf, head, idx))
        con.commit()
    finally:
        con.close()
