"""``sessiontape export``: an evidence bundle a regulator can read and verify offline.

Layout (a directory, or the same tree in a .zip)::

    manifest.json          version, sessions, custody fields, SHA-256 + size of every file
    manifest.sig           Ed25519 signature of manifest.json by the exporting agent's key
    sessiontape-bundle.json   marker: the only kind of target ``--force`` may replace
    report.html            the report an examiner reads (self-contained; thumbnails below)
    report.pdf             report.html printed by headless Chromium
    report/thumbs/<session>/<seq>.jpg   the page at each significant moment, drawn from the
                           recording at export time (listed in the manifest by hash)
    viewer/<session>/      offline viewer (viewer.html opens from file://; data.js = events)
    native/segments/<session>/<segment>.stj   the sealed segments, byte-identical copies
    native/events.jsonl    every verified event (decoded), session + seq order
    native/network.har     HAR 1.2
    native/actions.csv     user actions and navigations
    proofs/<session>/<segment>.json   chunk inclusion proofs, checkpoints, seal; .tsr token
    proofs/<session>/receipts.json   WORM receipts from <home>/ship (when shipped)
    keys/trusted/*.pub     public keys that signed (identification only, not trust)
    keys/deks.json         segment data keys sealed to --recipient (absent without it)

The bundle is built in a temporary directory next to the target, its custody record is
written to the access audit (record first: no record, no bundle), then it is moved into place.
``export_target`` decides where a bundle may go and what ``--force`` may replace.
This module orders those steps; ``export_files`` writes the files and ``manifest`` the
manifest and its signature.
"""

from __future__ import annotations

import base64
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.actor import actor_note, os_actor
from agent.audit import record_access
from agent.canonical import sha256_hex
from agent.clock import SystemClock
from agent.config import Config
from agent.errors import (
    InputError,
    UsageError,
    VerificationFailed,
    storage_error,
)
from agent.events import Record
from agent.journal.reader import SegmentFile
from agent.keys import Keyring
from agent.replay import report
from agent.replay.export_files import (
    DEK_TOKEN_PREFIX,
    json_doc,
    session_holds,
    ship_receipts,
    write_deks,
    write_derived,
    write_file,
    write_segments,
    write_trusted_keys,
    write_viewer,
    zip_tree,
)
from agent.replay.export_report import ReportFiles, settings, write_bundle_report
from agent.replay.export_target import (
    MARKER,
    MARKER_DOC,
    build_dir,
    check_target,
    replace_target,
)
from agent.replay.manifest import (
    build_manifest,
    file_hashes,
    session_entry,
    write_signed_manifest,
)
from agent.replay.report_view import SessionView, session_view
from agent.replay.session import ReplaySession
from agent.seal.timestamp import tst_verifier


@dataclass
class ExportResult:
    """What an export wrote."""

    path: Path
    sessions: list[str]
    files: int
    bundle_sha256: str
    dek_included: bool
    audit_session: str
    # session id -> its manifest entry's retention: class, and per segment class, rule and
    # retain-until
    retention: dict[str, dict[str, Any]] = field(default_factory=dict)
    report: ReportFiles = field(default_factory=lambda: ReportFiles({}))  # what it says, drew


@dataclass
class _Exported:
    """What the per-session pass collects for the bundle-wide files."""

    items: list[tuple[str, Record]] = field(default_factory=list)
    # per session: what the report shows, the offline viewer's data, its bundled assets
    views: list[tuple[SessionView, dict[str, Any], Path]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    key_ids: set[str] = field(default_factory=set)
    deks: dict[str, str] = field(default_factory=dict)


def _select(
    home: Path, config: Config, sessions: list[str], query: str | None, note: str | None
) -> tuple[list[str], list[Any]]:
    """Session ids to export: those named, plus every session with a hit for ``query``."""
    ids = list(sessions)
    hits: list[Any] = []
    if query:
        from agent.index.search import search

        hits = search(home, config, query, limit=10_000, note=note)
        ids.extend(h.session_id for h in hits)
    if not ids:
        raise UsageError("nothing to export: name a SESSION or give a --query with hits")
    return list(dict.fromkeys(ids)), hits


def _recipient_sealer(path: Path) -> Any:
    """The sealer for ``--recipient``: an X25519 public key file, PEM or raw base64/hex."""
    from agent.mask.escrow import EscrowSealer
    from agent.mask.keyfile import load_public_key

    return EscrowSealer(base64.b64encode(load_public_key(path)).decode(), where=str(path))


def _export_session(
    home: Path, root: Path, rs: ReplaySession, keyring: Keyring, sealer: Any, deks: dict[str, str]
) -> tuple[list[Record], dict[str, Any]]:
    """Write one session's segments, proofs, viewer and receipts; return its records and
    the offline viewer's data."""
    sid = rs.info.session_id
    write_segments(root, rs, keyring, sealer, deks)
    first, last = rs.seq_range
    recs = list(rs.records(first, last)) if first is not None and last is not None else []
    data = write_viewer(home, root, rs, recs)
    receipts = ship_receipts(home, sid)
    if receipts:
        write_file(root, f"proofs/{sid}/receipts.json", json_doc(receipts))
    return recs, data


def _signing_key_ids(rs: ReplaySession, integrity: dict[str, Any]) -> set[str]:
    """Ids of the keys that signed the session's seals and checkpoints."""
    key_ids = set(integrity["key_ids"])
    for s in rs.segs:
        if s.file is not None:
            key_ids.update(str(c.body.get("key_id", "")) for c in s.file.checkpoints())
    return key_ids


def _export_sessions(
    home: Path,
    config: Config,
    root: Path,
    opened: list[ReplaySession],
    keyring: Keyring,
    sealer: Any,
) -> _Exported:
    """Export every session and collect what the bundle-wide files need."""
    done = _Exported()
    for rs in opened:
        sid = rs.info.session_id
        recs, data = _export_session(home, root, rs, keyring, sealer, done.deks)
        done.items.extend((sid, r) for r in recs)
        it = rs.integrity()
        done.key_ids |= _signing_key_ids(rs, it)
        shipped = {
            str(r["segment_id"]): str(r["retain_until"])
            for r in ship_receipts(home, rs.info.session_id)
            if r["status"] == "shipped"
        }
        entry = session_entry(rs, it, len(recs), shipped, session_holds(home, sid))
        done.entries.append(entry)
        view = session_view(rs, recs, entry, {}, settings(config.replay), it)
        done.views.append((view, data, root / "viewer" / sid / "assets"))
    return done


def _hit_doc(rs: ReplaySession, h: Any) -> dict[str, Any]:
    """A query hit with the inclusion proof of its event (when the event verified)."""
    try:
        raw = rs.raw(h.seq)
        proof, status = raw["proof"], raw["proof_status"]
    except UsageError:
        proof, status = None, "not in the verified part"
    return {
        "session_id": h.session_id,
        "seq": h.seq,
        "t_utc_ns": h.t_utc_ns,
        "kind": h.kind,
        "proof_status": status,
        "proof": proof,
    }


def _write_query_hits(
    root: Path, opened: list[ReplaySession], hits: list[Any], query: str | None
) -> None:
    """``proofs/query_hits.json``: the hits that selected sessions, each with its proof."""
    by_id = {rs.info.session_id: rs for rs in opened}
    hit_docs = [_hit_doc(by_id[h.session_id], h) for h in hits]
    write_file(root, "proofs/query_hits.json", json_doc({"v": 1, "query": query, "hits": hit_docs}))


def _record_custody(
    home: Path,
    config: Any,
    custody: dict[str, Any],
    ids: list[str],
    entries: list[dict[str, Any]],
    bundle_hash: str,
    out: Path,
    decryption_included: bool,
    now: int,
) -> str:
    """Write the export's custody record to the access audit; return its audit session."""
    return record_access(
        home,
        config,
        "audit.export",
        {
            **custody,
            "objects": [s["segments"] for s in entries],
            "sessions": ids,
            "bundle_sha256": bundle_hash,
            "target": str(out),
            "decryption_included": decryption_included,
            "t_export_utc_ns": now,
        },
        note=custody["note"],
    )


def _recorded_query(home: Path, config: Config, query: str | None) -> str | None:
    """The query as the bundle and the audit may hold it (``value:`` items as tokens)."""
    if query is None:
        return None
    from agent.index.search import query_as_recorded

    return query_as_recorded(home, config, query)


def _custody(reason: str, matter: str, query: str | None, note: str | None) -> dict[str, Any]:
    """Who asked (the OS account running the export; ``note``, free text, only beside it)."""
    who = os_actor()
    return {
        "requester": who.name,
        "requester_uid": who.uid,
        "note": actor_note(note),
        "reason": reason,
        "matter": matter,
        "query": query,
    }


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
    note: str | None = None,
) -> ExportResult:
    """Build the bundle for ``sessions`` (and/or ``query``) at ``out`` (dir or .zip)."""
    check_target(out, home, force=force)
    ids, hits = _select(home, config, sessions, query, note)
    keyring = Keyring.load(home)
    sealer = _recipient_sealer(recipient) if recipient else None
    verifier = tst_verifier(tsa_roots)
    root = build_dir(out)
    try:
        opened = [
            ReplaySession.open(home, sid, keyring=keyring, tst_verifier=verifier) for sid in ids
        ]
        try:
            done = _export_sessions(home, config, root, opened, keyring, sealer)
            if hits:
                _write_query_hits(root, opened, hits, query)
        finally:
            for rs in opened:
                rs.close()
        write_derived(root, done.items)
        write_trusted_keys(home, root, done.key_ids)
        if sealer is not None:
            write_deks(root, sealer, done.deks)
        now = SystemClock().utc_ns()
        custody = _custody(reason, matter, _recorded_query(home, config, query), note)
        header = report.report_header(custody, ids, now)
        rep = write_bundle_report(root, config.capture, config.replay, done.views, header, sealer)
        write_file(root, MARKER, json_doc(MARKER_DOC))
        files = file_hashes(root)
        manifest = build_manifest(custody, now, done.entries, files, sealer, rep.entry)
        bundle_hash = sha256_hex(write_signed_manifest(root, manifest, keyring.signer()))
        audit = _record_custody(
            home, config, custody, ids, done.entries, bundle_hash, out, sealer is not None, now
        )
        replace_target(root, out, home, force=force, zipper=zip_tree)
        return ExportResult(
            out, ids, len(files) + 2, bundle_hash, sealer is not None, audit, _retention(done), rep
        )
    except OSError as exc:  # the bundle is built aside: nothing half-written is left at out
        raise storage_error(out, "export bundle", exc) from exc
    finally:
        if root.exists():
            shutil.rmtree(root, ignore_errors=True)


def _retention(done: _Exported) -> dict[str, dict[str, Any]]:
    """session id -> its class and, per segment, the retention the manifest records."""
    return {
        e["session_id"]: {
            "class": e["record_class"],
            "segments": [{"segment_id": g["segment_id"], **g["retention"]} for g in e["segments"]],
        }
        for e in done.entries
    }


def open_deks(bundle: Path, private_key_pem: Path) -> dict[str, bytes]:
    """The recipient's side: segment id -> DEK from ``keys/deks.json``."""
    from agent.mask.escrow import load_private_key, open_sealed

    priv = load_private_key(private_key_pem)
    path = bundle / "keys" / "deks.json"
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        if "keys/deks.json" in _listed_files(bundle):
            raise VerificationFailed(
                "files", "listed in the manifest but missing", where="keys/deks.json"
            ) from None
        raise UsageError(
            f"{bundle}: no keys/deks.json: the bundle was exported without --recipient"
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable data keys ({exc})") from exc
    return {
        sid: bytes.fromhex(open_sealed(blob, DEK_TOKEN_PREFIX + sid, priv))
        for sid, blob in doc["deks"].items()
    }


def _listed_files(bundle: Path) -> set[str]:
    """The files the bundle's manifest lists (empty when the manifest cannot be read)."""
    try:
        doc = json.loads((bundle / "manifest.json").read_text())
        return set(doc.get("files", {})) if isinstance(doc, dict) else set()
    except (OSError, ValueError, AttributeError):
        return set()


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
