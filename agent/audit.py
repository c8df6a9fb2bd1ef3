"""The access audit: every search, replay view, reveal and export, as sealed journal events.

Each audited action is written to an audit session (id ``audit-<UTC>-<random>``, record class
``audit``): a normal journal, so it is chained, signed, sealed, verifiable and shipped to WORM
like any recording (and, when ``seal.tsa_url`` is set, RFC 3161-timestamped like one).
``record_access`` returns only once the record is durable and sealed - an action whose audit
record cannot be written must not proceed (callers record first).
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

from agent.clock import Clock, SystemClock
from agent.config import Config
from agent.events import Event
from agent.journal.journal import Journal, SessionMeta, default_meta, new_session_id
from agent.journal.reader import iter_records
from agent.journal.store import SessionInfo, list_sessions
from agent.keys import Keyring

AUDIT_CLASS = "audit"
AUDIT_PREFIX = "audit-"


def current_actor() -> str:
    """Who is acting: ``$SESSIONTAPE_ACTOR`` or the OS user."""
    if os.environ.get("SESSIONTAPE_ACTOR"):
        return os.environ["SESSIONTAPE_ACTOR"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def record_access(
    home: Path,
    config: Config,
    kind: str,
    payload: dict[str, Any],
    *,
    actor: str | None = None,
    clock: Clock | None = None,
) -> str:
    """Append one ``audit.*`` record (sealed on return); return the audit session id."""
    clock = clock or SystemClock()
    actor = actor or current_actor()
    meta = SessionMeta(
        user=actor, workstation=default_meta(config).workstation, record_class=AUDIT_CLASS
    )
    sid = AUDIT_PREFIX + new_session_id(clock.utc_ns())
    from agent.pipeline import make_timestamper

    j = Journal.open(
        home,
        config,
        session_id=sid,
        clock=clock,
        keyring=Keyring.load_or_init(home),
        meta=meta,
        timestamper=make_timestamper(config),  # trusted time, as on recordings' seals
    )
    try:
        j.append_many([Event(kind, {"actor": actor, **payload}, clock.utc_ns(), clock.mono_ns())])
    finally:
        j.close()
    return sid


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
