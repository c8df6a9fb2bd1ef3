"""Filling a :class:`~agent.index.base.SearchIndex` from sealed journals (local; the vault's
are restored first by :mod:`agent.index.from_vault`).

Every segment is verified (chain, checkpoints, seal, trusted key) before anything from it is
indexed. A segment that fails is recorded as *failed verification* (metadata only: session,
segment, the failing check) and reported - never indexed as good, never skipped silently.
Unsealed segments wait until they are sealed. Incremental runs skip segments whose seal hash
is already indexed, so :func:`index_new_segments` is cheap enough for a scheduler job.

Continuity is checked segment to segment (each genesis must name the previous segment's
seal); a gap marks the session failed with the reason. A verified segment that no key held
here opens (neither the workstation's KEK nor a firm key) is *undecryptable here*: reported,
not indexed, not a failure, and indexed by the first run in a home that holds a key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from agent.audit import is_audit
from agent.config import Config
from agent.errors import KeyMaterialError, KeyUnavailable, SessiontapeError, UsageError
from agent.index import carry as carried
from agent.index.backend import open_index as open_index  # the factory, re-exported
from agent.index.base import SearchIndex, SegmentRecord, SessionMeta
from agent.index.custody import Custody, ship_custody
from agent.index.extract import Extractor, Limits, Row
from agent.journal.reader import iter_records
from agent.journal.store import SegmentInfo, SessionInfo, load_session
from agent.keys import Keyring, TrustStore
from agent.seal.verify import SegmentReport, verify_segment

log = structlog.get_logger("sessiontape.index")


@dataclass
class IndexReport:
    """What one indexing run did."""

    sessions: int = 0
    segments_indexed: int = 0
    segments_skipped: int = 0
    segments_unsealed: int = 0
    rows: int = 0
    events_read: int = 0
    seconds: float = 0.0
    failed: list[dict[str, Any]] = field(default_factory=list)
    # verified, but no key held here opens them: not indexed, retried by the next run
    undecryptable: list[dict[str, Any]] = field(default_factory=list)
    anomalies: list[dict[str, str]] = field(default_factory=list)  # vault anomalies

    @property
    def ok(self) -> bool:
        return not self.failed and not self.anomalies and not self.undecryptable

    def as_dict(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "segments_indexed": self.segments_indexed,
            "segments_skipped": self.segments_skipped,
            "segments_unsealed": self.segments_unsealed,
            "rows": self.rows,
            "events_read": self.events_read,
            "seconds": round(self.seconds, 3),
            "failed": self.failed,
            "undecryptable": self.undecryptable,
            "anomalies": self.anomalies,
            "ok": self.ok,
        }


def _seg_record(s: SegmentInfo, source: str) -> SegmentRecord:
    key = s.seal_hash_hex or f"unreadable:{s.session_id}:{s.path.name}"
    return SegmentRecord(
        segment_id=s.segment_id or s.path.stem,
        session_id=s.session_id,
        index=s.index,
        seal_hash=key,
        events=s.event_count,
        t_first_ns=s.t_first_utc_ns,
        t_last_ns=s.t_last_utc_ns,
        source=source,
    )


def _failure(rep: SegmentReport) -> str | None:
    if rep.status == "unsealed":
        return None
    ff = rep.first_failure
    if ff is not None:
        return f"{ff.name}: {ff.detail}" + (f" ({ff.where})" if ff.where else "")
    return None if rep.passed else f"status {rep.status}"


def _read_rows(path: Path, keyring: Keyring, ex: Extractor) -> tuple[list[Row], int]:
    rows: list[Row] = []
    n = 0
    for rec in iter_records(path, keyring, columns=True):  # the mirror takes texts as columns
        rows.extend(ex.feed(rec))
        n += 1
    rows.extend(ex.flush())
    return rows, n


def _warm(done: list[SegmentInfo], keyring: Keyring, limits: Limits | None) -> Extractor:
    """An extractor whose DOM mirrors are rebuilt from already-indexed segments.

    Replays from the last of them that holds a full snapshot (a keyframe), so a click in a new
    segment still gets the text of a button first seen in an earlier one.
    """
    start = max((i for i, s in enumerate(done) if s.kinds.get("rrweb.full_snapshot")), default=0)
    ex = Extractor(limits)
    try:
        for s in done[start:]:
            _read_rows(s.path, keyring, ex)
    except SessiontapeError:
        return Extractor(limits)
    ex.facts = type(ex.facts)()
    return ex


def index_session(
    ix: SearchIndex,
    info: SessionInfo,
    keyring: Keyring,
    trust: TrustStore,
    *,
    limits: Limits | None = None,
    source: str = "dir",
    custody: Custody | None = None,
    report: IndexReport | None = None,
    force: bool = False,
    carry: carried.Carry | None = None,
) -> IndexReport:
    """Verify and index the new sealed segments of one session; update its metadata.

    With ``carry`` (kept by the caller between runs), an extractor left by the previous run
    at the last segment indexed stands in for replaying the segments before it.
    """
    rep = report or IndexReport()
    rep.sessions += 1
    ex = Extractor(limits)
    segs = sorted(info.segments, key=lambda s: (s.index, s.path.name))
    skipped: list[SegmentInfo] = []  # indexed earlier; replayed (rows discarded) for state
    failed = unsealed = unreadable = False
    prev_seal: dict[int, str] = {s.index: s.seal_hash_hex for s in segs if not s.error}
    for s in segs:
        rec = _seg_record(s, source)
        if s.error:
            _fail(ix, rec, f"format: {s.error}", rep)
            failed = True
            continue
        if not s.sealed:
            rep.segments_unsealed += 1
            unsealed = True
            continue
        if not force and ix.has_segment(rec.seal_hash):
            rep.segments_skipped += 1
            skipped.append(s)
            continue
        why = _verify_failure(s, trust, prev_seal)
        if why is not None:
            _fail(ix, rec, why, rep)
            failed = True
            continue
        if skipped:
            held = carried.take(carry, info.session_id, skipped[-1].seal_hash_hex, limits)
            ex = held if held is not None else _warm(skipped, keyring, limits)
            skipped = []
        outcome = _add_segment(ix, s, rec, keyring, ex, rep)
        carried.keep(carry, info.session_id, s.seal_hash_hex if outcome == "indexed" else None, ex)
        if outcome != "indexed":
            failed = failed or outcome == "failed"
            unreadable = unreadable or outcome == "undecryptable"
            ex = Extractor(limits)
    failed = failed or bool(ix.failures(info.session_id))
    verified = "failed" if failed else ("pending" if unsealed or unreadable else "verified")
    ix.upsert_session(_session_meta(info, segs, custody or Custody(), verified, source))
    return rep


def _add_segment(
    ix: SearchIndex,
    s: SegmentInfo,
    rec: SegmentRecord,
    keyring: Keyring,
    ex: Extractor,
    rep: IndexReport,
) -> str:
    """Decrypt and index one verified segment: ``indexed``, ``failed``, or ``undecryptable``
    (no key held here opens it: a key problem, not damage, left for a run that has one)."""
    try:
        rows, n = _read_rows(s.path, keyring, ex)
    except KeyUnavailable as exc:
        rep.undecryptable.append(_entry(rec, exc.message.removeprefix(f"{s.path}: ")))
        return "undecryptable"
    except SessiontapeError as exc:
        what = f"decrypt: {exc.message}" if isinstance(exc, KeyMaterialError) else exc.message
        _fail(ix, rec, what, rep)
        return "failed"
    rep.rows += ix.add_segment(rec, rows, ex.facts)
    rep.events_read += n
    rep.segments_indexed += 1
    return "indexed"


def _verify_failure(s: SegmentInfo, trust: TrustStore, prev_seal: dict[int, str]) -> str | None:
    """Why a sealed segment must not be indexed (verification or continuity), or ``None``."""
    vr = verify_segment(s.path, trust)
    why = _failure(vr)
    if why is None and s.index > 0 and vr.prev_seal_hash != prev_seal.get(s.index - 1):
        why = (
            f"continuity: segment {s.index - 1} of session {s.session_id} is missing "
            "or does not match this segment's genesis"
        )
    return why


def _session_meta(
    info: SessionInfo, segs: list[SegmentInfo], custody: Custody, verified: str, source: str
) -> SessionMeta:
    good = [s for s in segs if not s.error]
    return SessionMeta(
        session_id=info.session_id,
        user=info.user,
        workstation=info.workstation,
        agent_id=good[0].agent_id if good else "",
        record_class=info.record_class,
        start_ns=info.start_utc_ns,
        end_ns=info.end_utc_ns,
        retain_until=custody.retain_until,
        held=custody.held,
        shipped=custody.shipped,
        verified=verified,
        source=source,
    )


def _fail(ix: SearchIndex, rec: SegmentRecord, why: str, rep: IndexReport) -> None:
    log.error(
        "index.segment_failed_verification",
        session_id=rec.session_id,
        segment_id=rec.segment_id,
        index=rec.index,
        check=why.split(":", 1)[0],
    )
    ix.mark_segment_failed(rec, why)
    rep.failed.append(_entry(rec, why))


def _entry(rec: SegmentRecord, detail: str) -> dict[str, Any]:
    return {
        "session_id": rec.session_id,
        "segment_id": rec.segment_id,
        "index": rec.index,
        "detail": detail,
    }


def _journal_root(directory: Path) -> Path:
    if (directory / "journals").is_dir():
        return directory / "journals"
    return directory


def index_dir(
    ix: SearchIndex,
    directory: Path,
    keyring: Keyring,
    trust: TrustStore,
    *,
    limits: Limits | None = None,
    custody: dict[str, Custody] | None = None,
    source: str = "dir",
    carry: carried.Carry | None = None,
) -> IndexReport:
    """Index every session directory under ``directory`` (a home or a journals dir); ``carry``
    as for :func:`index_session`."""
    t0 = time.monotonic()
    root = _journal_root(directory)
    if not root.is_dir():
        raise UsageError(f"{directory}: no such directory")
    rep = IndexReport()
    custody = custody or {}
    for sdir in sorted(p for p in root.iterdir() if p.is_dir()):
        info = load_session(sdir)
        if not info.segments or is_audit(info):
            continue
        index_session(
            ix,
            info,
            keyring,
            trust,
            limits=limits,
            source=source,
            custody=custody.get(info.session_id),
            report=rep,
            carry=carry,
        )
    rep.seconds = time.monotonic() - t0
    log.info(
        "index.run",
        **{k: v for k, v in rep.as_dict().items() if k != "failed"},
        failed_count=len(rep.failed),
    )
    return rep


def _trust(home: Path, trust_dir: Path | None) -> TrustStore:
    trust = TrustStore.from_dir(trust_dir) if trust_dir else Keyring.load(home).trust()
    if not trust.keys:
        raise KeyMaterialError(
            "no trusted public keys to verify segments against: run "
            "`sessiontape keys init` or pass --trust DIR"
        )
    return trust


def index_new_segments(home: Path, config: Config, *, trust_dir: Path | None = None) -> IndexReport:
    """Incremental update from ``<home>/journals`` (the scheduler job calls this), continuing
    from what the previous run in this process left (:mod:`agent.index.carry`)."""
    ix = open_index(home, config)
    try:
        return index_dir(
            ix,
            home,
            Keyring.load(home),
            _trust(home, trust_dir),
            limits=config.index.limits(),
            custody=ship_custody(home),
            carry=carried.for_home(str(home.resolve())),
        )
    finally:
        ix.close()


def rebuild_from_dir(
    home: Path, config: Config, directory: Path | None = None, *, trust_dir: Path | None = None
) -> IndexReport:
    """Drop the index and rebuild it from local journals (``directory`` or the home's)."""
    ix = open_index(home, config, rekey=True)
    try:
        trust = _trust(home, trust_dir)
        ix.clear()
        rep = index_dir(
            ix,
            directory or home,
            Keyring.load(home),
            trust,
            limits=config.index.limits(),
            custody=ship_custody(home),
        )
        _optimize(ix)
        return rep
    finally:
        ix.close()


def _optimize(ix: SearchIndex) -> None:
    opt = getattr(ix, "optimize", None)
    if callable(opt):
        opt()


def job_index(home: str) -> None:
    """APScheduler job (module-level, takes only the home path, so it pickles).

    Runs :func:`index_new_segments`; failures are logged (a failed verification as an error
    with the segment named), never raised into the scheduler.
    """
    from agent.config import load_config

    try:
        rep = index_new_segments(Path(home), load_config(home=Path(home)))
        if rep.failed:
            log.error("index.job_failed_verification", alert=True, count=len(rep.failed))
        if rep.undecryptable:
            log.warning("index.job_undecryptable", count=len(rep.undecryptable))
    except SessiontapeError as exc:
        log.error("index.job_failed", error=exc.message, retryable=exc.retryable)
    except Exception as exc:  # a job must never kill the scheduler; the next run retries
        log.exception("index.job_crashed", error=str(exc))
