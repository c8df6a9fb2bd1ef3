"""Legal holds and disposition.

``hold add`` records (matter, session, actor, time) locally, sets the legal hold on every
object of the session in every vault, and writes an ``audit.hold`` record; objects shipped
later for a held session are PUT with the hold already on. ``hold release`` clears the vault
hold only when no other matter still holds the session.

Disposition never deletes from S3 automatically: once retain-until has passed (and no hold
applies) a disposition record notes the object as *eligible*. Only a software-enforced vault
(the file vault, the memory vault) may delete, and only on an explicit ``ship dispose --yes``.
"""

from __future__ import annotations

from typing import Any

import structlog

from agent.clock import dt_to_ns, iso_seconds, ns_to_dt, parse_iso_seconds
from agent.errors import UsageError, VaultError
from agent.ship.receipts import RECEIPT_SUFFIX
from agent.ship.shipper import Shipper
from agent.ship.vault import Vault

log = structlog.get_logger("sessiontape.ship")


def session_keys(vault: Vault, session_id: str) -> list[str]:
    """Every object of a session in a vault (segments, receipts, checkpoints)."""
    return vault.list(f"segments/{session_id}/") + vault.list(f"checkpoints/{session_id}/")


def _apply(shipper: Shipper, session_id: str, on: bool) -> int:
    n = 0
    for vault in shipper.vaults.values():
        for key in session_keys(vault, session_id):
            vault.set_legal_hold(key, on)
            n += 1
    return n


def add_hold(shipper: Shipper, matter: str, session_id: str, actor: str) -> dict[str, Any]:
    """Place a hold; returns the audit payload. Vault errors propagate (the hold is recorded)."""
    if not matter.strip() or not session_id.strip():
        raise UsageError("hold add needs --matter and --session")
    now = shipper.clock.utc_ns()
    exists = shipper.state.query(
        "SELECT id FROM holds WHERE released_ns IS NULL AND matter = ? AND session_id = ?",
        (matter, session_id),
    )
    if not exists:
        shipper.state.insert(
            "holds", {"matter": matter, "session_id": session_id, "actor": actor, "placed_ns": now}
        )
    count = _apply(shipper, session_id, True)
    payload = {
        "action": "add",
        "matter": matter,
        "session_id": session_id,
        "actor": actor,
        "objects": count,
    }
    shipper.audit.record("audit.hold", payload)
    log.info("ship.hold_added", matter=matter, session_id=session_id, objects=count)
    return payload


def release_hold(shipper: Shipper, matter: str, session_id: str, actor: str) -> dict[str, Any]:
    """Release one matter's hold; the vault hold is cleared when no other matter remains."""
    now = shipper.clock.utc_ns()
    with shipper.state.tx() as con:
        cur = con.execute(
            "UPDATE holds SET released_ns = ?, released_by = ? WHERE "
            "released_ns IS NULL AND matter = ? AND session_id = ?",
            (now, actor, matter, session_id),
        )
        if cur.rowcount == 0:
            raise UsageError(f"no active hold for matter {matter!r} on session {session_id!r}")
    remaining = shipper.state.active_holds(session_id)
    count = 0 if remaining else _apply(shipper, session_id, False)
    payload = {
        "action": "release",
        "matter": matter,
        "session_id": session_id,
        "actor": actor,
        "objects": count,
        "still_held_by": sorted({str(r["matter"]) for r in remaining}),
    }
    shipper.audit.record("audit.hold", payload)
    return payload


def reapply_holds(shipper: Shipper) -> int:
    """Set the hold on any object of a held session that lacks it (e.g. a vault was down
    when ``hold add`` ran); returns how many objects were fixed. Run by the retention job."""
    fixed = 0
    for session_id in sorted({str(r["session_id"]) for r in shipper.state.active_holds()}):
        for vault in shipper.vaults.values():
            for key in session_keys(vault, session_id):
                if not vault.head(key).legal_hold:
                    vault.set_legal_hold(key, True)
                    fixed += 1
    if fixed:
        log.warning("ship.holds_reapplied", objects=fixed)
    return fixed


def list_holds(shipper: Shipper, *, include_released: bool = False) -> list[dict[str, Any]]:
    """Holds as dicts (active only unless ``include_released``)."""
    where = "1" if include_released else "released_ns IS NULL"
    return [dict(r) for r in shipper.state.query(f"SELECT * FROM holds WHERE {where} ORDER BY id")]


def dispose(shipper: Shipper, *, execute: bool = False, actor: str = "") -> list[dict[str, Any]]:
    """Record disposition eligibility; with ``execute``, delete from software vaults only."""
    now = shipper.clock.utc_ns()
    out: list[dict[str, Any]] = []
    for row in shipper.state.objects("status = 'shipped'"):
        until = parse_iso_seconds(row.retain_until)
        if until > ns_to_dt(now) or shipper.state.active_holds(row.session_id):
            continue
        first = row.disposition_ns is None
        if first:
            shipper.state.insert(
                "dispositions",
                {
                    "key": row.key,
                    "eligible_ns": dt_to_ns(until),
                    "recorded_ns": now,
                    "actor": actor,
                },
                ignore=True,
            )
            shipper.state.update(row.key, disposition_ns=now)
        deleted: list[str] = []
        if execute:
            for name, vault in shipper.vaults.items():
                if vault.posture().enforced_by == "server":
                    continue  # S3: never deleted by us; use a lifecycle rule or a human
                for key in (row.key, row.key + RECEIPT_SUFFIX):
                    try:
                        vault.delete(key)
                        deleted.append(f"{name}:{key}")
                    except VaultError as exc:
                        log.warning("ship.dispose_refused", key=key, error=exc.message)
            if deleted:
                with shipper.state.tx() as con:
                    con.execute(
                        "UPDATE dispositions SET disposed_ns = ?, actor = ? WHERE key = ?",
                        (now, actor, row.key),
                    )
        if first or deleted:
            payload = {
                "key": row.key,
                "retain_until": iso_seconds(until),
                "session_id": row.session_id,
                "action": "deleted" if deleted else "eligible",
                "deleted": deleted,
                "actor": actor,
            }
            shipper.audit.record("audit.disposition", payload)
            out.append(payload)
    return out
