"""Canonical bytes for everything sessiontape hashes or signs.

Rules (pinned by golden vectors in ``tests/test_canonical.py``):

* JSON objects with keys sorted by their UTF-8 code points, no whitespace;
* strings as UTF-8 (not ``\\u`` escaped except control characters, as RFC 8259 requires);
* integers only: a ``float`` anywhere is refused (``InvalidEvent``), so no two
  platforms can disagree on a number's text;
* ``bytes`` are not JSON: callers encode them as lowercase hex or base64 first;
* booleans and ``null`` as in JSON.

Event *payloads* travel inside encrypted chunks and are serialised with
:func:`record_bytes` (sorted keys, UTF-8; integral floats become ints, other
floats are kept in their shortest round-trip form, which is deterministic); the bytes
that are hashed and signed (chunk headers, genesis, checkpoints, seals) use
:func:`canonical_bytes`, which refuses floats outright.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from agent.errors import InvalidEvent
from agent.mutation_columns import json_default

_OPTS = orjson.OPT_SORT_KEYS


def _check(obj: Any, path: str) -> None:
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return
    if isinstance(obj, int):
        if not -(2**63) <= obj < 2**64:
            raise InvalidEvent(f"integer out of 64-bit range at {path}")
        return
    if isinstance(obj, float):
        raise InvalidEvent(f"float at {path} is not allowed in canonical bytes")
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, str):
                raise InvalidEvent(f"non-string key {k!r} at {path}")
            _check(v, f"{path}.{k}")
        return
    if isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            _check(v, f"{path}[{i}]")
        return
    raise InvalidEvent(f"{type(obj).__name__} at {path} is not canonical JSON")


def canonical_bytes(obj: Any) -> bytes:
    """Return the canonical encoding of ``obj``; raise ``InvalidEvent`` on floats or non-JSON."""
    _check(obj, "$")
    return orjson.dumps(obj, option=_OPTS)


def record_bytes(obj: Any) -> bytes:
    """Deterministic encoding of an event record (sorted keys, UTF-8) for chunk plaintext."""
    try:
        return orjson.dumps(obj, default=json_default, option=_OPTS)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise InvalidEvent(f"event is not JSON-serialisable: {exc}") from exc


def loads(data: bytes | str) -> Any:
    """Parse JSON produced by :func:`canonical_bytes` or :func:`record_bytes`."""
    return orjson.loads(data)


def sha256(data: bytes) -> bytes:
    """SHA-256 digest (raw bytes)."""
    return hashlib.sha256(data).digest()


def sha256_hex(data: bytes) -> str:
    """SHA-256 digest as lowercase hex."""
    return hashlib.sha256(data).hexdigest()
