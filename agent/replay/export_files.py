"""The files of an export bundle other than the manifest: segment copies and their proofs,
the offline viewer, the derived JSONL/HAR/CSV, trusted keys and sealed data keys.

Every writer takes the bundle's root directory and a path relative to it, so the manifest
can later hash exactly what was written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

from agent.events import Record
from agent.keys import Keyring
from agent.replay import derive
from agent.replay.assets import OCTET_STREAM, asset_path, in_flat_dir, served_type
from agent.replay.integrity import OpenSegment
from agent.replay.proofs import chunk_proof, load_leaves
from agent.replay.server import STATIC
from agent.replay.session import ReplaySession
from agent.replay.viewer_data import data_js, offline_viewer_html, viewer_data

DEK_TOKEN_PREFIX = "sessiontape-dek:"
VIEWER_FILES = (
    "viewer.html",
    "viewer.js",
    "viewer-ui.js",
    "viewer.css",
    "rrweb-replay.js",
    "rrweb-replay.css",
)


def write_file(root: Path, rel: str, data: bytes) -> None:
    """Write ``data`` at ``root/rel``, creating the parent directories."""
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


def json_doc(doc: Any) -> bytes:
    """The bundle's JSON file layout: one-space indent, sorted keys, trailing newline."""
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()


def sha256_file(p: Path) -> str:
    """Hex SHA-256 of a file, streamed."""
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def zip_tree(src: Path, out: Path) -> None:
    """Zip every file under ``src`` into ``out`` (written aside, then renamed into place)."""
    tmp = out.with_name(out.name + ".tmp")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(src.rglob("*")):
                if p.is_file():
                    z.write(p, p.relative_to(src).as_posix())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a partial zip must not look like a bundle
        raise


def _proof_doc(s: OpenSegment) -> dict[str, Any]:
    """``proofs/<session>/<segment>.json``: chunk proofs, checkpoints and seal of a segment."""
    assert s.file is not None
    sl = load_leaves(s.file)
    seal = s.file.seal()
    return {
        "v": 1,
        "segment_file": s.path.name,
        "segment_id": sl.segment_id,
        "status": s.report.status,
        "chunks": [chunk_proof(sl, i) for i in range(s.report.chunks_verified)],
        "checkpoints": [
            {"n": c.n, "body": c.body_bytes.hex(), "signature": c.signature.hex()}
            for c in s.file.checkpoints()
        ],
        "seal": {
            "body": seal.body_bytes.hex(),
            "signature": seal.signature.hex(),
            "rfc3161": bool(seal.tst),
        }
        if seal
        else None,
    }


def _sealed_dek(s: OpenSegment, segment_id: str, keyring: Keyring, sealer: Any) -> str:
    """The segment's data key, opened with a key this home holds (the workstation's KEK or a
    firm key) and sealed to the recipient."""
    assert s.file is not None
    dek = keyring.open_dek(s.file.genesis, where=str(s.path))
    return str(sealer.seal(dek.hex(), DEK_TOKEN_PREFIX + segment_id))


def write_segments(
    root: Path, rs: ReplaySession, keyring: Keyring, sealer: Any, deks: dict[str, str]
) -> None:
    """Copy a session's segments, write their proofs, and seal their data keys into ``deks``."""
    sid = rs.info.session_id
    for s in rs.segs:
        dest = root / "native" / "segments" / sid / s.path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(s.path, dest)
        if s.file is None:
            continue
        doc = _proof_doc(s)
        write_file(root, f"proofs/{sid}/{s.path.stem}.json", json_doc(doc))
        seal = s.file.seal()
        if seal is not None and seal.tst:
            write_file(root, f"proofs/{sid}/{s.path.stem}.tsr", seal.tst)
        if sealer is not None:
            deks[doc["segment_id"]] = _sealed_dek(s, doc["segment_id"], keyring, sealer)


def write_viewer(home: Path, root: Path, rs: ReplaySession, recs: list[Record]) -> dict[str, Any]:
    """``viewer/<session>/``: the static viewer, this session's data and its assets (only
    those our sniffing types as an image, font or stylesheet: a recorded HTML page or script
    is left out, so no file of the bundle opened by hand from ``file://`` runs it; the
    viewer lists it as missing); return the data written to ``data.js``."""
    vdir = root / "viewer" / rs.info.session_id
    vdir.mkdir(parents=True, exist_ok=True)
    for name in VIEWER_FILES:
        shutil.copyfile(STATIC / name, vdir / name)
    write_file(vdir, "viewer.html", offline_viewer_html((STATIC / "viewer.html").read_bytes()))
    for sha, meta in rs.assets.items():
        p = asset_path(home / "assets", sha)
        body = p.read_bytes() if p.is_file() else None
        if body is not None and served_type(body, str(meta.get("mime") or "")) != OCTET_STREAM:
            write_file(vdir, f"assets/{sha}", body)
    data = viewer_data(in_flat_dir(vdir / "assets"), rs, recs)
    write_file(vdir, "data.js", data_js(data))
    return data


def ship_receipts(home: Path, sid: str) -> list[dict[str, Any]]:
    """The WORM receipts the shipper recorded for a session, else what a restore from the
    vault recorded about it (empty when neither knows it)."""
    db = home / "ship" / "state.db"
    if not db.is_file():
        return _restored(home, sid)
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = con.execute(
                "SELECT key, segment_id, status, retain_until, receipts, "
                "shipped_ns FROM objects WHERE session_id = ? ORDER BY key",
                (sid,),
            ).fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return []
    return [
        {
            "key": k,
            "segment_id": s,
            "status": st,
            "retain_until": ru,
            "receipts": json.loads(r) if r else {},
            "shipped_ns": sh,
        }
        for k, s, st, ru, r, sh in rows
    ] or _restored(home, sid)


def _restored(home: Path, sid: str) -> list[dict[str, Any]]:
    """Receipts-shaped rows from what a restore from the vault recorded (see
    :func:`agent.ship.restore.restored_custody`)."""
    from agent.ship.restore import restored_custody

    return [
        {
            "key": c["key"],
            "segment_id": c["segment_id"],
            "status": "shipped",
            "retain_until": c["retain_until"],
            "receipts": {"restored": c},
            "shipped_ns": None,
        }
        for c in restored_custody(home, sid)
    ]


def session_holds(home: Path, sid: str) -> list[dict[str, Any]]:
    """The legal holds in force on a session when it is exported: the matters this home's
    ship state records (``{matter, placed_utc, by}``), else, for a session restored from a
    vault, whether its objects carry a legal hold there (the matter is not in the vault)."""
    from agent.clock import utc_iso

    db = home / "ship" / "state.db"
    rows: list[Any] = []
    if db.is_file():
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                rows = con.execute(
                    "SELECT matter, placed_ns, actor FROM holds WHERE session_id = ? "
                    "AND released_ns IS NULL ORDER BY id",
                    (sid,),
                ).fetchall()
            finally:
                con.close()
        except sqlite3.Error:
            rows = []
    if rows:
        return [{"matter": m, "placed_utc": utc_iso(int(t)), "by": a} for m, t, a in rows]
    if any(r["receipts"].get("restored", {}).get("legal_hold") for r in _restored(home, sid)):
        return [{"matter": "(legal hold on the vault objects; matter not recorded there)"}]
    return []


def write_derived(root: Path, items: list[tuple[str, Record]]) -> None:
    """``native/events.jsonl``, ``native/network.har`` and ``native/actions.csv``."""
    write_file(root, "native/events.jsonl", derive.events_jsonl(items))
    write_file(root, "native/network.har", derive.har(items))
    write_file(root, "native/actions.csv", derive.actions_csv(items))


def write_trusted_keys(home: Path, root: Path, key_ids: set[str]) -> None:
    """``keys/trusted/``: the public keys of the signers this home knows."""
    for kid in sorted(k for k in key_ids if k.startswith("ed25519:")):
        src = home / "keys" / "trusted" / f"{kid.split(':', 1)[1]}.pub"
        if src.is_file():
            write_file(root, f"keys/trusted/{src.name}", src.read_bytes())


def write_deks(root: Path, sealer: Any, deks: dict[str, str]) -> None:
    """``keys/deks.json``: the segment data keys sealed to the recipient."""
    doc = {
        "v": 1,
        "scheme": "X25519 + HKDF-SHA256 + AES-256-GCM (agent.mask.escrow v1); "
        "token = 'sessiontape-dek:' + segment_id; plaintext = DEK hex",
        "recipient_key_id": sealer.key_id,
        "deks": deks,
    }
    write_file(root, "keys/deks.json", json_doc(doc))
