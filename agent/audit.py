"""The access audit: every search, replay view, reveal and export, as sealed journal events.

Each audited action is written to an audit session (id ``audit-<UTC>-<random>``, record class
``audit``): a normal journal, so it is chained, signed, sealed, verifiable and shipped to WORM
like any recording (and, when ``seal.tsa_url`` is set, RFC 3161-timestamped like one).
``record_access`` returns only once the record is durable and sealed - an action whose audit
record cannot be written must not proceed (callers record first).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent.actor import actor_fields, os_actor
from agent.clock import Clock, SystemClock
from agent.config import Config
from agent.events import Event
from agent.journal.journal import Journal
from agent.journal.reader import iter_records
from agent.journal.session import SessionMeta, default_meta, new_session_id
from agent.journal.store import SessionInfo, list_sessions
from agent.keys import Keyring

AUDIT_CLASS = "audit"
AUDIT_PREFIX = "audit-"


def current_actor() -> str:
    """Who is acting: the name of the OS account running this process (see agent.actor)."""
    return os_actor().name


class AuditSession:
    """One access-audit session taking one or more records; :meth:`close` seals it.

    Each :meth:`record` returns once its record is durable (an fsynced chunk of the audit
    journal); the session is opened on the first record, so an unused one leaves nothing.
    A ship job's pass writes its records into one session rather than one session each.
    """

    def __init__(self, home: Path, config: Config, *, clock: Clock | None = None) -> None:
        self.home = Path(home)
        self.config = config
        self.clock = clock or SystemClock()
        self.session_id = ""
        self._journal: Journal | None = None

    def record(self, kind: str, payload: dict[str, Any], *, note: str | None = None) -> str:
        """Append one ``audit.*`` record; return the audit session id.

        The record carries the OS identity (``actor``, ``actor_uid``) and, when given
        (``note``, else ``$SESSIONTAPE_ACTOR``), a free-text ``note``; they are written after
        ``payload``, so a payload cannot replace them.
        """
        who = actor_fields(note)
        j = self._journal or self._open(who["actor"])
        j.append_many([Event(kind, {**payload, **who}, self.clock.utc_ns(), self.clock.mono_ns())])
        return self.session_id

    def _open(self, user: str) -> Journal:
        from agent.pipeline import make_timestamper

        meta = SessionMeta(
            user=user, workstation=default_meta(self.config).workstation, record_class=AUDIT_CLASS
        )
        self.session_id = AUDIT_PREFIX + new_session_id(self.clock.utc_ns())
        self._journal = Journal.open(
            self.home,
            self.config,
            session_id=self.session_id,
            clock=self.clock,
            keyring=Keyring.load_or_init(self.home),
            meta=meta,
            timestamper=make_timestamper(self.config),  # trusted time, as on recordings' seals
        )
        return self._journal

    def close(self) -> None:
        """Seal the session (nothing to do when no record was written)."""
        j, self._journal = self._journal, None
        if j is not None:
            j.close()


def record_access(
    home: Path,
    config: Config,
    kind: str,
    payload: dict[str, Any],
    *,
    note: str | None = None,
    clock: Clock | None = None,
) -> str:
    """Append one ``audit.*`` record in its own audit session, sealed on return; return the
    audit session id. Identity and note as :meth:`AuditSession.record` writes them."""
    session = AuditSession(home, config, clock=clock)
    try:
        return session.record(kind, payload, note=note)
    finally:
        session.close()


class SealedAuditSink:
    """The ship stage's audit callback: each ship audit event (``audit.hold``,
    ``audit.disposition``, ``audit.verify``) goes into the sealed access-audit journal.

    Outside :meth:`batch` each event is its own sealed audit session, like
    :func:`record_access`; inside, the events of one pass share one session, sealed at the end.
    Batches are per thread (the agent's scheduler runs jobs in parallel threads).
    """

    def __init__(self, home: Path, config: Config) -> None:
        self.home = Path(home)
        self.config = config
        self._local = threading.local()

    def _current(self) -> AuditSession | None:
        session: AuditSession | None = getattr(self._local, "batch", None)
        return session

    def __call__(self, event: Event) -> None:
        session = self._current()
        if session is not None:
            session.record(event.kind, event.payload)
        else:
            record_access(self.home, self.config, event.kind, event.payload)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Write this thread's events of the ``with`` block into one audit session (nested:
        the outer one)."""
        if self._current() is not None:
            yield
            return
        session = AuditSession(self.home, self.config)
        self._local.batch = session
        try:
            yield
        finally:
            self._local.batch = None
            session.close()


def is_audit(session: SessionInfo) -> bool:
    """True for access-audit sessions (excluded from recordings lists and search)."""
    return session.record_class == AUDIT_CLASS or session.session_id.startswith(AUDIT_PREFIX)


def audit_records(home: Path, kind: str | None = None) -> list[dict[str, Any]]:
    """All audit records (decrypted), oldest first; optionally one kind."""
    kr = Keyring.load(home)
    out = []
    for s in list_sessions(home):
        if not is_audit(s):
            continue
        for seg in s.segments:
            for r in iter_records(seg.path, kr):
                if r.kind.startswith("audit.") and (kind is None or r.kind == kind):
                    out.append(
                        {
                            "audit_session": s.session_id,
                            "t_utc_ns": r.t_utc_ns,
                            "kind": r.kind,
                            **r.payload,
                        }
                    )
    out.sort(key=lambda r: r["t_utc_ns"])
    return out
