"""The uploader (Teleport ``fileasync``-style): scan, lock, verify, upload, confirm, retry.

One :meth:`Shipper.ship_once` pass:

1. posture of every vault checked when due (start, daily) or while paused - a deviation
   pauses shipping (``state.meta['paused']``) with an error log, until a check passes;
2. new sealed segments are recorded ``pending`` with their retention class and retain-until;
3. each due ``pending`` segment, under a per-segment ``flock``: copied to the spool,
   verified (:meth:`SegmentSource.verify`) - a failure QUARANTINES it (kept, never shipped,
   never deleted) - then PUT to every vault with its lock, HEAD-confirmed, and a receipt
   object ``<key>.receipt.json`` written beside it. Only then is it marked ``shipped``.
   A failed attempt backs off exponentially with jitter (clock and RNG injected).

Re-running after a crash is safe: PUTs are idempotent for identical bytes, so every segment
ends up in the vault exactly once. Local copies are deleted only by
:meth:`Shipper.apply_local_retention`, only for ``shipped`` rows whose vault copies still
HEAD-confirm, and only after ``keep_local_days``.
"""

from __future__ import annotations

import fcntl
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from agent.canonical import sha256_hex
from agent.clock import Clock, SystemClock, iso_seconds, ns_to_dt, parse_iso_seconds
from agent.errors import PostureError, VaultError
from agent.ship import posture as posture_mod
from agent.ship.audit import AuditRecorder
from agent.ship.config import ShipConfig
from agent.ship.escalate import align_checkpoints, escalate
from agent.ship.receipts import RECEIPT_SUFFIX, check_receipt, receipt_document
from agent.ship.retention import add_retention, longest_class, segment_class
from agent.ship.source import SegmentMeta, SegmentSource, vault_key
from agent.ship.spool import copy_to_spool
from agent.ship.state import ObjectRow, ShipState
from agent.ship.vault import Vault

log = structlog.get_logger("sessiontape.ship")
NS = 1_000_000_000


@dataclass
class ShipResult:
    """What one pass did."""

    discovered: int = 0
    shipped: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    busy: list[str] = field(default_factory=list)
    paused: str | None = None
    extended: list[str] = field(default_factory=list)  # retention raised to a longer class


class Shipper:
    """Ships sealed segments from ``source`` to ``vaults`` (primary first, then backup)."""

    def __init__(
        self,
        home: Path,
        cfg: ShipConfig,
        vaults: dict[str, Vault],
        source: SegmentSource,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        audit: AuditRecorder | None = None,
        state: ShipState | None = None,
        spool_dir: Path | None = None,
    ) -> None:
        if "primary" not in vaults:
            raise ValueError("vaults needs a 'primary' entry")
        self.home = Path(home)
        self.cfg = cfg
        self.vaults = vaults
        self.source = source
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.dir = self.home / "ship"
        self.state = state or ShipState(self.dir / "state.db")
        self.audit = audit or AuditRecorder(self.dir, self.clock)
        self.spool_dir = spool_dir or self.dir / "spool"
        self.lock_dir = self.dir / "locks"
        # ``sessiontape agent --class``: every session it ships is kept at least this long.
        self.min_class: str | None = None

    # --- posture ---------------------------------------------------------------------------
    @property
    def paused(self) -> str | None:
        """Why shipping is paused, or ``None``."""
        return self.state.meta_get("paused")

    def check_posture(self, *, force: bool = False) -> str | None:
        """Check every vault when due (or forced, or paused); return the pause reason."""
        now = self.clock.utc_ns()
        last = int(self.state.meta_get("posture_checked_ns") or 0)
        due = (
            force
            or self.paused is not None
            or not last
            or now - last >= self.cfg.posture_interval_seconds * NS
        )
        if not due:
            return self.paused
        problems: list[str] = []
        for name, vault in self.vaults.items():
            try:
                rep = posture_mod.check(vault, self.cfg, ns_to_dt(now))
            except VaultError as exc:  # transient: cannot tell; keep the previous verdict
                log.warning("ship.posture_unreachable", vault=name, error=exc.message)
                return self.paused
            problems.extend(f"{name} vault {vault.url}: {p}" for p in rep.problems)
        self.state.meta_set("posture_checked_ns", str(now))
        if problems:
            self.pause("; ".join(problems))
        elif self.paused is not None:
            log.info("ship.resumed", reason_was=self.paused)
            self.state.meta_set("paused", None)
        return self.paused

    def pause(self, reason: str) -> None:
        """Stop shipping until a posture check passes; an alert in the log and in status."""
        if self.paused != reason:
            log.error("ship.paused", alert=True, reason=reason)
        self.state.meta_set("paused", reason)

    # --- discovery -------------------------------------------------------------------------
    def retention_for(self, seg: SegmentMeta) -> tuple[str, str]:
        """(class, retain-until ISO) of a segment: sealed time + the class's period.

        The class is the one its seal records (see :mod:`agent.ship.classify`), or the
        genesis' explicit class for a seal that records none, raised to the longest class
        already given to the session's other segments and to :attr:`min_class`.
        """
        cls = segment_class(self.cfg, seg)
        known = [
            str(r[0])
            for r in self.state.query(
                "SELECT DISTINCT record_class FROM objects WHERE session_id = ?",
                (seg.session_id,),
            )
        ]
        floor = [self.min_class] if self.min_class else []
        cls = longest_class(self.cfg.retention_classes, [cls, *known, *floor])
        sealed = seg.sealed_utc_ns or self.clock.utc_ns()
        return cls, iso_seconds(add_retention(ns_to_dt(sealed), self.cfg.retention_classes[cls]))

    def scan(self) -> int:
        """Record sealed segments not yet known as ``pending``; return how many were new."""
        known = {r[0] for r in self.state.query("SELECT key FROM objects")}
        new = 0
        now = self.clock.utc_ns()
        for seg in self.source.segments():
            key = vault_key(seg)
            if not seg.sealed or key in known:
                continue
            cls, until = self.retention_for(seg)
            self.state.insert(
                "objects",
                {
                    "key": key,
                    "session_id": seg.session_id,
                    "segment_id": seg.segment_id,
                    "path": str(seg.path),
                    "size": seg.size_bytes,
                    "sealed_utc_ns": seg.sealed_utc_ns or now,
                    "record_class": cls,
                    "retain_until": until,
                    "status": "pending",
                    "discovered_ns": now,
                },
                ignore=True,
            )
            new += 1
        return new

    # --- shipping --------------------------------------------------------------------------
    def ship_once(self) -> ShipResult:
        """One pass: posture (when due), scan, ship every due pending segment."""
        res = ShipResult()
        res.paused = self.check_posture()
        if res.paused:
            return res
        res.discovered = self.scan()
        res.extended = [p["key"] for p in escalate(self)]
        now = self.clock.utc_ns()
        for row in self.state.objects("status = 'pending' AND next_attempt_ns <= ?", (now,)):
            try:
                outcome = self.ship_segment(row)
            except PostureError as exc:
                self.pause(exc.message)
                res.paused = exc.message
                self._backoff(row, exc.message)
                break
            except VaultError as exc:
                self._backoff(row, exc.message)
                res.failed[row.key] = exc.message
                continue
            {"shipped": res.shipped, "quarantined": res.quarantined, "busy": res.busy}[
                outcome
            ].append(row.key)
        return res

    def _backoff(self, row: ObjectRow, error: str) -> None:
        attempts = row.attempts + 1
        delay = min(
            self.cfg.backoff_max_seconds, self.cfg.backoff_base_seconds * 2 ** min(attempts - 1, 30)
        )
        delay_ns = int(delay * NS * (0.5 + self.rng.random() / 2))  # "equal jitter"
        log.warning(
            "ship.retry", key=row.key, attempts=attempts, delay_s=delay_ns // NS, error=error
        )
        self.state.update(
            row.key,
            attempts=attempts,
            last_error=error,
            next_attempt_ns=self.clock.utc_ns() + delay_ns,
        )

    @contextmanager
    def segment_lock(self, segment_id: str) -> Iterator[bool]:
        """A non-blocking per-segment ``flock``; yields False when another process holds it."""
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        with open(self.lock_dir / f"{segment_id}.lock", "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _spool(self, src: Path) -> Path:
        """Copy the segment to the spool so the verified bytes are the uploaded bytes."""
        return copy_to_spool(src, self.spool_dir)

    def ship_segment(self, row: ObjectRow) -> str:
        """Verify and upload one segment; return 'shipped', 'quarantined' or 'busy'."""
        with self.segment_lock(row.segment_id) as got:
            if not got:
                return "busy"
            fresh = self.state.get(row.key)
            if fresh is None or fresh.status != "pending":
                return "busy"
            spooled = self._spool(row.path)
            try:
                failure = self.source.verify(spooled)
                if failure is not None:
                    self._quarantine(row, failure)
                    return "quarantined"
                data = spooled.read_bytes()
            finally:
                spooled.unlink(missing_ok=True)
            receipts = self._upload(row, data)
            align_checkpoints(self, row)
            self.state.update(
                row.key,
                status="shipped",
                receipts=receipts,
                last_error=None,
                shipped_ns=self.clock.utc_ns(),
                attempts=row.attempts + 1,
            )
            log.info(
                "ship.shipped",
                key=row.key,
                size=len(data),
                vaults=sorted(receipts),
                retain_until=row.retain_until,
            )
            return "shipped"

    def _upload(self, row: ObjectRow, data: bytes) -> dict[str, Any]:
        until = parse_iso_seconds(row.retain_until)
        hold = bool(self.state.active_holds(row.session_id))
        digest = sha256_hex(data)
        receipts: dict[str, Any] = {}
        for name, vault in self.vaults.items():
            r = vault.put_immutable(
                row.key, data, retain_until=until, mode=self.cfg.lock_mode, legal_hold=hold
            )
            check_receipt(r, digest, until, self.cfg.lock_mode, len(data))
            doc = receipt_document(r, row)
            rr = vault.put_immutable(
                row.key + RECEIPT_SUFFIX,
                doc,
                retain_until=until,
                mode=self.cfg.lock_mode,
                legal_hold=hold,
            )
            receipts[name] = {**r.to_json(), "receipt_object_version": rr.version_id}
        return receipts

    def _quarantine(self, row: ObjectRow, failure: str) -> None:
        log.error("ship.quarantined", alert=True, key=row.key, path=str(row.path), failure=failure)
        self.state.update(
            row.key, status="quarantined", last_error=failure, attempts=row.attempts + 1
        )
        self.audit.record(
            "audit.verify",
            {
                "key": row.key,
                "where": "local",
                "ok": False,
                "check": "segment",
                "detail": failure[:500],
                "action": "quarantined",
            },
        )

    # --- local retention -------------------------------------------------------------------
    def apply_local_retention(self) -> list[Path]:
        """Delete local copies shipped ≥ ``keep_local_days`` ago whose vault copies HEAD-confirm.

        Never touches pending or quarantined segments, nor sessions under legal hold.
        """
        now = self.clock.utc_ns()
        cutoff = now - self.cfg.keep_local_days * 86400 * NS
        deleted: list[Path] = []
        for row in self.state.objects(
            "status = 'shipped' AND local_deleted_ns IS NULL AND shipped_ns <= ?", (cutoff,)
        ):
            if self.state.active_holds(row.session_id) or not self._still_confirmed(row):
                continue
            try:
                row.path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("ship.local_delete_failed", path=str(row.path), error=str(exc))
                continue
            self.state.update(row.key, local_deleted_ns=now)
            deleted.append(row.path)
        return deleted

    def _still_confirmed(self, row: ObjectRow) -> bool:
        for name, vault in self.vaults.items():
            rec = row.receipts.get(name)
            if rec is None:
                return False
            try:
                st = vault.head(row.key)
            except VaultError:
                return False
            if st.checksum_sha256 != rec["checksum_sha256"] or st.mode != rec["mode"]:
                return False
        return True

    # --- status ----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Counts, sizes and ages per status, plus the pause reason (for ``ship status``)."""
        now = self.clock.utc_ns()
        out: dict[str, Any] = {
            "paused": self.paused,
            "vaults": {k: v.url for k, v in self.vaults.items()},
        }
        for status in ("pending", "shipped", "quarantined"):
            rows = self.state.objects("status = ?", (status,))
            out[status] = {
                "count": len(rows),
                "bytes": sum(r.size for r in rows),
                "oldest_age_s": max(((now - r.sealed_utc_ns) // NS for r in rows), default=0),
                "items": [
                    {
                        "key": r.key,
                        "size": r.size,
                        "age_s": (now - r.sealed_utc_ns) // NS,
                        "attempts": r.attempts,
                        "last_error": r.last_error,
                        "local_deleted": r.local_deleted_ns is not None,
                    }
                    for r in rows[:50]
                ],
            }
        out["checkpoints_shipped"] = int(self.state.query("SELECT count(*) FROM checkpoints")[0][0])
        out["holds"] = [dict(h) for h in self.state.active_holds()]
        out["anomalies"] = self.anomalies()
        return out

    def anomalies(self) -> list[dict[str, str]]:
        """Vault anomalies over this home's shipped records, per vault."""
        from agent.ship.records import shipped_anomalies

        return shipped_anomalies(self.state.objects("status = 'shipped'"), self.vaults)
