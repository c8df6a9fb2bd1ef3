"""A session's journal: sequence numbers, clocks, rotation, checkpoints, seals, recovery.

``Journal.append_many(events)`` assigns dense ``seq`` numbers, writes one or more chunks and
returns the seqs only once they are committed (*None means durable*; here, the returned
list). It is synchronous and single-threaded; :class:`agent.journal.sink.JournalSink` adds
group commit for async producers. ``tick()`` writes due checkpoints (every
``checkpoint_active_seconds`` while events flow, every ``checkpoint_idle_seconds`` when idle)
and rotates by time; ``close()`` seals.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import structlog

from agent.canonical import canonical_bytes, sha256
from agent.clock import Clock, SystemClock
from agent.config import Config
from agent.errors import JournalClosed, JournalError, io_error_text
from agent.events import Event, to_record
from agent.journal.identity import next_counter
from agent.journal.outage import Outage, Sidecar
from agent.journal.segment import SegmentWriter
from agent.journal.session import SessionMeta as SessionMeta
from agent.journal.session import default_meta as default_meta
from agent.journal.session import journals_dir, lock_session, meta_fields, resume_payload
from agent.journal.session import new_session_id as new_session_id
from agent.keys import Keyring
from agent.keystore.firmwrap import Recipient, configured_recipients
from agent.seal import format as fmt
from agent.seal.crypto import new_dek
from agent.ship.classify import SessionClassifier

log = structlog.get_logger("sessiontape.journal")

Timestamper = Callable[[bytes], bytes | None]

# Closing retries the seal this many times, this far apart, before leaving it to recovery.
SEAL_ATTEMPTS = 3
SEAL_RETRY_S = 0.5


class Journal:
    """The writer for one recording session (a chain of segments)."""

    def __init__(
        self,
        home: Path,
        config: Config,
        keyring: Keyring,
        clock: Clock,
        session_id: str,
        meta: SessionMeta,
        *,
        timestamper: Timestamper | None,
        lock: IO[str],
        prev_seal_hash: str,
        next_index: int,
        next_seq: int,
    ) -> None:
        self.home = home
        self.config = config
        self.keyring = keyring
        self.clock = clock
        self.session_id = session_id
        self.meta = meta
        self.dir = journals_dir(home) / session_id
        self._timestamper = timestamper
        self._lock = lock
        self._prev_seal_hash = prev_seal_hash
        self._next_index = next_index
        self._next_seq = next_seq
        self._signer = keyring.signer()
        self._seg: SegmentWriter | None = None
        self._seg_opened_mono = self._last_cp_mono = 0
        self._offset = clock.utc_ns() - clock.mono_ns()
        self.closed = False
        self.segments: list[Path] = []
        self.seal_hashes: list[str] = []
        self.sidecar = Sidecar(self.dir)
        self.outage = Outage(self.sidecar)
        self._counter: tuple[str, int] | None = None  # taken, not yet used by a segment
        self._recipients: list[Recipient] = []  # firm keys every data key is wrapped to
        self._ended = False  # session.end is written
        self.classifier = SessionClassifier.of(config, meta.record_class)

    # --- opening --------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        home: Path,
        config: Config,
        *,
        session_id: str | None = None,
        user: str | None = None,
        clock: Clock | None = None,
        keyring: Keyring | None = None,
        timestamper: Timestamper | None = None,
        meta: SessionMeta | None = None,
    ) -> Journal:
        """Start a new session, or resume ``session_id`` after a crash (recovering it first).

        Resuming seals any unsealed segment with reason ``recovered`` (recovery records the
        interruption as a ``capture.gap`` event in it) and starts the next segment with an
        ``agent.start`` event.
        """
        from agent.journal.recovery import recover_session, session_tail

        clock = clock or SystemClock()
        meta = meta or default_meta(config, user)
        recipients = configured_recipients(config.seal.firm, warn=meta.record_class != "audit")
        keyring = keyring or Keyring.load_or_init(home, config.seal.keys)
        resumed = session_id is not None and (journals_dir(home) / session_id).is_dir()
        if session_id is None:
            session_id = new_session_id(clock.utc_ns())
        sdir = journals_dir(home) / session_id
        sdir.mkdir(parents=True, exist_ok=True)
        lock = lock_session(sdir, session_id)
        prev, idx, seq, last_t = "0" * 64, 0, 0, None
        if resumed:
            recover_session(sdir, keyring, clock)
            prev, idx, seq, last_t = session_tail(sdir)
        try:
            Sidecar(sdir).allocate()
        except JournalError:
            lock.close()
            raise
        j = cls(
            home,
            config,
            keyring,
            clock,
            session_id,
            meta,
            timestamper=timestamper,
            lock=lock,
            prev_seal_hash=prev,
            next_index=idx,
            next_seq=seq,
        )
        j._recipients = recipients
        j.append_many([j._first_event(resumed, last_t)])
        return j

    def _first_event(self, resumed: bool, last_t: int | None) -> Event:
        """``session.start`` (who, where, after which session), or ``agent.start`` on resume."""
        if resumed:
            return self._event("agent.start", resume_payload(last_t))
        return self._event("session.start", meta_fields(self.meta))

    def _event(self, kind: str, payload: dict[str, Any]) -> Event:
        return Event(kind, payload, self.clock.utc_ns(), self.clock.mono_ns())

    # --- segments -------------------------------------------------------------------------
    def _open_segment(self) -> SegmentWriter:
        try:
            # A counter taken for a segment that could not be created is used by the next
            # attempt, so a failed creation never looks like a missing segment.
            self._counter = self._counter or next_counter(self.home)
        except OSError as exc:
            raise JournalError(
                f"{self.home}: cannot take a segment counter: {io_error_text(exc)}"
            ) from exc
        agent_id, counter = self._counter
        dek = new_dek()
        seg_id = secrets.token_hex(8)
        genesis = {
            "v": fmt.GENESIS_VERSION,
            "type": "genesis",
            "format": fmt.FORMAT_VERSION,
            "segment_id": seg_id,
            "session_id": self.session_id,
            "segment_index": self._next_index,
            "agent_id": agent_id,
            "agent_counter": counter,
            "prev_seal_hash": self._prev_seal_hash,
            "seq_first": self._next_seq,
            "created_utc_ns": self.clock.utc_ns(),
            "created_mono_ns": self.clock.mono_ns(),
            **self.keyring.genesis_key_fields(dek, seg_id, self._recipients),
            "cipher": "AES-256-GCM",
            "compression": "zstd",
            "key_id": self._signer.key_id,
            **meta_fields(self.meta),
        }
        path = self.dir / f"{self._next_index:06d}-{seg_id}{fmt.SEGMENT_SUFFIX}"
        seg = SegmentWriter.create(path, genesis, dek, self._signer, self.config.journal.zstd_level)
        self._counter = None
        self._next_index += 1
        self._seg_opened_mono = self.clock.mono_ns()
        self._last_cp_mono = self._seg_opened_mono
        self.segments.append(path)
        log.info(
            "segment.opened", session=self.session_id, segment=seg_id, index=int(path.name[:6])
        )
        return seg

    def _seal_current(self, reason: str) -> None:
        seg = self._seg
        if seg is None:
            return
        body = seg.seal_body(reason, self.clock.utc_ns(), self.classifier.decision())
        tst = None
        if self._timestamper is not None:
            try:
                tst = self._timestamper(sha256(canonical_bytes(body)))
            except Exception as exc:  # a TSA outage must not lose the seal
                log.warning(
                    "tsa.failed",
                    session=self.session_id,
                    segment=seg.segment_id,
                    error=type(exc).__name__,
                )
        _, seal_hash = seg.seal(reason, body["sealed_utc_ns"], tst, body=body)
        self._prev_seal_hash = seal_hash.hex()
        self.seal_hashes.append(seal_hash.hex())
        self._seg = None
        log.info(
            "segment.sealed",
            session=self.session_id,
            segment=seg.segment_id,
            reason=reason,
            events=seg.event_count,
        )

    # --- appending ------------------------------------------------------------------------
    def append_many(self, events: Sequence[Event]) -> list[int]:
        """Write events durably; return their seqs. Raises ``JournalError`` if not written.

        After an outage the first commit that succeeds starts with the ``capture.gap`` that
        records it (the returned seqs are still only those of ``events``). A failure after
        the events were committed (a checkpoint, a rotation's seal) is retried later and does
        not make the call fail: the events are durable.
        """
        if self.closed:
            raise JournalClosed(f"session {self.session_id} is closed")
        if not events:
            return []
        for ev in events:
            ev.validate()
        batch = list(events)
        gap = self.outage.gap_for(batch, self.clock.utc_ns(), self.clock.mono_ns())
        lead = [e for e in (self._check_clock(), gap) if e is not None]
        try:
            seqs = self._write(lead + batch)
        except JournalClosed:
            raise
        except (JournalError, OSError) as exc:
            self.outage.refused(batch, exc, self.clock.utc_ns())
            err = JournalError(
                f"session {self.session_id}: events not written: {io_error_text(exc)}"
            )
            err.recorded_as_gap = True
            raise err from exc
        self.outage.ended()
        self._maintain()
        return seqs[len(lead) :]

    def _maintain(self) -> None:
        """Rotate and checkpoint when due; a failure is logged and retried on the next call."""
        seg = self._seg
        try:
            if seg is not None and seg.bytes_written >= self.config.journal.rotate_bytes:
                self._seal_current("rotated")
            self.tick()
        except JournalError as exc:
            log.warning(
                "journal.maintenance_failed", session=self.session_id, error=io_error_text(exc)
            )

    def _write(self, batch: list[Event]) -> list[int]:
        """Commit ``batch`` as chunks of the current segment (opened if needed); their seqs."""
        cfg = self.config.journal
        # Group commit: every chunk of this call in one transaction (one fsync).
        if self._seg is None:
            self._seg = self._open_segment()
        seq = self._next_seq
        chunks: list[list[dict[str, Any]]] = []
        for start in range(0, len(batch), cfg.chunk_max_events):
            part = batch[start : start + cfg.chunk_max_events]
            chunks.append([to_record(ev, seq + i) for i, ev in enumerate(part)])
            seq += len(part)
        self._seg.write_chunks(chunks)  # raises JournalError: seqs not consumed
        self._next_seq = seq
        self.classifier.observe_all((ev.kind, ev.payload) for ev in batch)
        return [r["seq"] for c in chunks for r in c]

    def _check_clock(self) -> Event | None:
        utc, mono = self.clock.utc_ns(), self.clock.mono_ns()
        offset = utc - mono
        delta = offset - self._offset
        threshold = self.config.journal.clock_jump_threshold_ms * 1_000_000
        if delta < -1_000_000 or delta > threshold:
            self._offset = offset
            direction = "backward" if delta < 0 else "forward"
            return Event("clock.jump", {"delta_ns": delta, "direction": direction}, utc, mono)
        return None

    def tick(self) -> None:
        """Write a checkpoint if due; rotate the segment if it is old enough."""
        if self.closed or self._seg is None:
            return
        seg = self._seg
        now = self.clock.mono_ns()
        scfg = self.config.seal
        since = now - self._last_cp_mono
        changed = seg.tree.size != seg.last_checkpoint_size
        if (
            changed and since >= scfg.checkpoint_active_seconds * 1_000_000_000
        ) or since >= scfg.checkpoint_idle_seconds * 1_000_000_000:
            seg.checkpoint(self.clock.utc_ns(), now)
            self._last_cp_mono = now
        if now - self._seg_opened_mono >= self.config.journal.rotate_seconds * 1_000_000_000:
            self._seal_current("rotated")

    def checkpoint_now(self) -> None:
        """Write a checkpoint immediately (tests, shutdown)."""
        if self._seg is not None:
            self._seg.checkpoint(self.clock.utc_ns(), self.clock.mono_ns())
            self._last_cp_mono = self.clock.mono_ns()

    def close(self, reason: str = "closed", *, next_session: str | None = None) -> None:
        """Record ``session.end`` (naming ``next_session``, the session that follows, when
        known), seal the last segment, release the session lock.

        A failed write is retried ``SEAL_ATTEMPTS`` times. If the segment still cannot be
        sealed (the disk stays full) it is left unsealed, named in the session's outage
        record for recovery, and a non-retryable ``JournalError`` names it.
        """
        if self.closed:
            return
        payload = {"reason": reason, **({"next_session": next_session} if next_session else {})}
        end = self._event("session.end", payload)  # one event, however many tries
        try:
            for attempt in range(SEAL_ATTEMPTS):
                try:
                    self._finish(end)
                    return
                except JournalClosed:
                    raise
                except JournalError as exc:
                    error = exc
                    if attempt + 1 < SEAL_ATTEMPTS:
                        time.sleep(SEAL_RETRY_S * (attempt + 1))
            self._give_up(error)
        finally:
            self.closed = True
            self._lock.close()

    def _finish(self, end: Event) -> None:
        """One attempt at the end of the session: ``session.end`` (once), checkpoint, seal."""
        if not self._ended:
            self.append_many([end])
            self._ended = True
        seg = self._seg
        if seg is None:
            return
        try:
            if seg.last_checkpoint_size != seg.tree.size:
                seg.checkpoint(self.clock.utc_ns(), self.clock.mono_ns())
            self._seal_current("closed")
        except JournalError as exc:
            self.outage.refused([], exc, self.clock.utc_ns())
            raise
        self.outage.ended()  # a seal that failed before is on the record no more: it is sealed

    def _give_up(self, error: JournalError) -> None:
        """Leave the segment unsealed for recovery, say so in the outage record, and raise."""
        seg = self._seg
        if seg is None:  # session.end could not open a segment; nothing is left unsealed
            raise JournalError(
                f"session {self.session_id}: not closed: {io_error_text(error)}", retryable=False
            ) from error
        self.outage.left_unsealed(seg.path)
        seg.close()
        self._seg = None
        raise JournalError(
            f"{seg.path}: cannot seal: {io_error_text(error)}; left unsealed, "
            "the next start recovers and seals it",
            retryable=False,
        ) from error

    def abandon(self) -> None:
        """Stop without sealing (what a crash leaves); used by tests and fatal paths."""
        if self._seg is not None:
            self._seg.close()
            self._seg = None
        self.closed = True
        self._lock.close()

    @property
    def next_seq(self) -> int:
        return self._next_seq
