"""Restore a session from the vault alone: its segments, by recorded version, checksum-checked.

:func:`restore_session` materialises every segment of a session into a read-only cache,
``<home>/restore/<session>/<index>-<segment>.stj`` (directories 0700, files 0400), where the
ordinary readers - replay, export, verify, index - find it
(:func:`agent.journal.store.find_session` looks there when the journals hold no such
session). Each segment is fetched by the version id its receipt records
(:mod:`agent.ship.records`), never "the current version", and hashed against the receipt; a
cached file whose hash is right is reused, a wrong one is fetched again. Decryption is not
done here: the readers decrypt through the home's keyring as for local journals.

:func:`restore_for_read` is what ``replay`` and ``export`` call: with ``--from-vault URL`` it
restores from that vault; without it, a session whose journals are no longer local but whose
receipts are in ``<home>/ship/state.db`` is restored from the receipts' vault.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.canonical import sha256_hex
from agent.errors import UsageError, VaultError
from agent.ship.records import (
    Anomaly,
    RecordVersion,
    locate,
    read_record,
    segment_keys,
    vault_sessions,
)
from agent.ship.vault import Vault

RESTORE_DIR = "restore"


@dataclass
class RestoreResult:
    """What one restore did: where the session now is, and what the vault got wrong."""

    session_id: str
    directory: Path
    vault_url: str
    segments: int = 0
    fetched: int = 0
    anomalies: list[Anomaly] = field(default_factory=list)
    records: list[RecordVersion] = field(default_factory=list)

    def summary(self) -> str:
        """The stderr line the CLI prints."""
        return (
            f"restored {self.segments} segments of {self.session_id} from {self.vault_url} "
            f"(by receipt version; {self.fetched} fetched, "
            f"{self.segments - self.fetched} already cached)"
        )


def restore_root(home: Path) -> Path:
    """``<home>/restore``: the cache of sessions restored from a vault."""
    return Path(home) / RESTORE_DIR


def _mkdir_private(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def _write_readonly(path: Path, data: bytes) -> None:
    """temp + fsync + rename, then 0400 (a wrong cached copy is replaced the same way)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o400)
    os.replace(tmp, path)


def _cached(path: Path, digest: str) -> bool:
    try:
        return bool(digest) and sha256_hex(path.read_bytes()) == digest
    except OSError:
        return False


def restore_session(
    home: Path,
    session_id: str,
    vault: Vault,
    *,
    receipts: dict[str, dict[str, Any]] | None = None,
    root: Path | None = None,
) -> RestoreResult:
    """Materialise ``session_id``'s segments from ``vault`` under ``root`` (default
    ``<home>/restore``). ``receipts``: this home's receipts by key (``state.db``), which then
    say which version is the record; else the receipt objects do. Raises
    :class:`~agent.errors.UsageError` when the vault holds no segment of the session."""
    keys = segment_keys(vault, session_id)
    if not keys:
        raise UsageError(f"unknown session {session_id!r}: no segments of it in {vault.url}")
    sdir = (root or restore_root(home)) / session_id
    _mkdir_private(sdir.parent)
    _mkdir_private(sdir)
    res = RestoreResult(session_id, sdir, vault.url)
    for key in keys:
        loc = locate(vault, key, (receipts or {}).get(key))
        res.anomalies.extend(loc.anomalies)
        if loc.record is None:
            continue
        dst = sdir / key.rsplit("/", 1)[1]
        res.segments += 1
        res.records.append(loc.record)
        if _cached(dst, loc.record.checksum_sha256):
            continue
        data, bad = read_record(vault, loc.record)
        res.anomalies.extend(bad)
        if dst.exists():
            os.chmod(dst, 0o600)
        _write_readonly(dst, data)
        res.fetched += 1
    _write_custody(sdir, vault, res.records)
    return res


CUSTODY = "custody.json"
"""Beside a restored session: each segment's record version and its lock as the vault reports
it now (retain-until, extended or not), for exports made where no ship state knows them."""


def _write_custody(sdir: Path, vault: Vault, records: list[RecordVersion]) -> None:
    import json

    from agent.clock import iso_seconds

    rows = []
    for r in records:
        state = vault.head_version(r.key, r.version_id)
        rows.append(
            {
                "key": r.key,
                "segment_id": r.key.rsplit("/", 1)[1].removesuffix(".stj").split("-", 1)[-1],
                "version_id": r.version_id,
                "checksum_sha256": r.checksum_sha256,
                "retain_until": iso_seconds(state.retain_until) if state.retain_until else "",
                "mode": state.mode or "",
                "legal_hold": state.legal_hold,
                "vault": vault.url,
            }
        )
    path = sdir / CUSTODY
    if path.exists():
        os.chmod(path, 0o600)
    _write_readonly(path, json.dumps({"v": 1, "segments": rows}, sort_keys=True).encode())


def restored_custody(home: Path, session_id: str) -> list[dict[str, Any]]:
    """What :func:`restore_session` recorded about a restored session's vault copies
    (empty when it was never restored here)."""
    import json

    path = restore_root(home) / session_id / CUSTODY
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return list(doc.get("segments", [])) if doc.get("v") == 1 else []


def shipped_receipts(
    home: Path, session_prefix: str, url: str | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{session: {key: receipt}}`` of the receipts in ``state.db`` for the sessions whose id
    starts with ``session_prefix``: those of the vault at ``url``, or of the primary vault
    (read-only; empty without ship state)."""
    db = Path(home) / "ship" / "state.db"
    if not db.exists():
        return {}
    import json

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT session_id, key, receipts FROM objects WHERE status = 'shipped' "
            "AND session_id LIKE ? || '%'",
            (session_prefix,),
        ).fetchall()
    except sqlite3.Error:
        return {}
    finally:
        con.close()
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for sid, key, doc in rows:
        by_vault = json.loads(doc) if doc else {}
        rec = (
            by_vault.get("primary")
            if url is None
            else next((r for r in by_vault.values() if r.get("vault") == url), None)
        )
        if rec:
            out.setdefault(str(sid), {})[str(key)] = rec
    return out


def _one(session: str, found: list[str], where: str) -> str:
    if len(found) > 1:
        raise UsageError(f"session prefix {session!r} is ambiguous in {where} ({len(found)})")
    return found[0]


def _found(home: Path, session: str) -> str | None:
    """Where the readers find ``session``: ``journals`` (all of it), ``partial`` (local
    retention removed some of its segments), ``restore`` (the cache), or None."""
    from agent.journal.store import find_session

    try:
        info = find_session(home, session)
    except UsageError:
        return None
    if not info.segments:
        return None
    if info.segments[0].path.parent.parent.name != "journals":
        return "restore"
    from agent.ship.inventory import removed_locally

    # Local retention removes a long session's older segments first: then it is partly
    # local, and only the vault has the whole of it.
    pruned = any(k.split("/", 1)[0] == info.session_id for k in removed_locally(home))
    return "partial" if pruned else "journals"


def restore_for_read(
    home: Path,
    session: str,
    from_vault: str | None = None,
    *,
    echo: Callable[[str], None] = print,
    open_vault: Callable[[str], Vault] | None = None,
) -> RestoreResult | None:
    """Make ``session`` (an id or unique prefix) readable by replay/export.

    With ``from_vault``: restore it from that vault. Without: nothing when its journals are
    local; else restore it from the vault its ``state.db`` receipts name (or use the restore
    cache as it is, when this home has no receipts of it). ``echo`` gets the
    ``restored …`` line and one line per anomaly. A session found nowhere is one
    :class:`~agent.errors.UsageError` naming the session and where it was looked for."""
    opener = open_vault or _open
    if from_vault is None:
        where = _found(home, session)
        if where == "journals":
            return None
        shipped = shipped_receipts(home, session)
        if not shipped and where == "restore":
            return None  # restored earlier with --from-vault; no receipts here to refresh it
        if not shipped:
            raise UsageError(
                f"unknown session {session!r}: not in {Path(home) / 'journals'}, not in "
                f"{restore_root(home)}, and no receipts of it in {Path(home) / 'ship'}/state.db "
                "(to read it from a vault: --from-vault URL)"
            )
        sid = _one(session, sorted(shipped), "state.db")
        url = str(next(iter(shipped[sid].values())).get("vault") or "")
        if not url:
            raise UsageError(f"session {sid}: its receipts in state.db name no vault")
        res = restore_session(home, sid, opener(url), receipts=shipped[sid])
    else:
        vault = opener(from_vault)
        try:
            found = [s for s in vault_sessions(vault) if s.startswith(session)]
        except VaultError as exc:
            raise UsageError(f"{from_vault}: cannot list the vault: {exc.message}") from exc
        if not found:
            raise UsageError(
                f"unknown session {session!r}: no segments of it in {from_vault} (segments/)"
            )
        sid = _one(session, found, from_vault)
        receipts = shipped_receipts(home, sid, vault.url).get(sid)
        res = restore_session(home, sid, vault, receipts=receipts)
        from agent.journal.store import read_restored

        read_restored(sid)  # the vault's copy, as asked, even where the journals hold one
    echo(res.summary())
    for a in res.anomalies:
        echo(a.message)
    return res


def _open(url: str) -> Vault:
    from agent.ship.urls import open_vault

    return open_vault(url)
