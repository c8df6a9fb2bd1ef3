"""Legal holds and disposition.

``hold add`` writes an ``audit.hold`` record (into the sealed access-audit journal, through
the shipper's audit recorder) and only then records (matter, session, actor, time) locally and
sets the legal hold on every object of the session in every vault; objects shipped later for a
held session are PUT with the hold already on. ``hold release`` clears the vault
hold only when no other matter still holds the session.

Disposition never deletes from S3 automatically: once retain-until has passed (and no hold
applies) a disposition record notes the object as *eligible*. Only a software-enforced vault
(the file vault, the memory vault) may delete, and only on an explicit ``ship dispose --yes``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from agent.clock import dt_to_ns, iso_seconds, ns_to_dt, parse_iso_seconds
from agent.errors import UsageError, VaultError
from agent.ship.receipts import RECEIPT_SUFFIX
from agent.ship.shipper import Shipper
from agent.ship.state import ObjectRow
from agent.ship.vault import Vault

log = structlog.get_logger("sessiontape.ship")


def session_keys(vault: Vault, session_id: str) -> list[str]:
    """Every object of a session in a vault (segments, receipts, checkpoints)."""
    return vault.list(f"segments/{session_id}/") + vault.list(f"checkpoints/{session_id}/")


def _keys(shipper: Shipper, session_id: str) -> list[tuple[Vault, str]]:
    """(vault, key) of every object of a session in every vault."""
    return [(v, k) for v in shipper.vaults.values() for k in session_keys(v, session_id)]


def _known_locally(shipper: Shipper, session_id: str) -> bool:
    """The session is recorded in this home (a segment the shipper's source sees, sealed
    or not) or tracked by the ship state."""
    if shipper.state.query("SELECT 1 FROM objects WHERE session_id = ? LIMIT 1", (session_id,)):
        return True
    return any(seg.session_id == session_id for seg in shipper.source.segments())


def _apply(keys: list[tuple[Vault, str]], on: bool) -> None:
    for vault, key in keys:
        vault.set_legal_hold(key, on)


def add_hold(shipper: Shipper, matter: str, session_id: str, actor: str) -> dict[str, Any]:
    """Place a hold; returns the audit payload.

    The ``audit.hold`` record is written first: when it cannot be, nothing is held. Then the
    hold is recorded locally and set on every object; vault errors propagate (the local hold
    stays, and :func:`reapply_holds` finishes it).
    """
    if not matter.strip() or not session_id.strip():
        raise UsageError("hold add needs a non-empty --matter and --session")
    keys = _keys(shipper, session_id)
    if not keys and not _known_locally(shipper, session_id):
        where = ", ".join(v.url for v in shipper.vaults.values())
        raise UsageError(f"no session {session_id} in {where} or this home ({shipper.home})")
    payload = {
        "action": "add",
        "matter": matter,
        "session_id": session_id,
        "actor": actor,
        "objects": len(keys),
    }
    shipper.audit.record("audit.hold", payload)
    exists = shipper.state.query(
        "SELECT id FROM holds WHERE released_ns IS NULL AND matter = ? AND session_id = ?",
        (matter, session_id),
    )
    if not exists:
        shipper.state.insert(
            "holds",
            {
                "matter": matter,
                "session_id": session_id,
                "actor": actor,
                "placed_ns": shipper.clock.utc_ns(),
            },
        )
    _apply(keys, True)
    log.info("ship.hold_added", matter=matter, session_id=session_id, objects=len(keys))
    return payload


def release_hold(shipper: Shipper, matter: str, session_id: str, actor: str) -> dict[str, Any]:
    """Release one matter's hold; the vault hold is cleared when no other matter remains.

    The ``audit.hold`` record is written before anything is released."""
    active = shipper.state.active_holds(session_id)
    if not any(str(r["matter"]) == matter for r in active):
        raise UsageError(f"no active hold for matter {matter!r} on session {session_id!r}")
    still = sorted({str(r["matter"]) for r in active if str(r["matter"]) != matter})
    keys = [] if still else _keys(shipper, session_id)
    payload = {
        "action": "release",
        "matter": matter,
        "session_id": session_id,
        "actor": actor,
        "objects": len(keys),
        "still_held_by": still,
    }
    shipper.audit.record("audit.hold", payload)
    with shipper.state.tx() as con:
        con.execute(
            "UPDATE holds SET released_ns = ?, released_by = ? WHERE "
            "released_ns IS NULL AND matter = ? AND session_id = ?",
            (shipper.clock.utc_ns(), actor, matter, session_id),
        )
    _apply(keys, False)
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
    """Record disposition eligibility; with ``execute``, delete from software vaults only.

    Every ``audit.disposition`` record is written before what it records is done (the
    eligibility before the object is marked, the intent to delete before any delete), and
    the outcome after; one pass writes into one sealed audit session. Returns the last
    record of each object that got one.
    """
    now = shipper.clock.utc_ns()
    out: list[dict[str, Any]] = []
    with shipper.audit.batch():
        for row in shipper.state.objects("status = 'shipped'"):
            until = parse_iso_seconds(row.retain_until)
            if until > ns_to_dt(now) or shipper.state.active_holds(row.session_id):
                continue
            payload = _dispose_one(shipper, row, until, now, execute, actor)
            if payload is not None:
                out.append(payload)
    return out


def expired(shipper: Shipper) -> list[dict[str, Any]]:
    """Every shipped object past retain-until: key, session, class, retain-until, the
    matters holding it (``held`` when any) and when its disposition was recorded (or None).
    Objects with ``held`` false are the ones :func:`dispose` records as eligible."""
    now = ns_to_dt(shipper.clock.utc_ns())
    out: list[dict[str, Any]] = []
    for row in shipper.state.objects("status = 'shipped'"):
        if parse_iso_seconds(row.retain_until) > now:
            continue
        matters = sorted({str(r["matter"]) for r in shipper.state.active_holds(row.session_id)})
        out.append(
            {
                "key": row.key,
                "session_id": row.session_id,
                "record_class": row.record_class,
                "retain_until": row.retain_until,
                "held": bool(matters),
                "matters": matters,
                "disposition_ns": row.disposition_ns,
            }
        )
    return out


def _stored(vault: Vault, key: str) -> bool:
    """The object is (still) in the vault: already deleted ones are not deleted again."""
    try:
        vault.head(key)
    except VaultError:
        return False
    return True


def _dispose_one(
    shipper: Shipper, row: ObjectRow, until: datetime, now: int, execute: bool, actor: str
) -> dict[str, Any] | None:
    """Eligibility (first time), then with ``execute`` the deletion: each audited first."""
    base = {
        "key": row.key,
        "retain_until": iso_seconds(until),
        "session_id": row.session_id,
        "record_class": row.record_class,
        "actor": actor,
    }
    last: dict[str, Any] | None = None
    if row.disposition_ns is None:
        last = {**base, "action": "eligible", "deleted": []}
        shipper.audit.record("audit.disposition", last)
        shipper.state.insert(
            "dispositions",
            {"key": row.key, "eligible_ns": dt_to_ns(until), "recorded_ns": now, "actor": actor},
            ignore=True,
        )
        shipper.state.update(row.key, disposition_ns=now)
    targets = [
        (name, vault, key)
        for name, vault in shipper.vaults.items()
        # S3: never deleted by us; use a lifecycle rule or a human
        if execute and vault.posture().enforced_by != "server"
        for key in (row.key, row.key + RECEIPT_SUFFIX)
        if _stored(vault, key)
    ]
    if not targets:
        return last
    intent = [f"{name}:{key}" for name, _, key in targets]
    shipper.audit.record("audit.disposition", {**base, "action": "deleting", "targets": intent})
    deleted: list[str] = []
    for name, vault, key in targets:
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
    last = {**base, "action": "deleted" if deleted else "delete_refused", "deleted": deleted}
    shipper.audit.record("audit.disposition", last)
    return last
