"""Revealing an escrowed value: find its sealed blob, open it with the officer's key, audit.

:func:`reveal` takes the session's records (the CLI reads them from the journal; this stage
never imports the journal) and an ``audit`` callable that must make the audit record durable
before the value is returned: if auditing fails, nothing is revealed. Every attempt is
audited - revealed, wrong key, or token not found. The audit record never holds the value.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from agent.actor import os_actor
from agent.clock import Clock, SystemClock
from agent.errors import KeyMaterialError, UsageError
from agent.mask.escrow import key_id, open_sealed

AUDIT_VERSION = 1
Audit = Callable[[dict[str, Any]], None]
_ESC_TOKEN = re.compile(r"^esc_[0-9a-f]{16}$")


def jsonl_audit(home: Path) -> Audit:
    """An audit sink appending JSON lines to ``<home>/audit/reveals.jsonl`` (0600, fsync)."""
    path = home / "audit" / "reveals.jsonl"

    def write(record: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        line = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    return write


def find_sealed(payloads: Iterable[dict[str, Any]], token: str) -> str | None:
    """The sealed blob stored for ``token`` in any payload's ``_escrow`` map."""
    for payload in payloads:
        esc = payload.get("_escrow")
        if isinstance(esc, dict):
            blob = esc.get(token)
            if isinstance(blob, str):
                return blob
    return None


def reveal(
    payloads: Iterable[dict[str, Any]],
    *,
    session_id: str,
    token: str,
    private_key: X25519PrivateKey,
    reason: str,
    audit: Audit,
    actor: str | None = None,
    clock: Clock | None = None,
) -> str:
    """The clear value behind ``token`` in a session; the attempt is audited first.

    Raises ``UsageError`` (no reason, not an escrow token, token not in the session) or
    ``KeyMaterialError`` (the key is not the one the value was sealed to) - never the value.
    """
    if not reason.strip():
        raise UsageError("--reason is required: say why this value must be revealed")
    if not _ESC_TOKEN.match(token):
        hint = (
            " (tok_ tokens are one-way HMACs and cannot be revealed)"
            if token.startswith("tok_")
            else ""
        )
        raise UsageError(f"{token!r} is not an escrow token esc_<16 hex>{hint}")
    clock = clock or SystemClock()
    pub = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    record: dict[str, Any] = {
        "v": AUDIT_VERSION,
        "kind": "audit.reveal",
        "who": actor or os_actor().name,
        "t_utc_ns": clock.utc_ns(),
        "session": session_id,
        "token": token,
        "reason": reason.strip(),
        "key_id": key_id(pub),
    }
    blob = find_sealed(payloads, token)
    if blob is None:
        audit({**record, "outcome": "not_found"})
        raise UsageError(f"token {token} does not occur in session {session_id}")
    try:
        value = open_sealed(blob, token, private_key)
    except KeyMaterialError:
        audit({**record, "outcome": "denied_wrong_key"})
        raise
    audit({**record, "outcome": "revealed"})
    return value
