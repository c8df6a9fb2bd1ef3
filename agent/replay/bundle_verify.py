"""``sessiontape verify BUNDLE``: check an export bundle offline.

Needs only the bundle, trusted public keys (``trust``: NOT the keys shipped inside the
bundle, which only identify the signers) and TSA roots. Checks, in order:

``manifest``   manifest.json parses, is a known version, and its signature (manifest.sig)
               verifies with a trusted key
``files``      every file listed has its SHA-256 and size; no file is missing or unlisted
``segments``   each segment copy re-verifies (chain, checkpoints, seal, keys, RFC 3161)
``proofs``     every chunk inclusion proof checks against the leaf recomputed from the
               segment copy and the root of its signed seal/checkpoint
``derived``    with the data keys (``deks``: from ``keys/deks.json`` opened by the recipient,
               or a keyring), events.jsonl, network.har and actions.csv are re-derived from
               the segments and compared byte for byte (a difference names the event);
               without them they are checked by hash only (reported as such); a missing
               one fails (:mod:`agent.replay.bundle_derived`)
``views``      with the same keys, each ``viewer/<session>/data.js`` and ``report.html``
               are re-derived from the segments and compared byte for byte (a difference
               names the file and where); without them the report lists them as not
               re-derived (:mod:`agent.replay.bundle_views`)

A .zip bundle is unpacked to a temporary directory first (paths escaping it are refused).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import InputError, UnknownVersion
from agent.journal.reader import SegmentFile
from agent.keys import Keyring, TrustStore
from agent.replay.bundle_derived import check_derived
from agent.replay.bundle_views import check_views
from agent.replay.bundle_zip import is_zip_bundle, unzip_bundle
from agent.replay.export_files import sha256_file
from agent.replay.manifest import BUNDLE_VERSIONS
from agent.replay.proofs import SegmentLeaves, check_proof, load_leaves
from agent.seal.timestamp import tst_verifier
from agent.seal.verify import Check, VerifyReport, verify_paths

_DERIVED = ("native/events.jsonl", "native/network.har", "native/actions.csv")


@dataclass
class BundleReport:
    """The outcome of verifying a bundle."""

    path: str
    checks: list[Check] = field(default_factory=list)
    segments: VerifyReport | None = None
    derived_checked: bool = False
    not_rederived: list[str] = field(default_factory=list)
    """Files a person reads that could not be re-derived (no data keys)."""
    require_timestamp: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok is not False for c in self.checks)

    @property
    def first_failure(self) -> str | None:
        c = next((c for c in self.checks if c.ok is False), None)
        if c is None:
            return None
        return f"{c.name}: {c.detail}" + (f" ({c.where})" if c.where else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "first_failure": self.first_failure,
            "derived_checked": self.derived_checked,
            "not_rederived": self.not_rederived,
            "checks": [c.as_dict() for c in self.checks],
            "segments": self.segments.as_dict() if self.segments else None,
        }


def is_bundle(path: Path) -> bool:
    """A directory or .zip with a manifest.json at its top."""
    if path.is_dir():
        return (path / "manifest.json").is_file()
    return is_zip_bundle(path)


def verify_bundle(
    path: Path,
    trust: TrustStore,
    tsa_roots: list[bytes] | None = None,
    *,
    deks: dict[str, bytes] | None = None,
    keyring: Keyring | None = None,
    require_timestamp: bool = False,
) -> BundleReport:
    """Verify an export bundle (directory or .zip); never raises for content problems.

    ``require_timestamp``: a segment copy without a chain-checked RFC 3161 token fails."""
    rep = BundleReport(str(path), require_timestamp=require_timestamp)
    if path.is_dir():
        _verify_dir(path, rep, trust, tsa_roots or [], deks, keyring)
        return rep
    tmp = Path(tempfile.mkdtemp(prefix="st-bundle-"))
    try:
        try:
            unzip_bundle(path, tmp)
        except InputError as exc:
            rep.checks.append(Check("files", False, exc.message, path.name))
            return rep
        _verify_dir(tmp, rep, trust, tsa_roots or [], deks, keyring)
        return rep
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _signed_manifest(root: Path, rep: BundleReport, trust: TrustStore) -> dict[str, Any] | None:
    """The manifest when it parses and a trusted key signed it; else a failed check, None."""
    mpath = root / "manifest.json"
    try:
        mbytes = mpath.read_bytes()
        manifest = json.loads(mbytes)
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except (OSError, ValueError) as exc:
        rep.checks.append(Check("manifest", False, f"unreadable ({exc})", "manifest.json"))
        return None
    if manifest.get("v") not in BUNDLE_VERSIONS:
        raise UnknownVersion(f"{mpath}: bundle version {manifest.get('v')!r} is not supported")
    try:
        sig = json.loads((root / "manifest.sig").read_text())
        res = trust.verify(str(sig["key_id"]), bytes.fromhex(sig["signature"]), mbytes)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        rep.checks.append(
            Check("manifest", False, f"signature file unreadable ({exc})", "manifest.sig")
        )
        return None
    if res is None:
        rep.checks.append(
            Check(
                "manifest",
                False,
                f"signed by untrusted key {sig['key_id']} "
                "(pass --trust with the firm's public keys)",
                "manifest.sig",
            )
        )
        return None
    if res is False:
        rep.checks.append(
            Check(
                "manifest",
                False,
                "signature does not verify: manifest.json or manifest.sig was modified",
                "manifest.json",
            )
        )
        return None
    rep.checks.append(Check("manifest", True, f"signed by {sig['key_id']}"))
    return manifest


def _check_files(root: Path, rep: BundleReport, manifest: dict[str, Any]) -> None:
    """Every listed file is present with its size and SHA-256; nothing unlisted was added."""
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        rep.checks.append(Check("files", False, "the manifest lists no files", "manifest.json"))
        return
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    bad = []
    for rel, meta in sorted(listed.items()):
        p = root / rel
        if rel not in present:
            bad.append(Check("files", False, "listed in the manifest but missing", rel))
        elif (
            not isinstance(meta, dict)
            or p.stat().st_size != meta.get("size")
            or sha256_file(p) != meta.get("sha256")
        ):
            bad.append(Check("files", False, "SHA-256 differs from the manifest (modified)", rel))
    for rel in sorted(present - set(listed) - {"manifest.json", "manifest.sig"}):
        bad.append(Check("files", False, "not listed in the manifest (added)", rel))
    rep.checks.extend(bad or [Check("files", True, f"{len(listed)} files match")])


def _check_segments(
    root: Path, rep: BundleReport, segs: list[Path], trust: TrustStore, tsa_roots: list[bytes]
) -> None:
    """Re-verify every segment copy; one check per segment, plus failing cross-checks."""
    verifier = tst_verifier(tsa_roots)
    vr = (
        verify_paths(segs, trust, tst_verifier=verifier, require_timestamp=rep.require_timestamp)
        if segs
        else VerifyReport()
    )
    rep.segments = vr
    for s in vr.segments:
        rel = Path(s.path).relative_to(root).as_posix()
        ff = s.first_failure
        if ff is not None or s.status not in ("verified", "recovered"):
            rep.checks.append(
                Check(
                    "segments",
                    False,
                    f"{ff.name}: {ff.detail}" if ff else f"segment is {s.status}",
                    rel + (f" {ff.where}" if ff and ff.where else ""),
                )
            )
        else:
            rep.checks.append(
                Check(
                    "segments",
                    True,
                    f"{rel}: {s.status}, {s.events} events"
                    + (f", RFC 3161 {s.tst_time}" if s.tst_state == "chain" else "")
                    + (
                        f", RFC 3161 {s.tst_time} (signature only; chain not checked)"
                        if s.tst_state == "signature"
                        else ""
                    ),
                )
            )
    for c in vr.checks:
        if c.ok is False:
            rep.checks.append(Check("segments", False, f"{c.name}: {c.detail}", c.where))


def _proof_file_leaves(
    root: Path, rep: BundleReport, pf: Path, seg_path: Path | None
) -> tuple[dict[str, Any], SegmentLeaves] | None:
    """A proof file and the leaves of its segment, or a failed check and None."""
    rel = pf.relative_to(root).as_posix()
    try:
        doc = json.loads(pf.read_text())
        if not isinstance(doc, dict) or not isinstance(doc.get("chunks", []), list):
            raise ValueError("not a proof document")
    except ValueError:
        rep.checks.append(Check("proofs", False, "proof file does not parse", rel))
        return None
    if seg_path is None:
        rep.checks.append(Check("proofs", False, "no segment for this proof file", rel))
        return None
    try:
        seg = SegmentFile(seg_path)
        try:
            sl = load_leaves(seg)
        finally:
            seg.close()
    except InputError as exc:
        rep.checks.append(
            Check(
                "proofs",
                False,
                f"segment unreadable: {exc.message}",
                seg_path.relative_to(root).as_posix(),
            )
        )
        return None
    return doc, sl


def _check_chunk_proofs(rep: BundleReport, rel: str, doc: dict[str, Any], sl: SegmentLeaves) -> int:
    """Check a proof file's chunk proofs up to the first failing one; return how many ran."""
    n = 0
    for pr in doc.get("chunks", []):
        idx = pr.get("chunk") if isinstance(pr, dict) else None
        idx = idx if type(idx) is int else -1
        leaf = sl.leaves[idx] if 0 <= idx < len(sl.leaves) else None
        anchor = sl.anchor_for(idx) if leaf is not None else None
        ok = (
            leaf is not None
            and anchor is not None
            and check_proof(pr, leaf)
            and pr.get("root") == anchor.root.hex()
        )
        n += 1
        if not ok:
            rep.checks.append(
                Check("proofs", False, "inclusion proof does not check", f"{rel} chunk {idx}")
            )
            break
    return n


def _check_proofs(root: Path, rep: BundleReport, segs: list[Path]) -> None:
    """Every chunk inclusion proof checks against the leaves recomputed from its segment."""
    by_stem = {(p.parent.name, p.stem): p for p in segs}
    n_proofs = 0
    for pf in sorted((root / "proofs").rglob("*.json")):
        if pf.name == "receipts.json":
            continue
        loaded = _proof_file_leaves(root, rep, pf, by_stem.get((pf.parent.name, pf.stem)))
        if loaded is not None:
            n_proofs += _check_chunk_proofs(rep, pf.relative_to(root).as_posix(), *loaded)
    if not any(c.name == "proofs" and c.ok is False for c in rep.checks):
        rep.checks.append(Check("proofs", True, f"{n_proofs} chunk inclusion proofs check"))


def _verify_dir(
    root: Path,
    rep: BundleReport,
    trust: TrustStore,
    tsa_roots: list[bytes],
    deks: dict[str, bytes] | None,
    keyring: Keyring | None,
) -> None:
    """Run the checks in order on an unpacked bundle; a bad manifest stops the rest."""
    manifest = _signed_manifest(root, rep, trust)
    if manifest is None:
        return
    _check_files(root, rep, manifest)
    segs = sorted((root / "native" / "segments").rglob("*.stj"))
    _check_segments(root, rep, segs, trust, tsa_roots)
    _check_proofs(root, rep, segs)
    check_derived(root, rep, segs, manifest, deks, keyring)
    check_views(root, rep, manifest, trust, tst_verifier(tsa_roots), deks, keyring)
