"""Signed checkpoints shipped during a session, and the truncation check against the vault.

A hash chain on the workstation cannot reveal a cut-off tail; a signed checkpoint already in
WORM storage can. Every few seconds :func:`ship_checkpoints` PUTs each new checkpoint of every
segment not yet shipped as a tiny locked object ``checkpoints/<session>/<segment>/<n>.json``.
:func:`check_against_vault` (used by ``sessiontape verify --vault URL``) compares a local
session or segment with those objects: a vault checkpoint the local copy lacks, differs from,
or exceeds in tree size means the local journal was truncated or altered.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from agent.clock import ns_to_dt
from agent.errors import PostureError, VaultError
from agent.ship.retention import add_retention
from agent.ship.source import (
    CheckpointMeta,
    SegmentMeta,
    checkpoint_key,
    journal_checkpoints,
    vault_key,
)
from agent.ship.vault import NotFound, Vault

log = structlog.get_logger("sessiontape.ship")
CHECKPOINT_OBJECT_VERSION = 1


def checkpoint_document(seg: SegmentMeta, cp: CheckpointMeta) -> bytes:
    """The object's bytes: the signed body verbatim (base64) plus lookup fields."""
    doc = {
        "v": CHECKPOINT_OBJECT_VERSION,
        "session_id": seg.session_id,
        "segment_id": seg.segment_id,
        "segment_file": seg.path.name,
        "n": cp.n,
        "tree_size": cp.tree_size,
        "key_id": cp.key_id,
        "t_utc_ns": cp.t_utc_ns,
        "body_b64": base64.b64encode(cp.body).decode(),
        "signature_b64": base64.b64encode(cp.signature).decode(),
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def parse_checkpoint_document(data: bytes, key: str) -> dict[str, Any]:
    """Decode a checkpoint object; unknown versions are refused."""
    from agent.errors import UnknownVersion

    doc: dict[str, Any] = json.loads(data)
    if doc.get("v") != CHECKPOINT_OBJECT_VERSION:
        raise UnknownVersion(f"{key}: checkpoint object version {doc.get('v')!r}")
    doc["body"] = base64.b64decode(doc["body_b64"])
    doc["signature"] = base64.b64decode(doc["signature_b64"])
    return doc


def ship_checkpoints(shipper: Any) -> int:
    """Ship new checkpoints of segments whose file is not shipped yet; return how many.

    ``shipper`` is an :class:`agent.ship.shipper.Shipper` (typed loosely to avoid a cycle).
    """
    if shipper.check_posture():
        return 0
    cfg = shipper.cfg
    state = shipper.state
    shipped_rows = {r[0] for r in state.query("SELECT key FROM objects WHERE status != 'pending'")}
    count = 0
    for seg in shipper.source.segments():
        if vault_key(seg) in shipped_rows:
            continue
        done = {
            int(r[0])
            for r in state.query(
                "SELECT n FROM checkpoints WHERE segment_id = ?", (seg.segment_id,)
            )
        }
        try:
            cps = shipper.source.checkpoints(seg.path)
        except Exception as exc:  # a segment being written or broken: try next time
            log.warning("ship.checkpoints_unreadable", path=str(seg.path), error=str(exc))
            continue
        cls = shipper.retention_for(seg)[0]  # the session's class as far as it is known
        for cp in cps:
            if cp.n in done:
                continue
            key = checkpoint_key(seg.session_id, seg.segment_id, cp.n)
            until = add_retention(
                ns_to_dt(cp.t_utc_ns or shipper.clock.utc_ns()), cfg.retention_classes[cls]
            )
            data = checkpoint_document(seg, cp)
            hold = bool(state.active_holds(seg.session_id))
            try:
                for vault in shipper.vaults.values():
                    vault.put_immutable(
                        key, data, retain_until=until, mode=cfg.lock_mode, legal_hold=hold
                    )
            except PostureError as exc:
                shipper.pause(exc.message)
                return count
            except VaultError as exc:
                log.warning("ship.checkpoint_retry", key=key, error=exc.message)
                return count
            state.insert(
                "checkpoints",
                {
                    "session_id": seg.session_id,
                    "segment_id": seg.segment_id,
                    "n": cp.n,
                    "key": key,
                    "shipped_ns": shipper.clock.utc_ns(),
                },
                ignore=True,
            )
            count += 1
    return count


SignatureCheck = Callable[[str, bytes, bytes], "bool | None"]


def check_against_vault(
    target: Path,
    vault: Vault,
    *,
    read_checkpoints: Callable[[Path], list[CheckpointMeta]] | None = None,
    check_signature: SignatureCheck | None = None,
) -> list[str]:
    """Problems found comparing a local session dir (or one segment) with the vault.

    For every checkpoint object in the vault for the session (or segment): the local segment
    must exist, hold a checkpoint with the same ``n`` whose signed body and signature are
    byte-identical, and its own latest checkpoint must not be smaller in tree size. With
    ``check_signature`` the vault copy's signature is verified too. Empty list = consistent.
    """
    read = read_checkpoints or journal_checkpoints
    target = Path(target)
    local = _local_segments(target)
    session_id = target.name if target.is_dir() else target.parent.name
    prefix = f"checkpoints/{session_id}/"
    if not target.is_dir():
        prefix += next(iter(local)) + "/"
    try:
        keys = vault.list(prefix)
    except VaultError as exc:
        return [f"vault {vault.url}: cannot list {prefix}: {exc.message}"]
    problems: list[str] = []
    for seg_id, seg_keys in sorted(_keys_by_segment(keys).items()):
        path = local.get(seg_id)
        if path is None or not path.exists():
            problems.append(
                f"segment {seg_id}: {len(seg_keys)} checkpoint(s) in the vault but "
                "the segment is missing locally"
            )
            continue
        try:
            mine = {c.n: c for c in read(path)}
        except Exception as exc:
            problems.append(f"{path.name}: cannot read local checkpoints: {exc}")
            continue
        problems += _compare_segment(path, seg_keys, mine, vault, check_signature)
    return problems


def _local_segments(target: Path) -> dict[str, Path]:
    """Segment id → file, for a session directory or one segment file."""
    files = sorted(target.glob("*.stj")) if target.is_dir() else [target]
    # file name is <index:06d>-<segment_id>.stj
    return {(f.stem.split("-", 1)[1] if "-" in f.stem else f.stem): f for f in files}


def _keys_by_segment(keys: list[str]) -> dict[str, list[str]]:
    """``checkpoints/<session>/<segment>/<n>.json`` keys grouped by segment id."""
    by_segment: dict[str, list[str]] = {}
    for k in keys:
        parts = k.split("/")
        if len(parts) == 4 and parts[3].endswith(".json"):
            by_segment.setdefault(parts[2], []).append(k)
    return by_segment


def _compare_segment(
    path: Path,
    seg_keys: list[str],
    mine: dict[int, CheckpointMeta],
    vault: Vault,
    check_signature: SignatureCheck | None,
) -> list[str]:
    """Problems of one local segment against its checkpoint objects in the vault."""
    problems: list[str] = []
    local_max = max((c.tree_size for c in mine.values()), default=-1)
    for k in sorted(seg_keys, key=lambda x: int(x.rsplit("/", 1)[1][:-5])):
        try:
            doc = parse_checkpoint_document(vault.get(k), k)
        except NotFound:
            continue
        except (VaultError, ValueError, KeyError) as exc:
            problems.append(f"{k}: unreadable in the vault: {exc}")
            continue
        if (
            check_signature is not None
            and check_signature(doc["key_id"], doc["signature"], doc["body"]) is not True
        ):
            problems.append(f"{k}: signature of the vault checkpoint does not verify")
        n = int(doc["n"])
        lc = mine.get(n)
        if lc is None:
            problems.append(
                f"{path.name}: checkpoint {n} (tree size {doc['tree_size']}) "
                "is in the vault but missing locally: local journal truncated"
            )
        elif lc.body != doc["body"] or lc.signature != doc["signature"]:
            problems.append(f"{path.name}: checkpoint {n} differs from the vault copy")
        if int(doc["tree_size"]) > local_max:
            problems.append(
                f"{path.name}: vault checkpoint {n} covers {doc['tree_size']} "
                f"leaves, local journal only {max(local_max, 0)}: truncated"
            )
    return problems
