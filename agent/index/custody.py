"""Custody of a session - shipped, retain-until, legal hold - as the index records it.

From the local ship state (:func:`ship_custody`, read-only) or, when rebuilding from the
vault alone, from the state of each segment's record version (:func:`restore_all`).
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from agent.clock import iso_seconds

if TYPE_CHECKING:
    from agent.ship.vault import Vault

log = structlog.get_logger("sessiontape.index")


@dataclass(frozen=True)
class Custody:
    """Retention/hold/shipped state of a session, from the ship state or the vault."""

    shipped: bool = False
    retain_until: str = ""
    held: bool = False


def ship_custody(home: Path) -> dict[str, Custody]:
    """Per-session custody from ``<home>/ship/state.db`` (read-only; empty when absent)."""
    path = home / "ship" / "state.db"
    if not path.exists():
        return {}
    out: dict[str, Custody] = {}
    try:
        con = sqlite3.connect(
            "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro", uri=True
        )
        try:
            shipped: dict[str, list[bool]] = defaultdict(list)
            until: dict[str, str] = {}
            for sid, status, ru in con.execute(
                "SELECT session_id, status, retain_until FROM objects"
            ):
                shipped[sid].append(status == "shipped")
                until[sid] = max(until.get(sid, ""), ru or "")
            held = {
                r[0] for r in con.execute("SELECT session_id FROM holds WHERE released_ns IS NULL")
            }
        finally:
            con.close()
    except sqlite3.Error as exc:
        log.warning("index.ship_state_unreadable", path=str(path), error=str(exc))
        return {}
    for sid in set(shipped) | held:
        out[sid] = Custody(
            shipped=bool(shipped.get(sid)) and all(shipped[sid]),
            retain_until=until.get(sid, ""),
            held=sid in held,
        )
    return out


def restore_all(
    vault: Vault, journals: Path
) -> tuple[dict[str, Custody], list[dict[str, str]], int]:
    """Restore every session the vault holds under ``journals/<session>/``, each segment by
    the version its receipt records (:mod:`agent.ship.restore`).

    Returns each session's custody from the record versions' own state (shipped, the latest
    retain-until of its segments, held when any is under legal hold), the vault anomalies
    found (as dicts), and how many sessions the vault holds.
    """
    from agent.ship.records import vault_sessions
    from agent.ship.restore import restore_session

    custody: dict[str, Custody] = {}
    anomalies: list[dict[str, str]] = []
    sessions = vault_sessions(vault)
    for sid in sessions:
        res = restore_session(journals.parent, sid, vault, root=journals)
        anomalies.extend(a.as_dict() for a in res.anomalies)
        until, held = "", False
        for rec in res.records:
            st = vault.head_version(rec.key, rec.version_id)
            until = max(until, iso_seconds(st.retain_until) if st.retain_until else "")
            held = held or st.legal_hold
        custody[sid] = Custody(shipped=True, retain_until=until, held=held)
    return custody, anomalies, len(sessions)
