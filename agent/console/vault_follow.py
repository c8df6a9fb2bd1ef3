"""Following the vault: which segment objects it holds, when each appeared, which have receipts.

S3 lists keys in key order only (``ListObjectsV2``, 1,000 keys a page, ``StartAfter`` a key);
it has no listing by time. Segment keys are ``segments/<session>/<index>-<segment>.stj`` and a
session id begins with the UTC time the session started (``20261126T122233Z-3f9a1c2b``), so
listing from ``StartAfter=segments/<a day ago>`` returns every object of the sessions started
in the last day - new sessions and the new segments of running ones - in a few pages however
large the vault is. It misses a session that started earlier but ships only now (a
workstation that was offline, a clock that is wrong), so the worker also lists the whole
``segments/`` prefix now and then (:class:`~agent.console.ingest.IngestWorker`
``full_every_s``): the lag of such a late object is bounded by that period, and nothing is
skipped because the worker compares every listing with its own set of done keys.

On S3 ``LastModified`` of the current version is the time the object appeared; the file and
memory vaults report their version's creation time.
"""

from __future__ import annotations

import datetime as dt
import time
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


def _s3_entries(vault: Any, start_after: str) -> dict[str, int]:
    """key -> LastModified (ns) under ``segments/`` of an S3 vault after ``start_after``."""
    from agent.ship.s3 import s3_errors

    strip = len(vault.prefix) + 1 if vault.prefix else 0
    out: dict[str, int] = {}
    with s3_errors(f"list {vault.url}/{SEGMENTS}"):
        args: dict[str, str] = {"Bucket": vault.bucket, "Prefix": vault._k(SEGMENTS)}
        if start_after:
            args["StartAfter"] = vault._k(start_after)
        pages = vault.client.get_paginator("list_objects_v2").paginate(**args)
        for page in pages:
            for o in page.get("Contents", []):
                lm: dt.datetime = o["LastModified"]
                out[str(o["Key"])[strip:]] = dt_to_ns(lm.astimezone(dt.UTC))
    return out


def _generic_entries(vault: Vault, start_after: str) -> dict[str, int]:
    """key -> creation time (ns) for vaults without a cheap listing with times."""
    out: dict[str, int] = {}
    for key in vault.list(SEGMENTS):
        if key <= start_after:
            continue
        versions = [v for v in vault.versions(key) if not v.is_delete_marker]
        lm = versions[-1].last_modified if versions else None
        out[key] = dt_to_ns(lm) if lm is not None else 0
    return out


def recent_start(now_ns: int, lookback_s: float) -> str:
    """The ``StartAfter`` key below every session started in the last ``lookback_s``."""
    t = time.gmtime((now_ns - int(lookback_s * 1e9)) // 1_000_000_000)
    return SEGMENTS + time.strftime("%Y%m%dT%H%M%SZ", t)


def list_segments(vault: Vault, start_after: str = "") -> list[Listed]:
    """The segment objects the vault lists now (after ``start_after``: every one when
    empty), oldest first (by when each appeared)."""
    from agent.ship.s3 import S3Vault

    if isinstance(vault, S3Vault):
        entries = _s3_entries(vault, start_after)
    else:
        entries = _generic_entries(vault, start_after)
    out = []
    for key, lm in entries.items():
        parts = key.split("/")
        if len(parts) != 3 or not key.endswith(".stj"):
            continue
        out.append(Listed(key, parts[1], lm, key + RECEIPT_SUFFIX in entries))
    out.sort(key=lambda x: (x.last_modified_ns, x.key))
    return out
