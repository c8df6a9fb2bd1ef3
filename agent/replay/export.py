"""``sessiontape export``: an evidence bundle a regulator can read and verify offline.

Layout (a directory, or the same tree in a .zip)::

    manifest.json          version, sessions, custody fields, SHA-256 + size of every file
    manifest.sig           Ed25519 signature of manifest.json by the exporting agent's key
    report.html            human-readable report (self-contained)
    viewer/<session>/      offline viewer (viewer.html opens from file://; data.js = events)
    native/segments/<session>/<segment>.stj   the sealed segments, byte-identical copies
    native/events.jsonl    every verified event (decoded), session + seq order
    native/network.har     HAR 1.2
    native/actions.csv     user actions and navigations
    proofs/<session>/<segment>.json   chunk inclusion proofs, checkpoints, seal; .tsr token
    proofs/receipts.json   WORM receipts from <home>/ship (when shipped)
    keys/trusted/*.pub     public keys that signed (identification only, not trust)
    keys/deks.json         segment data keys sealed to --recipient (absent without it)

The bundle is built in a temporary directory next to the target, its custody record is
written to the access audit (record first: no record, no bundle), then it is moved into place.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent import __version__
from agent.audit import current_actor, record_access
from agent.clock import SystemClock, utc_iso
from agent.config import Config
from agent.errors import KeyMaterialError, UsageError
from agent.events import Record
from agent.journal.reader import SegmentFile
from agent.keys import Keyring
from agent.replay import derive, report
from agent.replay.assets import asset_path, rewrite, url_map
from agent.replay.proofs import chunk_proof, load_leaves
from agent.replay.server import STATIC, session_summary
from agent.replay.session import ReplaySession
from agent.seal.crypto import unwrap_dek
from agent.seal.verify import TimestampVerifier

BUNDLE_VERSION = 1
DEK_TOKEN_PREFIX = "sessiontape-dek:"
VIEWER_FILES = ("viewer.html", "viewer.js", "viewer.css", "rrweb-replay.js", "rrweb-replay.css")


@dataclass
class ExportResult:
    """What an export wrote."""

    path: Path
    sessions: list[str]
    files: int
    bundle_sha256: str
    dek_included: bool
    audit_session: str


def sha256_file(p: Path) -> str:
    """Hex SHA-256 of a file, streamed."""
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _select(
    home: Path, config: Config, sessions: list[str], query: str | None, actor: str | None
) -> tuple[list[str], list[Any]]:
    """Session ids to export: those named, plus every session with a hit for ``query``."""
    ids = list(sessions)
    hits: list[Any] = []
    if query:
        from agent.index.search import search

        hits = search(home, config, query, limit=10_000, actor=actor)
        ids.extend(h.session_id for h in hits)
    if not ids:
        raise UsageError("nothing to export: name a SESSION or give a --query with hits")
    return list(dict.fromkeys(ids)), hits


def _recipient_sealer(path: Path) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

    from agent.mask.escrow import EscrowSealer

    try:
        pub = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise KeyMaterialError(f"{path}: not a readable PEM public key") from exc
    if not isinstance(pub, X25519PublicKey):
        raise KeyMaterialError(f"{path}: --recipient must be an X25519 public key")
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return EscrowSealer(base64.b64encode(raw).decode())


def _receipts(home: Path, sid: str) -> list[dict[str, Any]]:
    db = home / "ship" / "state.db"
    if not db.is_file():
        return []
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
    ]


def _write(root: Path, rel: str, data: bytes) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


def _export_session(
    home: Path, root: Path, rs: ReplaySession, keyring: Keyring, sealer: Any, deks: dict[str, str]
) -> list[tuple[str, Record]]:
    sid = rs.info.session_id
    for s in rs.segs:
        dest = root / "native" / "segments" / sid / s.path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(s.path, dest)
        if s.file is None:
            continue
        sl = load_leaves(s.file)
        seal = s.file.seal()
        doc = {
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
        _write(
            root,
            f"proofs/{sid}/{s.path.stem}.json",
            (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode(),
        )
        if seal is not None and seal.tst:
            _write(root, f"proofs/{sid}/{s.path.stem}.tsr", seal.tst)
        if sealer is not None:
            kek = keyring.kek(str(s.file.genesis.get("kek_id", "")))
            if kek is None:
                raise KeyMaterialError(
                    f"{s.path}: its KEK is not in this home; cannot "
                    "include the data key for the recipient"
                )
            dek = unwrap_dek(
                kek, bytes.fromhex(str(s.file.genesis["wrapped_dek"])), where=str(s.path)
            )
            deks[sl.segment_id] = sealer.seal(dek.hex(), DEK_TOKEN_PREFIX + sl.segment_id)
    first, last = rs.seq_range
    recs = list(rs.records(first, last)) if first is not None and last is not None else []
    # the offline viewer: static files + this session's data, assets alongside
    vdir = root / "viewer" / sid
    vdir.mkdir(parents=True, exist_ok=True)
    for name in VIEWER_FILES:
        shutil.copyfile(STATIC / name, vdir / name)
    for sha in rs.assets:
        p = asset_path(home / "assets", sha)
        if p.is_file():
            _write(vdir, f"assets/{sha}", p.read_bytes())
    urls = url_map(rs.assets)
    proofs: dict[str, Any] = {}
    for s in rs.segs:
        if s.file is not None:
            sl = s.leaves or load_leaves(s.file)
            for i in range(s.report.chunks_verified):
                proofs[f"{sl.segment_id}:{i}"] = chunk_proof(sl, i)
    data = {
        "session": session_summary(rs, home / "assets", None, 1 << 30),
        "timeline": {
            "entries": rs.timeline,
            "network": list(rs.network.values()),
            "actions": rs.actions,
            "screenshots": rs.screenshots,
        },
        "keyframes": {"streams": rs.keyframes},
        "events": [
            {
                **(
                    rewrite(r.as_dict(), urls, "assets/")
                    if r.kind.startswith("rrweb.")
                    else r.as_dict()
                ),
                "t_text": str(r.t_utc_ns),
                "m_text": str(r.t_mono_ns),
            }
            for r in recs
        ],
        "proofs": proofs,
    }
    _write(
        vdir,
        "data.js",
        (
            "window.__ST_OFFLINE = "
            + json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
            + ";\n"
        ).encode("utf-8"),
    )
    receipts = _receipts(home, sid)
    if receipts:
        _write(
            root,
            f"proofs/{sid}/receipts.json",
            (json.dumps(receipts, indent=1, sort_keys=True) + "\n").encode(),
        )
    return [(sid, r) for r in recs]


def _zip(src: Path, out: Path) -> None:
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(src.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(src).as_posix())
    os.replace(tmp, out)


def export_bundle(
    home: Path,
    config: Config,
    sessions: list[str],
    out: Path,
    *,
    query: str | None = None,
    recipient: Path | None = None,
    reason: str = "",
    matter: str = "",
    force: bool = False,
    tsa_roots: list[bytes] | None = None,
    actor: str | None = None,
) -> ExportResult:
    """Build the bundle for ``sessions`` (and/or ``query``) at ``out`` (dir or .zip)."""
    if out.exists() and not force:
        raise UsageError(f"{out} exists; refusing to overwrite it (use --force)")
    ids, hits = _select(home, config, sessions, query, actor)
    keyring = Keyring.load(home)
    sealer = _recipient_sealer(recipient) if recipient else None
    verifier: TimestampVerifier | None = None
    if tsa_roots:
        from agent.seal.timestamp import verify_timestamp

        roots = list(tsa_roots)

        def verifier(token: bytes, digest: bytes) -> str:
            return verify_timestamp(token, digest, roots).gen_time.isoformat()

    out.parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=".st-export-", dir=out.parent))
    try:
        items: list[tuple[str, Record]] = []
        deks: dict[str, str] = {}
        opened = [
            ReplaySession.open(home, sid, keyring=keyring, tst_verifier=verifier) for sid in ids
        ]
        sections, sess_meta, key_ids = [], [], set()
        try:
            for rs in opened:
                items.extend(_export_session(home, root, rs, keyring, sealer, deks))
                sections.append(report.session_section(rs, home / "assets"))
                it = rs.integrity()
                key_ids.update(it["key_ids"])
                for s in rs.segs:
                    if s.file is not None:
                        key_ids.update(str(c.body.get("key_id", "")) for c in s.file.checkpoints())
                sess_meta.append(
                    {
                        "session_id": rs.info.session_id,
                        "integrity": it["status"],
                        "first_failure": it["first_failure"],
                        "segments": [
                            {
                                "file": f"native/segments/{rs.info.session_id}/{s.path.name}",
                                "segment_id": s.report.segment_id,
                                "status": s.report.status,
                                "seal_hash": s.report.seal_hash,
                            }
                            for s in rs.segs
                        ],
                        "events": len([1 for sid, _ in items if sid == rs.info.session_id]),
                    }
                )
            if hits:
                by_id = {rs.info.session_id: rs for rs in opened}
                hit_docs = []
                for h in hits:
                    rs = by_id[h.session_id]
                    try:
                        raw = rs.raw(h.seq)
                        proof, status = raw["proof"], raw["proof_status"]
                    except UsageError:
                        proof, status = None, "not in the verified part"
                    hit_docs.append(
                        {
                            "session_id": h.session_id,
                            "seq": h.seq,
                            "t_utc_ns": h.t_utc_ns,
                            "kind": h.kind,
                            "proof_status": status,
                            "proof": proof,
                        }
                    )
                _write(
                    root,
                    "proofs/query_hits.json",
                    (
                        json.dumps(
                            {"v": 1, "query": query, "hits": hit_docs}, indent=1, sort_keys=True
                        )
                        + "\n"
                    ).encode(),
                )
        finally:
            for rs in opened:
                rs.close()
        _write(root, "native/events.jsonl", derive.events_jsonl(items))
        _write(root, "native/network.har", derive.har(items))
        _write(root, "native/actions.csv", derive.actions_csv(items))
        for kid in sorted(k for k in key_ids if k.startswith("ed25519:")):
            src = home / "keys" / "trusted" / f"{kid.split(':', 1)[1]}.pub"
            if src.is_file():
                _write(root, f"keys/trusted/{src.name}", src.read_bytes())
        if sealer is not None:
            _write(
                root,
                "keys/deks.json",
                (
                    json.dumps(
                        {
                            "v": 1,
                            "scheme": "X25519 + HKDF-SHA256 + AES-256-GCM (agent.mask.escrow v1); "
                            "token = 'sessiontape-dek:' + segment_id; plaintext = DEK hex",
                            "recipient_key_id": sealer.key_id,
                            "deks": deks,
                        },
                        indent=1,
                        sort_keys=True,
                    )
                    + "\n"
                ).encode(),
            )
        now = SystemClock().utc_ns()
        requester = actor or current_actor()
        header = {
            "exported (UTC)": utc_iso(now),
            "requester": requester,
            "reason": reason,
            "matter": matter,
            "query": query or "",
            "sessions": ", ".join(ids),
        }
        _write(root, "report.html", report.render(sections, header))
        files = {
            p.relative_to(root).as_posix(): {"sha256": sha256_file(p), "size": p.stat().st_size}
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }
        manifest = {
            "v": BUNDLE_VERSION,
            "tool": f"sessiontape {__version__}",
            "created_utc_ns": now,
            "created_utc": utc_iso(now),
            "requester": requester,
            "reason": reason,
            "matter": matter,
            "query": query,
            "sessions": sess_meta,
            "files": files,
            "decryption": {
                "included": sealer is not None,
                "file": "keys/deks.json" if sealer is not None else None,
                "recipient_key_id": sealer.key_id if sealer is not None else None,
                "note": "segment data keys sealed to the recipient's X25519 key"
                if sealer is not None
                else "no --recipient: decryption material "
                "is NOT included; derived files can be checked only by hash",
            },
            "trust": "keys/trusted/ lists the signers' public keys for identification; "
            "verify trusts only keys given with --trust or the verifier's own store",
            "derived": {
                "native/events.jsonl": "decoded from native/segments",
                "native/network.har": "derived from net.* events",
                "native/actions.csv": "derived from user-action events",
            },
        }
        mbytes = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
        (root / "manifest.json").write_bytes(mbytes)
        signer = keyring.signer()
        (root / "manifest.sig").write_text(
            json.dumps(
                {"v": 1, "key_id": signer.key_id, "signature": signer.sign(mbytes).hex()},
                sort_keys=True,
            )
            + "\n"
        )
        bundle_hash = hashlib.sha256(mbytes).hexdigest()
        audit = record_access(
            home,
            config,
            "audit.export",
            {
                "requester": requester,
                "reason": reason,
                "matter": matter,
                "query": query,
                "objects": [s["segments"] for s in sess_meta],
                "sessions": ids,
                "bundle_sha256": bundle_hash,
                "target": str(out),
                "decryption_included": sealer is not None,
                "t_export_utc_ns": now,
            },
            actor=requester,
        )
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        if out.suffix.lower() == ".zip":
            _zip(root, out)
        else:
            os.replace(root, out)
        return ExportResult(out, ids, len(files) + 2, bundle_hash, sealer is not None, audit)
    finally:
        if root.exists():
            shutil.rmtree(root, ignore_errors=True)


def open_deks(bundle: Path, private_key_pem: Path) -> dict[str, bytes]:
    """The recipient's side: segment id -> DEK from ``keys/deks.json``."""
    from agent.mask.escrow import load_private_key, open_sealed

    priv = load_private_key(private_key_pem)
    doc = json.loads((bundle / "keys" / "deks.json").read_text())
    return {
        sid: bytes.fromhex(open_sealed(blob, DEK_TOKEN_PREFIX + sid, priv))
        for sid, blob in doc["deks"].items()
    }


def segment_files(bundle: Path) -> list[Path]:
    """The segment copies inside an (unpacked) bundle."""
    return sorted((bundle / "native" / "segments").rglob("*.stj"))


def read_genesis_segment_id(path: Path) -> str:
    """Segment id of a segment copy."""
    seg = SegmentFile(path)
    try:
        return seg.segment_id
    finally:
        seg.close()
