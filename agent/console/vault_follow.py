"""Following the vault: which segment objects it holds, when each appeared, which have receipts.

S3 lists keys in key order only (``ListObjectVersions``, 1,000 versions a page, by prefix); it
has no listing by time. The listing of versions (not only of current objects) also shows
whether a segment or its receipt has a newer version or a delete marker over it, so the common
case needs no further listing per object.

Segment keys are ``segments/<session>/<index>-<segment>.stj`` and a session id begins with the
UTC time the session started (``20261126T122233Z-3f9a1c2b``), so listing the prefixes
``segments/<day>`` of the UTC days of the last 24 hours returns every object of the sessions
started in that time - new sessions and the new segments of running ones - in a few pages
however large the vault is. It misses a session that started earlier but ships only now (a
workstation that was offline, a clock that is wrong), so the worker also lists the whole
``segments/`` prefix now and then (:class:`~agent.console.ingest.IngestWorker`
``full_every_s``): the lag of such a late object is bounded by that period, and nothing is
skipped because the worker compares every listing with its own set of done keys.

On S3 ``LastModified`` of the oldest version is the time the object appeared; the file and
memory vaults report their version's creation time.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from agent.clock import dt_to_ns
from agent.ship.receipts import RECEIPT_SUFFIX
from agent.ship.vault import Vault

SEGMENTS = "segments/"


@dataclass(frozen=True)
class Listed:
    """One segment object as listed: its key, session, when it appeared, whether its receipt
    object (written by the shipper after the HEAD confirmed the lock) is there yet and, when
    the listing shows the segment and its receipt each with exactly one version and no delete
    marker (``version_id`` and ``receipt_version_id`` set), those versions: then the receipt
    names the only version there is, and the worker reads both by id without locating them
    again; any other shape is located in full (:func:`agent.ship.records.locate`)."""

    key: str
    session_id: str
    last_modified_ns: int
    has_receipt: bool
    version_id: str = ""
    receipt_version_id: str = ""


@dataclass
class _Entry:
    last_modified_ns: int = 0
    versions: list[str] = field(default_factory=list)
    markers: int = 0

    @property
    def only(self) -> str:
        return self.versions[0] if len(self.versions) == 1 and not self.markers else ""


def _s3_entries(vault: Any, prefix: str) -> dict[str, _Entry]:
    """Every version under ``prefix`` of an S3 vault, by key: one ``ListObjectVersions``
    listing (delete markers included)."""
    from agent.ship.s3 import s3_errors

    strip = len(vault.prefix) + 1 if vault.prefix else 0
    out: dict[str, _Entry] = {}
    with s3_errors(f"list {vault.url}/{SEGMENTS}"):
        pages = vault.client.get_paginator("list_object_versions").paginate(
            Bucket=vault.bucket, Prefix=vault._k(prefix)
        )
        for page in pages:
            for o in page.get("Versions", []):
                e = out.setdefault(str(o["Key"])[strip:], _Entry())
                e.versions.append(str(o.get("VersionId") or ""))
                lm = dt_to_ns(o["LastModified"].astimezone(dt.UTC))
                e.last_modified_ns = min(e.last_modified_ns or lm, lm)
            for o in page.get("DeleteMarkers", []):
                out.setdefault(str(o["Key"])[strip:], _Entry()).markers += 1
    return {k: e for k, e in out.items() if e.versions}


def _generic_entries(vault: Vault, prefix: str) -> dict[str, _Entry]:
    """key -> creation time (ns) for vaults without a listing of versions with times (each
    object is then located in full)."""
    out: dict[str, _Entry] = {}
    for key in vault.list(prefix):
        versions = [v for v in vault.versions(key) if not v.is_delete_marker]
        lm = versions[-1].last_modified if versions else None
        out[key] = _Entry(dt_to_ns(lm) if lm is not None else 0)
    return out


def recent_prefixes(now_ns: int, lookback_s: float) -> list[str]:
    """``segments/<YYYYMMDD>`` of each UTC day from ``lookback_s`` ago to now."""
    day = 86_400
    first, last = (now_ns // 1_000_000_000 - int(lookback_s)) // day, now_ns // 1_000_000_000 // day
    return [
        SEGMENTS + time.strftime("%Y%m%d", time.gmtime(d * day)) for d in range(first, last + 1)
    ]


def list_segments(vault: Vault, prefixes: list[str] | None = None) -> list[Listed]:
    """The segment objects the vault lists now under ``prefixes`` (default: all of
    ``segments/``), oldest first (by when each appeared)."""
    from agent.ship.s3 import S3Vault

    entries: dict[str, _Entry] = {}
    for prefix in prefixes or [SEGMENTS]:
        if isinstance(vault, S3Vault):
            entries.update(_s3_entries(vault, prefix))
        else:
            entries.update(_generic_entries(vault, prefix))
    out = []
    for key, e in entries.items():
        parts = key.split("/")
        if len(parts) != 3 or not key.endswith(".stj"):
            continue
        r = entries.get(key + RECEIPT_SUFFIX)
        plain = bool(r is not None and e.only and r.only)
        out.append(
            Listed(
                key,
                parts[1],
                e.last_modified_ns,
                r is not None,
                e.only if plain else "",
                r.only if plain and r is not None else "",
            )  # fmt: skip
        )
    out.sort(key=lambda x: (x.last_modified_ns, x.key))
    return out
