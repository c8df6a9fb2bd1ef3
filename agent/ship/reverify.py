"""Re-verify what is stored: 100% of newly shipped objects plus a rolling sample of older ones.

For each object and vault, by the version its receipt records (never the current version):
the vault anomalies of :func:`agent.ship.records.locate` (a newer version or delete marker
over it, a receipt object that disagrees or is missing), HEAD of that version (checksum, lock
mode, retain-until not shortened), GET by version and re-hash, then verify the downloaded
segment's seals and signatures (:meth:`SegmentSource.verify` on a spool copy). Each result
is an ``audit.verify`` record in the sealed access-audit journal (one audit session per
pass), also appended to ``<home>/ship/reverify.jsonl``; each vault anomaly gets an
``audit.verify`` record of its own (``check: vault-anomaly``). The "rolling sample" takes the
``reverify_sample`` objects verified longest ago, so every object comes round in turn.
"""

from __future__ import annotations

from typing import Any

import structlog

from agent.canonical import sha256_hex
from agent.clock import iso_seconds, parse_iso_seconds
from agent.errors import VaultError
from agent.ship.records import ANOMALY_PREFIX, locate
from agent.ship.shipper import Shipper
from agent.ship.state import ObjectRow
from agent.ship.vault import Vault

log = structlog.get_logger("sessiontape.ship")


def verify_object(
    shipper: Shipper, vault: Vault, row: ObjectRow, receipt: dict[str, Any]
) -> list[str]:
    """The problems of one stored object (empty = verified), read by its receipt's version.

    Vault anomalies (a newer version or delete marker over it, a receipt object that
    disagrees) come first, as ``vault anomaly: …`` lines; the original is still checked.
    """
    try:
        loc = locate(vault, row.key, receipt)
    except VaultError as exc:
        return [f"versions: {exc.message}"]
    problems = [a.message for a in loc.anomalies]
    if loc.record is None:
        return problems
    vid = loc.record.version_id
    try:
        st = vault.head_version(row.key, vid)
    except VaultError as exc:
        return [*problems, f"head version {vid}: {exc.message}"]
    if st.mode != receipt["mode"]:
        problems.append(f"lock mode {st.mode} != receipt {receipt['mode']}")
    want = parse_iso_seconds(receipt["retain_until"])
    if st.retain_until is None or st.retain_until < want:
        problems.append(
            f"retain-until {iso_seconds(st.retain_until) if st.retain_until else None} "
            f"is before the receipt's {iso_seconds(want)} (retention shortened)"
        )
    try:
        data = vault.get_version(row.key, vid)
    except VaultError as exc:
        return [*problems, f"get version {vid}: {exc.message}"]
    if sha256_hex(data) != receipt["checksum_sha256"]:
        problems.append("downloaded bytes do not hash to the receipt checksum")
        return problems
    return problems + _seal_problems(shipper, row, data)


def _seal_problems(shipper: Shipper, row: ObjectRow, data: bytes) -> list[str]:
    """Seals and signatures of the downloaded copy (verified from a spool file)."""
    spool = shipper.spool_dir / f"reverify-{row.path.name}"
    try:
        shipper.spool_dir.mkdir(parents=True, exist_ok=True)
        spool.write_bytes(data)
        failure = shipper.source.verify(spool)
    except OSError as exc:
        return [f"spool: {exc}"]
    finally:
        spool.unlink(missing_ok=True)
    return [] if failure is None else [f"seal/signature: {failure}"]


def reverify_once(shipper: Shipper, *, sample: int | None = None) -> list[dict[str, Any]]:
    """Verify new objects and a rolling sample of old ones; record and return each result."""
    n = shipper.cfg.reverify_sample if sample is None else sample
    new = shipper.state.objects("status = 'shipped' AND verified_ns IS NULL")
    old = [
        ObjectRow.from_row(r)
        for r in shipper.state.query(
            "SELECT * FROM objects WHERE status = 'shipped' AND verified_ns IS NOT NULL "
            "ORDER BY verified_ns, key LIMIT ?",
            (n,),
        )
    ]
    results: list[dict[str, Any]] = []
    with shipper.audit.batch():  # one sealed audit session per pass
        for row in [*new, *old]:
            results.extend(_reverify_row(shipper, row))
    return results


def _reverify_row(shipper: Shipper, row: ObjectRow) -> list[dict[str, Any]]:
    """Verify one object in every vault; record (``audit.verify``) and return each result."""
    results: list[dict[str, Any]] = []
    all_ok = True
    for name, vault in shipper.vaults.items():
        receipt = row.receipts.get(name)
        problems = (
            ["no receipt for this vault"]
            if receipt is None
            else verify_object(shipper, vault, row, receipt)
        )
        ok = not problems
        all_ok = all_ok and ok
        payload = {
            "key": row.key,
            "vault": vault.url,
            "where": name,
            "ok": ok,
            "new": row.verified_ns is None,
            "problems": problems[:10],
        }
        shipper.audit.record("audit.verify", payload)
        for p in problems:  # one record per vault anomaly, naming key and versions
            if p.startswith(ANOMALY_PREFIX):
                shipper.audit.record(
                    "audit.verify",
                    {
                        "key": row.key,
                        "vault": vault.url,
                        "where": name,
                        "ok": False,
                        "check": "vault-anomaly",
                        "detail": p[:500],
                    },
                )
        results.append(payload)
        if not ok:
            log.error(
                "ship.reverify_failed",
                alert=True,
                key=row.key,
                vault=vault.url,
                problems=problems[:3],
            )
    shipper.state.update(
        row.key, verified_ns=shipper.clock.utc_ns(), verified_ok=1 if all_ok else 0
    )
    return results
