"""``manifest.json`` and ``manifest.sig`` of an export bundle.

The manifest names the bundle version, the custody fields (who exported, why, for which
matter and query), each session's integrity and segments, and the SHA-256 and size of every
other file; ``manifest.sig`` is the exporting agent's Ed25519 signature of its exact bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent import __version__
from agent.clock import utc_iso
from agent.keys import Signer
from agent.replay.export_files import json_doc, sha256_file
from agent.replay.session import ReplaySession

BUNDLE_VERSION = 3  # 3: the report entry (thumbnails, PDF, order patterns)
BUNDLE_VERSIONS = (1, 2, 3)  # readers accept these (2: record_class and retention)


def segment_retention(rs: ReplaySession, shipped: dict[str, str]) -> list[dict[str, Any]]:
    """Per segment: the retention class and rule its seal records (None for a seal that
    records none), and the retain-until of its vault copy when this home shipped it."""
    out: list[dict[str, Any]] = []
    for s in rs.segs:
        seal = s.file.seal() if s.file is not None else None
        decided = seal.body.get("retention") if seal is not None else None
        out.append(
            {
                "class": decided.get("class") if isinstance(decided, dict) else None,
                "rule": decided.get("rule") if isinstance(decided, dict) else None,
                "retain_until": shipped.get(s.report.segment_id),
            }
        )
    return out


def session_entry(
    rs: ReplaySession,
    integrity: dict[str, Any],
    events: int,
    shipped: dict[str, str] | None = None,
    holds: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A session's entry in the manifest: integrity, the bundle path of each segment and its
    retention (class and rule from the seal, retain-until from ``shipped``: segment id ->
    retain-until of this home's vault copy), and the legal holds in force when exported."""
    retention = segment_retention(rs, shipped or {})
    return {
        "session_id": rs.info.session_id,
        "integrity": integrity["status"],
        "first_failure": integrity["first_failure"],
        "segments": [
            {
                "file": f"native/segments/{rs.info.session_id}/{s.path.name}",
                "segment_id": s.report.segment_id,
                "status": s.report.status,
                "seal_hash": s.report.seal_hash,
                "retention": r,
            }
            for s, r in zip(rs.segs, retention, strict=True)
        ],
        "record_class": rs.info.record_class,
        "holds": holds or [],
        "events": events,
    }


def file_hashes(root: Path) -> dict[str, dict[str, Any]]:
    """Bundle path -> SHA-256 and size, for every file written so far."""
    return {
        p.relative_to(root).as_posix(): {"sha256": sha256_file(p), "size": p.stat().st_size}
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def decryption(sealer: Any) -> dict[str, Any]:
    """Whether the data keys are in the bundle, and for which recipient key."""
    return {
        "included": sealer is not None,
        "file": "keys/deks.json" if sealer is not None else None,
        "recipient_key_id": sealer.key_id if sealer is not None else None,
        "note": "segment data keys sealed to the recipient's X25519 key: the segments are "
        "readable with that private key"
        if sealer is not None
        else "no --recipient: the segments' data keys are NOT included; the segments are "
        "readable only with the recording workstation's key or the firm key, and derived "
        "files can be checked only by hash",
        "in_clear": "native/events.jsonl, native/network.har, native/actions.csv, "
        "report.html, report.pdf and viewer/*/data.js hold the (masked) events in clear: "
        "anyone with the bundle reads them",
    }


def build_manifest(
    custody: dict[str, Any],
    now: int,
    sessions: list[dict[str, Any]],
    files: dict[str, dict[str, Any]],
    sealer: Any,
    report: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest document; ``custody`` holds requester, reason, matter and query;
    ``sealer`` seals the data keys to the recipient (None: no keys in the bundle);
    ``report``: order patterns, thumbnail outcomes and PDF outcome of the report files."""
    return {
        "v": BUNDLE_VERSION,
        "tool": f"sessiontape {__version__}",
        "created_utc_ns": now,
        "created_utc": utc_iso(now),
        "requester": custody["requester"],
        "reason": custody["reason"],
        "matter": custody["matter"],
        "query": custody["query"],
        "sessions": sessions,
        "files": files,
        "decryption": decryption(sealer),
        "report": report or {},
        "trust": "keys/trusted/ lists the signers' public keys for identification; "
        "verify trusts only keys given with --trust or the verifier's own store",
        "derived": {
            "native/events.jsonl": "decoded from native/segments",
            "native/network.har": "derived from net.* events",
            "native/actions.csv": "derived from user-action events",
            "report.html": "rendered from the segments and this manifest (re-derived by "
            "verify-bundle when it has the data keys)",
            "report.pdf": "report.html printed by headless Chromium at export (checked by hash)",
            "report/thumbs/": "the page at each moment, drawn from the recording by the rrweb "
            "replayer in headless Chromium at export (checked by hash, not drawn again)",
        },
    }


def write_signed_manifest(root: Path, manifest: dict[str, Any], signer: Signer) -> bytes:
    """Write ``manifest.json`` and its signature ``manifest.sig``; return the manifest bytes."""
    mbytes = json_doc(manifest)
    (root / "manifest.json").write_bytes(mbytes)
    (root / "manifest.sig").write_text(
        json.dumps(
            {"v": 1, "key_id": signer.key_id, "signature": signer.sign(mbytes).hex()},
            sort_keys=True,
        )
        + "\n"
    )
    return mbytes
