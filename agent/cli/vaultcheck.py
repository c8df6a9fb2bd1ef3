"""``verify --vault URL``: verify local ∪ vault and reconcile the two both ways.

The local segments and the vault-only ones (downloaded) are verified together, so counters,
session ends, time order and continuity cover what was shipped and removed locally; then the
vault's inventory is reconciled segment by segment and checkpoint by checkpoint
(:mod:`agent.ship.inventory`), and every open or unshipped segment says how much of it the
vault's newest checkpoint covers (the residual window).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from agent.errors import UsageError, VaultError
from agent.keys import TrustStore
from agent.seal import format as fmt
from agent.seal.report import Check, VerifyReport
from agent.seal.segment_file import SegmentFile
from agent.seal.verify import verify_paths


def _seal_hash(path: Path) -> str:
    from agent.canonical import sha256_hex

    seg = SegmentFile(path)
    try:
        seal = seg.seal()
        return sha256_hex(seal.body_bytes) if seal is not None else ""
    finally:
        seg.close()


def _local_files(targets: list[Path]) -> tuple[list[Path], bool]:
    """The segment files under the targets, and whether a whole state dir was given."""
    files: list[Path] = []
    for t in targets:
        files.extend(sorted(t.rglob(f"*{fmt.SEGMENT_SUFFIX}")) if t.is_dir() else [t])
    whole = any(
        t.is_dir() and (t.name == "journals" or any(p.is_dir() for p in t.iterdir()))
        for t in targets
    )
    return [f for f in files if f.exists()], whole


def verify_with_vault(
    targets: list[Path], url: str, trust: TrustStore, home: Path, **kw: Any
) -> VerifyReport:
    """Verify ``targets`` together with the vault's copies and reconcile them."""
    try:
        from agent.ship import inventory as inv_mod
        from agent.ship.urls import open_vault
    except ImportError as exc:
        raise UsageError(f"--vault is not available: {exc}") from exc
    from agent.ship.restore import shipped_receipts

    vault = open_vault(url)
    files, whole = _local_files(targets)
    sessions = None if whole else {f.parent.name for f in files}
    receipts = {k: r for s in shipped_receipts(home, "", vault.url).values() for k, r in s.items()}
    try:
        inv = inv_mod.vault_inventory(vault, receipts, sessions)
    except VaultError as exc:
        return VerifyReport(errors=[f"vault {url}: cannot list its inventory: {exc.message}"])
    removed = inv_mod.removed_locally(home)
    with tempfile.TemporaryDirectory(prefix="sessiontape-verify-") as tmp:
        work = Path(tmp) / "journals"
        work.mkdir()
        shown = inv_mod.union_dir(files, vault, inv, sessions, work)
        report = verify_paths([work], trust, check_counters=whole, **kw)
        _rename(report, shown)
        checks = inv_mod.reconcile(vault, inv, files, removed, sessions, _seal_hash)
        checks += inv_mod.checkpoint_checks(vault, work, shown, trust.verify)
    checks += inv_mod.anomaly_checks(inv)
    checks += _coverage(report, vault, inv, files)
    failed = " ".join(f"{c.detail} {c.where}" for c in checks if c.ok is False)
    for sid in sorted({s.session_id for s in report.segments if s.session_id}):
        if sid not in failed:
            checks.append(Check("vault", True, f"{sid}: consistent with vault"))
    report.checks.extend(checks)
    return report


def verify_from_vault(
    url: str, trust: TrustStore, home: Path, session: str | None = None, **kw: Any
) -> VerifyReport:
    """Verify what the vault holds, alone: every session (or ``session``) restored to a
    temporary directory by recorded version, verified there, plus every vault anomaly as a
    failed check. No local reconciliation: a fresh home has no journals and no ship state."""
    from agent.ship.records import vault_sessions
    from agent.ship.restore import restore_session, shipped_receipts
    from agent.ship.urls import open_vault

    vault = open_vault(url)
    try:
        sessions = [s for s in vault_sessions(vault) if session is None or s.startswith(session)]
    except VaultError as exc:
        return VerifyReport(errors=[f"vault {url}: cannot list it: {exc.message}"])
    if not sessions:
        what = f"session {session!r}" if session else "sessions"
        return VerifyReport(errors=[f"vault {url}: no {what} in segments/"])
    checks: list[Check] = []
    with tempfile.TemporaryDirectory(prefix="sessiontape-verify-") as tmp:
        work = Path(tmp) / "journals"
        shown: dict[Path, str] = {}
        for sid in sessions:
            res = restore_session(
                home,
                sid,
                vault,
                receipts=shipped_receipts(home, sid, vault.url).get(sid),
                root=work,
            )
            checks += [Check("vault", False, a.message, "vault:" + a.key) for a in res.anomalies]
            shown.update(
                {work / sid / r.key.rsplit("/", 1)[1]: "vault:" + r.key for r in res.records}
            )
        kw["check_counters"] = False  # the vault need not hold every segment of the agent yet
        report = verify_paths([work], trust, **kw)
        _rename(report, shown)
    report.checks.extend(checks)
    return report


def _rename(report: VerifyReport, shown: dict[Path, str]) -> None:
    """Report the local path (or ``vault:<key>``) instead of the laid-out copy."""
    names = {str(k): v for k, v in shown.items()}
    for s in report.segments:
        s.path = names.get(s.path, s.path)
        for c in s.checks:
            c.where = names.get(c.where, c.where)
    for c in report.checks:
        c.where = names.get(c.where, c.where)


def _coverage(report: VerifyReport, vault: Any, inv: Any, files: list[Path]) -> list[Check]:
    """How far the vault's newest checkpoint covers each open or not yet shipped segment."""
    from agent.ship.inventory import vault_coverage

    shipped = {f"{f.parent.name}/{f.name}" for f in files} & set(inv.segments)
    out: list[Check] = []
    for s in report.segments:
        p = Path(s.path)
        if s.path.startswith("vault:") or f"{p.parent.name}/{p.name}" in shipped:
            continue
        cov = vault_coverage(vault, inv, s.session_id, s.segment_id)
        state = "open" if s.status == "unsealed" else "sealed, not shipped yet"
        where = f"session {s.session_id} segment {s.index} ({s.segment_id}, {state})"
        if cov is None:
            text = f"no checkpoint in the vault: all {s.chunks_verified} local chunks uncovered"
        else:
            n, size = cov
            text = (
                f"vault checkpoint {n} covers {size} of {s.chunks_verified} chunks; "
                f"{max(s.chunks_verified - size, 0)} after it are not in the vault yet"
            )
        out.append(Check("vault", None, f"{where}: {text}"))
    return out
