"""The console's ingestion worker: vault -> verify -> search index, exactly once, resumable.

Each pass (:meth:`IngestWorker.run_once`):

1. lists the vault's segment objects (:mod:`agent.console.vault_follow`) and keeps the keys
   the worker has not finished with (its state, :mod:`agent.console.ingest_state`);
2. per session, oldest first, fetches each new segment by the version its receipt records
   (:func:`agent.ship.records.locate`: a newer version or a delete marker over the original
   is an anomaly; the original is what is read) into ``<home>/console/segments/<session>/``;
3. verifies and indexes them with :func:`agent.index.indexer.index_session` - signature,
   chain, seal and continuity against the keys this firm home trusts, decryption with the
   firm key - which skips a segment whose seal hash the index already holds;
4. records each object as done only after the index committed it (or after its anomaly is
   recorded): a crash in between makes the next pass take the object again, and the index,
   keyed by seal hash, skips it. Nothing is skipped, nothing indexed twice.

A segment that is not indexed - tampered, signed by an unknown key, not decryptable with the
firm key, malformed - is an anomaly: one line naming the object and why, kept in the state
and written as a sealed ``audit.ingest`` record of the firm home (before the object is marked
done, so a crash repeats the record rather than losing it).

When the index fails (PostgreSQL down, SQLite full or locked) or the vault cannot be listed
or read, the pass stops where it is, keeps the error (``status()['last_error']``) and leaves
the rest undone; :meth:`IngestWorker.run` retries with exponential backoff.

Lag: for each indexed object, the time it was marked done minus ``LastModified`` in the vault.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from agent.audit import AUDIT_PREFIX, AuditSession
from agent.clock import Clock, SystemClock, iso_seconds
from agent.config import Config
from agent.console.ingest_report import IngestReport, classify, misnamed
from agent.console.ingest_state import Done, IngestState
from agent.console.vault_follow import Listed, list_segments, recent_prefixes
from agent.errors import SessiontapeError, VaultError, io_error_text
from agent.index.base import SearchIndex
from agent.index.custody import Custody
from agent.index.indexer import IndexReport, index_session
from agent.journal.store import load_session
from agent.keys import Keyring, TrustStore
from agent.ship.records import Anomaly, RecordVersion
from agent.ship.vault import Vault

log = structlog.get_logger("sessiontape.console.ingest")

AUDIT_KIND = "audit.ingest"
CACHE = "segments"


class _Stop(Exception):
    """The pass stops here (the message is the report's error)."""


def _write_private(path: Path, data: bytes) -> None:
    """temp + fsync + rename, 0600 (a re-fetched copy replaces the cached one)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


class IngestWorker:
    """Follows ``vault`` and fills ``index`` from it, as the firm home ``home``.

    ``keyring`` (default: the home's) opens segments with the firm key; ``trust`` (default:
    the home's trusted keys, re-read every pass so a newly enrolled workstation is accepted
    without a restart) says whose signatures are accepted. ``receipt_grace_s``: a segment
    listed without its receipt object waits this long for it (the shipper writes the receipt
    after the segment) before it is read without one (an anomaly). ``batch``: at most this
    many new objects per pass (0: all). A pass lists the sessions started in the last
    ``lookback_s`` (a few pages however large the vault); every ``full_every_s``, and until
    such a pass leaves no backlog, it lists the whole vault, which catches late shippers
    (:mod:`agent.console.vault_follow`).
    """

    def __init__(
        self,
        home: Path,
        config: Config,
        index: SearchIndex,
        vault: Vault,
        *,
        keyring: Keyring | None = None,
        trust: TrustStore | None = None,
        clock: Clock | None = None,
        receipt_grace_s: float = 300.0,
        batch: int = 0,
        lookback_s: float = 86_400.0,
        full_every_s: float = 600.0,
    ) -> None:
        self.home = Path(home)
        self.config = config
        self.index = index
        self.vault = vault
        self.keyring = keyring or Keyring.load(self.home)
        self._trust = trust
        self.clock = clock or SystemClock()
        self.receipt_grace_ns = int(receipt_grace_s * 1e9)
        self.batch = batch
        self.lookback_s = lookback_s
        self.full_every_ns = int(full_every_s * 1e9)
        self.state = IngestState(self.home)
        self.cache = self.home / "console" / CACHE

    # --- one pass ------------------------------------------------------------------------
    def run_once(self) -> IngestReport:
        """One pass over the vault; never raises for an unavailable vault or index (the
        report's ``error`` says what stopped it, and ``status()`` keeps it)."""
        rep = IngestReport()
        t0 = time.monotonic()
        audit = AuditSession(self.home, self.config, clock=self.clock)
        try:
            self._pass(rep, audit)
        except _Stop as exc:
            rep.error = str(exc)
        finally:
            audit.close()
        rep.seconds = time.monotonic() - t0
        now = str(self.clock.utc_ns())
        if rep.error:
            log.error("ingest.pass_stopped", error=rep.error, indexed=rep.indexed)
            self.state.set_meta(
                last_pass_ns=now, last_error=rep.error, last_error_ns=now, backlog=str(rep.backlog)
            )
        else:
            self.state.set_meta(last_pass_ns=now, last_error="", backlog=str(rep.backlog))
        return rep

    def _pass(self, rep: IngestReport, audit: AuditSession) -> None:
        t0, now = time.monotonic(), self.clock.utc_ns()
        last_full = int(self.state.meta().get("last_full_ns", "0") or 0)
        rep.full = now - last_full >= self.full_every_ns
        try:
            listed = list_segments(
                self.vault, None if rep.full else recent_prefixes(now, self.lookback_s)
            )
        except VaultError as exc:
            raise _Stop(f"vault unavailable: {exc.message}") from exc
        rep.list_seconds = time.monotonic() - t0
        rep.listed = len(listed)
        done = self.state.done_keys()
        todo = [x for x in listed if x.key not in done]
        rep.new = len(todo)
        audit_objs = [x for x in todo if x.session_id.startswith(AUDIT_PREFIX)]
        self.state.mark(self._done(x, "skipped", "access-audit session") for x in audit_objs)
        rep.skipped = len(audit_objs)
        todo = [x for x in todo if not x.session_id.startswith(AUDIT_PREFIX)]
        ready = [
            x for x in todo if x.has_receipt or now - x.last_modified_ns > self.receipt_grace_ns
        ]
        rep.deferred = len(todo) - len(ready)
        if self.batch:
            ready = ready[: self.batch]
        rep.backlog = len(todo)
        by_session: dict[str, list[Listed]] = {}
        for x in ready:
            by_session.setdefault(x.session_id, []).append(x)
        for sid, items in by_session.items():
            self._session(sid, items, rep, audit)
            rep.backlog -= len(items)
        if rep.full and not rep.backlog:  # else the next pass lists everything again
            self.state.set_meta(last_full_ns=str(now))

    def _done(self, x: Listed, status: str, detail: str = "") -> Done:
        return Done(
            x.key, x.session_id, x.last_modified_ns, self.clock.utc_ns(), self.clock.utc_ns(),
            status, detail,
        )  # fmt: skip

    # --- one session -----------------------------------------------------------------------
    def _session(
        self, sid: str, items: list[Listed], rep: IngestReport, audit: AuditSession
    ) -> None:
        """Fetch, verify and index the new objects of one session; mark them done."""
        sdir = self.cache / sid
        sdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        custody, why_not = self._fetch(sdir, items, audit, rep)
        for x in items:
            if x.key not in why_not:
                bad = misnamed(sdir / _name(x.key), x.key)
                if bad is not None:
                    why_not[x.key] = bad
                    (sdir / _name(x.key)).unlink()
        info = load_session(sdir)
        ir = IndexReport()
        try:
            index_session(
                self.index,
                info,
                self.keyring,
                self._trust or self.keyring.trust(),
                limits=self.config.index.limits(),
                source="vault",
                custody=self._merged_custody(sid, custody),
                report=ir,
            )
        except Exception as exc:  # any index backend's failure: PostgreSQL down, disk full
            log.warning("ingest.index_unavailable", session_id=sid, error=str(exc))
            raise _Stop(f"index unavailable while indexing session {sid}: {_text(exc)}") from exc
        outcomes = self._outcomes(info, ir)
        finished: list[Done] = []
        for x in items:
            why = why_not.get(x.key) or outcomes.get(_name(x.key))
            if why is None:
                d = self._done(x, "indexed")
                rep.indexed += 1
                rep.lags_ms.append(d.lag_ms)
                finished.append(d)
                continue
            self._anomaly(x.key, why.split(":", 1)[0], f"{x.key}: not indexed: {why}", audit, rep)
            finished.append(self._done(x, "anomaly", why))
            if not why.startswith("not decryptable"):  # genuine, kept for a later key
                # not part of the record: out of the cache, so later passes do not index it
                (sdir / _name(x.key)).unlink(missing_ok=True)
        self.state.mark(finished)

    def _fetch(
        self, sdir: Path, items: list[Listed], audit: AuditSession, rep: IngestReport
    ) -> tuple[Custody, dict[str, str]]:
        """Each object by its record version into ``sdir``; (custody, key -> why missing)."""
        from agent.ship.records import read_record

        until, held = "", False
        missing: dict[str, str] = {}
        try:
            for x in items:
                record, anomalies = self._record_version(x)
                for a in anomalies:
                    self._anomaly(a.key, "vault", a.message, audit, rep)
                if record is None:
                    missing[x.key] = "missing: no version of it in the vault"
                    continue
                data, bad = read_record(self.vault, record)
                for a in bad:
                    self._anomaly(a.key, "vault", a.message, audit, rep)
                _write_private(sdir / _name(x.key), data)
                st = self.vault.head_version(x.key, record.version_id)
                until = max(until, iso_seconds(st.retain_until) if st.retain_until else "")
                held = held or st.legal_hold
        except VaultError as exc:
            raise _Stop(f"vault unavailable while reading {x.key}: {exc.message}") from exc
        return Custody(shipped=True, retain_until=until, held=held), missing

    def _record_version(self, x: Listed) -> tuple[RecordVersion | None, list[Anomaly]]:
        """Which version of ``x`` is the record. When the listing showed the segment and its
        receipt each with one version and no delete marker, the receipt (read by that version)
        must name that version; anything else is located in full, anomalies and all."""
        from agent.ship.receipts import RECEIPT_SUFFIX
        from agent.ship.records import locate

        if x.version_id and x.receipt_version_id:
            raw = self.vault.get_version(x.key + RECEIPT_SUFFIX, x.receipt_version_id)
            try:
                doc = json.loads(raw)
            except ValueError:
                doc = None
            if isinstance(doc, dict) and doc.get("version_id") == x.version_id:
                src = f"receipt {x.receipt_version_id}"
                digest, size = str(doc.get("checksum_sha256") or ""), int(doc.get("size") or 0)
                return RecordVersion(x.key, x.version_id, digest, size, src), []
        loc = locate(self.vault, x.key)
        return loc.record, loc.anomalies

    def _merged_custody(self, sid: str, new: Custody) -> Custody:
        old = self.index.session(sid)
        if old is None:
            return new
        return Custody(
            shipped=True,
            retain_until=max(old.retain_until, new.retain_until),
            held=old.held or new.held,
        )

    @staticmethod
    def _outcomes(info: Any, ir: IndexReport) -> dict[str, str]:
        """File name -> why it was not indexed, for the segments of this run that were not."""
        names = {(s.segment_id or s.path.stem, s.index): s.path.name for s in info.segments}
        out: dict[str, str] = {}
        for e in ir.failed:
            name = names.get((e["segment_id"], e["index"]))
            if name:
                out[name] = f"{classify(str(e['detail']))}: {e['detail']}"
        for e in ir.undecryptable:
            name = names.get((e["segment_id"], e["index"]))
            if name:
                out[name] = f"not decryptable with the firm key: {e['detail']}"
        for s in info.segments:
            if not s.error and not s.sealed:
                out[s.path.name] = "malformed: the segment is not sealed"
        return out

    def _anomaly(
        self, key: str, kind: str, message: str, audit: AuditSession, rep: IngestReport
    ) -> None:
        """Record an anomaly once: sealed audit record first, then the state."""
        rep.anomalies.append(message)
        if self.state.has_anomaly(key, message):
            return
        log.error("ingest.anomaly", key=key, kind=kind, message=message)
        audit.record(AUDIT_KIND, {"key": key, "reason": kind, "message": message,
                                  "vault": self.vault.url})  # fmt: skip
        self.state.add_anomaly(key, kind, message, self.clock.utc_ns())

    # --- running -------------------------------------------------------------------------
    def run(
        self,
        stop: threading.Event,
        interval: float = 10.0,
        *,
        max_backoff: float = 300.0,
        on_report: Callable[[IngestReport], None] | None = None,
    ) -> None:
        """Pass after pass until ``stop`` is set: ``interval`` seconds apart, and after a
        failed pass twice the previous wait (at most ``max_backoff``), so a down index or
        vault is retried without being hammered."""
        wait = interval
        while not stop.is_set():
            try:
                rep = self.run_once()
            except Exception as exc:  # a bug or an unforeseen failure: log, back off, retry
                log.exception("ingest.pass_crashed", error=str(exc))
                rep = IngestReport(error=f"pass failed: {_text(exc)}")
            if on_report is not None:
                on_report(rep)
            wait = min(max_backoff, max(interval, wait * 2)) if rep.error else interval
            if not rep.error and rep.backlog > rep.deferred:
                wait = 0.0  # more ready than a batch took: the next batch now
            stop.wait(wait)

    def status(self, window_s: float = 3600.0) -> dict[str, Any]:
        """Lag p50/p95 over the last ``window_s`` seconds, backlog, counts, anomalies, last
        pass and last error (:meth:`IngestState.status`)."""
        return self.state.status(self.clock.utc_ns(), window_s)

    def close(self) -> None:
        """Release the state file (the index and the vault belong to the caller)."""
        self.state.close()


def _name(key: str) -> str:
    """The file name of segment ``key`` (``<index>-<segment>.stj``)."""
    return key.rsplit("/", 1)[1]


def _text(exc: BaseException) -> str:
    if isinstance(exc, SessiontapeError):
        return exc.message
    return io_error_text(exc)
