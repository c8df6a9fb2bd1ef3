"""Following the vault: which segment objects it holds, when each appeared, which have receipts.

S3 lists keys in key order only (``ListObjectsV2``, 1,000 keys a page, ``StartAfter`` a key);
it has no listing by time. Segment keys are ``segments/<session>/<index>-<segment>.stj`` and
session ids begin with the workstation's start time, so key order is not arrival order: a
workstation that was offline ships yesterday's sessions today, and a long session adds
segments under an old prefix. A ``StartAfter`` cursor would skip both, so each pass lists the
whole ``segments/`` prefix (keys and ``LastModified`` only, no per-object request) and the
worker compares it with its own set of done keys. The cost is one ``ListObjectsV2`` request
per 1,000 objects per pass (``bench fleet`` reports it as ``list_seconds``).

On S3 ``LastModified`` of the current version is the time the object appeared; the file and
memory vaults report their version's creation time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from agent.clock import dt_to_ns
from agent.ship.receipts import RECEIPT_SUFFIX
from agent.ship.vault import Vault

SEGMENTS = "segments/"


@dataclass(frozen=True)
class Listed:
    """One segment object as listed: its key, session, when it appeared, and whether its
    receipt object (written by the shipper after the HEAD confirmed the lock) is there yet."""

    key: str
    session_id: str
    last_modified_ns: int
    has_receipt: bool


def _s3_entries(vault: Any) -> dict[str, int]:
    """key -> LastModified (ns) under ``segments/`` of an S3 vault, one paginated listing."""
    from agent.ship.s3 import s3_errors

    strip = len(vault.prefix) + 1 if vault.prefix else 0
    out: dict[str, int] = {}
    with s3_errors(f"list {vault.url}/{SEGMENTS}"):
        pages = vault.client.get_paginator("list_objects_v2").paginate(
            Bucket=vault.bucket, Prefix=vault._k(SEGMENTS)
        )
        for page in pages:
            for o in page.get("Contents", []):
                lm: dt.datetime = o["LastModified"]
                out[str(o["Key"])[strip:]] = dt_to_ns(lm.astimezone(dt.UTC))
    return out


def _generic_entries(vault: Vault) -> dict[str, int]:
    """key -> creation time (ns) for vaults without a cheap listing with times."""
    out: dict[str, int] = {}
    for key in vault.list(SEGMENTS):
        versions = [v for v in vault.versions(key) if not v.is_delete_marker]
        lm = versions[-1].last_modified if versions else None
        out[key] = dt_to_ns(lm) if lm is not None else 0
    return out


def list_segments(vault: Vault) -> list[Listed]:
    """Every segment object the vault lists now, oldest first (by when it appeared)."""
    from agent.ship.s3 import S3Vault

    entries = _s3_entries(vault) if isinstance(vault, S3Vault) else _generic_entries(vault)
    out = []
    for key, lm in entries.items():
        parts = key.split("/")
        if len(parts) != 3 or not key.endswith(".stj"):
            continue
        out.append(Listed(key, parts[1], lm, key + RECEIPT_SUFFIX in entries))
    out.sort(key=lambda x: (x.last_modified_ns, x.key))
    return out
