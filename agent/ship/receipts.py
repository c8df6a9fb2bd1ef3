"""Receipts: the proof of a stored, locked upload, checked and written beside the object.

Each segment ``<key>`` gets a receipt object ``<key>.receipt.json`` in every vault, under the
same lock; the local state keeps the same receipts as JSON.
"""

from __future__ import annotations

import json
from typing import Any

from agent.clock import iso_seconds
from agent.errors import PostureError, VaultError
from agent.ship.state import ObjectRow
from agent.ship.vault import Receipt

RECEIPT_SUFFIX = ".receipt.json"


def check_receipt(r: Receipt, digest: str, until: Any, mode: str, size: int) -> None:
    """Belt and braces: the receipt a backend returns must match what we asked for."""
    if r.checksum_sha256 != digest or r.size != size:
        raise VaultError(f"{r.key}: receipt checksum/size mismatch", retryable=True)
    if r.mode != mode or r.retain_until < until:
        raise PostureError(
            f"{r.key}: receipt lock {r.mode} until {iso_seconds(r.retain_until)} is "
            f"weaker than requested {mode} until {iso_seconds(until)}"
        )


def receipt_document(r: Receipt, row: ObjectRow) -> bytes:
    """The receipt object's bytes - deterministic, so a re-run PUT is idempotent."""
    doc = {k: v for k, v in r.to_json().items() if k != "legal_hold"}  # hold may change
    doc.update(
        session_id=row.session_id,
        segment_id=row.segment_id,
        record_class=row.record_class,
        sealed_utc_ns=row.sealed_utc_ns,
    )
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
