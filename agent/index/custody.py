"""Custody of a session - shipped, retain-until, legal hold - as the index records it.

From the local ship state (:func:`ship_custody`, read-only) or, when rebuilding from the
vault alone, from the vault's own object state (:func:`download_segments`).
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


def download_segments(vault: Vault, keys: list[str], journals: Path) -> dict[str, Custody]:
    """Download ``segments/<session>/<file>`` objects under ``journals/<session>/``.

    Returns each session's custody from the objects' state: shipped, the latest retain-until
    of its segments, and held when any segment is under legal hold.
    """
    custody: dict[str, Custody] = {}
    for key in keys:
        parts = key.split("/")
        if len(parts) != 3:
            continue
        _, session_id, name = parts
        dst = journals / session_id / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(vault.get(key))
        st = vault.head(key)
        c = custody.get(session_id, Custody(shipped=True))
        until = iso_seconds(st.retain_until) if st.retain_until else ""
        custody[session_id] = Custody(
            shipped=True, retain_until=max(c.retain_until, until), held=c.held or st.legal_hold
        )
    return custody
