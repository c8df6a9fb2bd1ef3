"""Retention escalation: a session whose later segment needs a longer class.

Each segment's seal records the session's retention decision so far (see
:mod:`agent.ship.classify`); a session that visits an orders app only in its third segment
seals the first two as, say, ``communications``. When a segment with a longer class is
found, every object of the session already in the vault is locked longer: retain-until =
its sealed time + the longer class's period, for the segment, its receipt object and its
checkpoints, in every vault. S3 allows extending COMPLIANCE retention and never shortening
it; the vaults refuse to shorten whatever the store would do.

Each extension is first written as a sealed ``audit.retention`` record (session, key, from
and to class, old and new retain-until); the local row changes only after every vault
confirmed, so a vault that is down is retried on the next pass (and the record repeats).

Checkpoints stream while a segment is still being written, under the class known then; when
the sealed segment ships, :func:`align_checkpoints` locks them as long as the segment.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import structlog

from agent.clock import iso_seconds, ns_to_dt, parse_iso_seconds
from agent.errors import VaultError
from agent.ship.receipts import RECEIPT_SUFFIX
from agent.ship.retention import add_retention, longest_class
from agent.ship.state import ObjectRow
from agent.ship.vault import NotFound, Vault

if TYPE_CHECKING:
    from agent.ship.shipper import Shipper

log = structlog.get_logger("sessiontape.ship")


def _mixed_sessions(shipper: Shipper) -> list[str]:
    """Sessions whose objects do not all have the same class (the only ones to look at)."""
    rows = shipper.state.query(
        "SELECT session_id FROM objects WHERE status IN ('pending', 'shipped') "
        "GROUP BY session_id HAVING COUNT(DISTINCT record_class) > 1"
    )
    return [str(r[0]) for r in rows]


def escalate(shipper: Shipper) -> list[dict[str, Any]]:
    """Raise every shorter-class object of a session to its longest class; return the
    ``audit.retention`` payloads of the objects raised in this pass."""
    classes = shipper.cfg.retention_classes
    done: list[dict[str, Any]] = []
    for session_id in _mixed_sessions(shipper):
        rows = shipper.state.objects(
            "session_id = ? AND status IN ('pending', 'shipped')", (session_id,)
        )
        target = longest_class(classes, [r.record_class for r in rows])
        for row in rows:
            if row.record_class == target or row.record_class not in classes:
                continue
            until = add_retention(ns_to_dt(row.sealed_utc_ns), classes[target])
            if until <= parse_iso_seconds(row.retain_until):
                continue
            try:
                done.append(_raise(shipper, row, target, until))
            except VaultError as exc:
                log.warning("ship.retention_extend_retry", key=row.key, error=exc.message)
    return done


def _raise(shipper: Shipper, row: ObjectRow, target: str, until: Any) -> dict[str, Any]:
    """Audit, extend in every vault (shipped objects), then update the local row."""
    payload = {
        "action": "extend",
        "session_id": row.session_id,
        "key": row.key,
        "from_class": row.record_class,
        "to_class": target,
        "retain_until_was": row.retain_until,
        "retain_until": iso_seconds(until),
        "objects": [],
    }
    keys: list[str] = []
    if row.status == "shipped":
        keys = [row.key, row.key + RECEIPT_SUFFIX]
        keys += [
            str(r[0])
            for r in shipper.state.query(
                "SELECT key FROM checkpoints WHERE segment_id = ?", (row.segment_id,)
            )
        ]
        payload["objects"] = keys
    shipper.audit.record("audit.retention", payload)
    for name, vault in shipper.vaults.items():
        version = str((row.receipts.get(name) or {}).get("version_id", ""))
        for key in keys:
            vault.extend_retention(key, version if key == row.key else "", until)
    shipper.state.update(row.key, record_class=target, retain_until=iso_seconds(until))
    log.info("ship.retention_extended", key=row.key, to_class=target, until=payload["retain_until"])
    return payload


def align_checkpoints(shipper: Shipper, row: ObjectRow) -> list[str]:
    """Lock the checkpoints already shipped for ``row``'s segment (while it was being
    written, under the class known then) at least as long as the segment itself, when that
    class was shorter than the segment's; audited first as ``audit.retention`` (action
    ``align_checkpoints``). A checkpoint locked for the segment's class from its own time
    (within the segment's span before the seal) is left as it is. Returns the objects extended as
    ``vault:key``; a vault error propagates, so the segment's shipping is retried."""
    until = parse_iso_seconds(row.retain_until)
    period = shipper.cfg.retention_classes.get(row.record_class, "")
    keys = [
        str(r[0])
        for r in shipper.state.query(
            "SELECT key FROM checkpoints WHERE segment_id = ? ORDER BY n", (row.segment_id,)
        )
    ]
    short = [
        (name, vault, key)
        for name, vault in shipper.vaults.items()
        for key in keys
        if _shorter_class(_retain_until(vault, key), row.sealed_utc_ns, period)
    ]
    if not short:
        return []
    objects = [f"{name}:{key}" for name, _, key in short]
    shipper.audit.record(
        "audit.retention",
        {
            "action": "align_checkpoints",
            "session_id": row.session_id,
            "key": row.key,
            "to_class": row.record_class,
            "retain_until": row.retain_until,
            "objects": objects,
        },
    )
    for _, vault, key in short:
        vault.extend_retention(key, "", until)
    return objects


def _shorter_class(ru: dt.datetime | None, sealed_ns: int, period: str) -> bool:
    """The checkpoint was locked under a shorter class than ``period``: its retain-until is
    more than a day (above the span of one segment, below any difference between classes)
    before ``period`` from the segment's seal."""
    if ru is None or not period:
        return False
    return ru < add_retention(ns_to_dt(sealed_ns), period) - dt.timedelta(days=1)


def _retain_until(vault: Vault, key: str) -> dt.datetime | None:
    """The checkpoint's retain-until in ``vault``; None when that vault never received it
    (checkpoints stream to the vault configured at recording time, which may be another)."""
    try:
        return vault.head(key).retain_until
    except NotFound:
        return None
