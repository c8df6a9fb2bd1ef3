"""The vault's inventory, reconciled both ways with the local state dir (``verify --vault``).

Shipping puts three kinds of object in a vault: sealed segments
``segments/<session>/<index>-<segment>.stj`` with a receipt ``….stj.receipt.json`` beside
each, and checkpoints streamed during a session ``checkpoints/<session>/<segment>/<n>.json``.
:func:`vault_inventory` lists them. :func:`union_dir` lays the local segments and the
vault-only ones side by side (symlinks and downloaded copies, one directory per session), so
the ordinary verification runs over local ∪ vault: counters, session ends, time order and
continuity then cover what was shipped and removed locally as well.
:func:`reconcile` then says, per segment, how local and vault relate:

- in the vault, not local, and the ship state records its removal after the vault confirmed
  it: fine, said so;
- in the vault, not local, no such record: erased locally (failure);
- recorded as removed after shipping but absent from the vault: failure;
- local and in the vault with a different seal: failure;
- checkpoints in the vault for a segment neither local nor shipped, or newer than the local
  copy: failure (via :func:`agent.ship.checkpoints.check_against_vault`);
- an unsealed (open) segment whose newest chunks are not yet covered by a vault checkpoint:
  reported as the residual window, not a failure.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import VaultError
from agent.seal.report import Check
from agent.ship.checkpoints import check_against_vault, parse_checkpoint_document
from agent.ship.receipts import RECEIPT_SUFFIX
from agent.ship.records import Anomaly, RecordVersion, locate, read_record, segment_keys
from agent.ship.vault import Vault

VAULT_PREFIX = "vault:"
"""How a segment read from the vault is named in a report: ``vault:<key>``."""


@dataclass
class VaultInventory:
    """What a vault holds, by ``<session>/<file name>`` and by session and segment id."""

    segments: dict[str, str] = field(default_factory=dict)  # "<session>/<name>" -> key
    receipts: set[str] = field(default_factory=set)  # segment keys with a receipt object
    checkpoints: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    records: dict[str, RecordVersion] = field(default_factory=dict)  # key -> record version
    anomalies: list[Anomaly] = field(default_factory=list)


def vault_inventory(
    vault: Vault,
    receipts: dict[str, dict[str, Any]] | None = None,
    sessions: set[str] | None = None,
) -> VaultInventory:
    """List the vault's segments (delete-marked ones included), receipts and checkpoints, and
    locate each segment's record version (``receipts``: this home's, by key; ``sessions``
    limits which are located). Raises :class:`VaultError`."""
    inv = VaultInventory()
    for key in vault.list("segments/"):
        if key.endswith(RECEIPT_SUFFIX) and len(key.split("/")) == 3:
            inv.receipts.add(key[: -len(RECEIPT_SUFFIX)])
    for key in segment_keys(vault):
        parts = key.split("/")
        inv.segments[f"{parts[1]}/{parts[2]}"] = key
        if not _wanted(parts[1], sessions):
            continue
        loc = locate(vault, key, (receipts or {}).get(key))
        inv.anomalies.extend(loc.anomalies)
        if loc.record is not None:
            inv.records[key] = loc.record
    for key in vault.list("checkpoints/"):
        parts = key.split("/")
        if len(parts) == 4 and parts[3].endswith(".json"):
            inv.checkpoints.setdefault(parts[1], {}).setdefault(parts[2], []).append(key)
    return inv


def removed_locally(home: Path) -> set[str]:
    """``<session>/<file name>`` of segments shipping removed after the vault confirmed them.

    Read from ``<home>/ship/state.db`` without creating it (no ship state: nothing removed).
    """
    db = Path(home) / "ship" / "state.db"
    if not db.exists():
        return set()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT key FROM objects WHERE status = 'shipped' AND local_deleted_ns IS NOT NULL"
        ).fetchall()
    except sqlite3.Error:
        return set()
    finally:
        con.close()
    return {str(k).removeprefix("segments/") for (k,) in rows}


def _local_name(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def union_dir(
    local: list[Path], vault: Vault, inv: VaultInventory, sessions: set[str] | None, work: Path
) -> dict[Path, str]:
    """Lay local segments (symlinked) and vault-only segments (downloaded) out under ``work``
    as ``<session>/<file name>``; return each laid-out path's display name (the local path, or
    ``vault:<key>``). ``sessions`` limits the vault segments taken (None: all)."""
    shown: dict[Path, str] = {}
    for p in local:
        dst = work / p.parent.name / p.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(p.resolve())
        shown[dst] = str(p)
    local_names = {_local_name(p) for p in local}
    for name, key in sorted(inv.segments.items()):
        if name in local_names or not _wanted(name.split("/")[0], sessions):
            continue
        rec = inv.records.get(key)
        if rec is None:
            continue
        dst = work / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        data, bad = read_record(vault, rec)
        inv.anomalies.extend(bad)
        dst.write_bytes(data)
        shown[dst] = VAULT_PREFIX + key
    for sid in inv.checkpoints:
        if _wanted(sid, sessions):
            (work / sid).mkdir(parents=True, exist_ok=True)
    return shown


def _wanted(session_id: str, sessions: set[str] | None) -> bool:
    return sessions is None or session_id in sessions


SealHash = Callable[[Path], str]
SignatureCheck = Callable[[str, bytes, bytes], "bool | None"]


def reconcile(
    vault: Vault,
    inv: VaultInventory,
    local: list[Path],
    removed: set[str],
    sessions: set[str] | None,
    seal_hash: SealHash,
) -> list[Check]:
    """Segment by segment: is each vault copy local (and the same), or removed by design?"""
    out: list[Check] = []
    by_name = {_local_name(p): p for p in local}
    for name, key in sorted(inv.segments.items()):
        sid = name.split("/")[0]
        if not _wanted(sid, sessions):
            continue
        path = by_name.get(name)
        if path is not None:
            problem = _same_copy(vault, inv.records.get(key), path, seal_hash)
            if problem:
                out.append(Check("vault", False, f"session {sid}: {problem}", str(path)))
        elif name in removed:
            out.append(
                Check(
                    "vault",
                    True,
                    f"session {sid}: segment {name.split('/')[1]} shipped and removed locally "
                    "after the vault confirmed it (its vault copy is verified instead)",
                )
            )
        else:
            out.append(
                Check(
                    "vault",
                    False,
                    f"session {sid}: segment {name.split('/')[1]} is in the vault but missing "
                    "locally, and shipping did not remove it (erased locally)",
                    VAULT_PREFIX + key,
                )
            )
    for name in sorted(removed - set(inv.segments)):
        if _wanted(name.split("/")[0], sessions):
            out.append(
                Check(
                    "vault",
                    False,
                    f"session {name.split('/')[0]}: segment {name.split('/')[1]} was removed "
                    "locally after shipping but is not in the vault",
                )
            )
    return out


def _same_copy(vault: Vault, rec: RecordVersion | None, path: Path, seal_hash: SealHash) -> str:
    """How the local file differs from its vault record version ("" when it does not)."""
    if rec is None:
        return f"{path.name}: the vault holds no version of it"
    try:
        st = vault.head_version(rec.key, rec.version_id)
        if st.checksum_sha256 == hashlib.sha256(path.read_bytes()).hexdigest():
            return ""
        data = vault.get_version(rec.key, rec.version_id)
    except (OSError, VaultError) as exc:
        return f"{path.name}: cannot compare with the vault copy: {exc}"
    with tempfile.TemporaryDirectory(prefix="sessiontape-vault-") as tmp:
        copy = Path(tmp) / path.name
        copy.write_bytes(data)
        theirs, mine = seal_hash(copy), seal_hash(path)
    if theirs != mine:
        return (
            f"{path.name}: seal differs from the vault copy "
            f"(local {mine[:16] or 'none'}, vault {theirs[:16] or 'none'} "
            f"version {rec.version_id})"
        )
    return ""


def anomaly_checks(inv: VaultInventory) -> list[Check]:
    """Each vault anomaly as a failed ``vault`` check (the original is verified regardless)."""
    return [Check("vault", False, a.message, VAULT_PREFIX + a.key) for a in inv.anomalies]


def checkpoint_checks(
    vault: Vault, work: Path, shown: dict[Path, str], check_signature: SignatureCheck
) -> list[Check]:
    """The vault's checkpoints against every laid-out session: each segment they name is
    local or shipped, holds them byte for byte, and is not shorter."""
    out: list[Check] = []
    for sdir in sorted(p for p in work.iterdir() if p.is_dir()):
        problems = check_against_vault(sdir, vault, check_signature=check_signature)
        for pr in problems:
            out.append(Check("vault", False, pr, sdir.name))
    return out


def vault_coverage(
    vault: Vault, inv: VaultInventory, session_id: str, segment_id: str
) -> tuple[int, int] | None:
    """(n, tree size) of the newest checkpoint the vault holds for a segment, or None."""
    keys = inv.checkpoints.get(session_id, {}).get(segment_id, [])
    if not keys:
        return None
    newest = max(keys, key=lambda k: int(k.rsplit("/", 1)[1].removesuffix(".json")))
    try:
        doc = parse_checkpoint_document(vault.get(newest), newest)
    except (VaultError, ValueError, KeyError):
        return None
    return int(doc["n"]), int(doc["tree_size"])
