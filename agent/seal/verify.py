"""Verification of segments and sessions, without the decryption key unless asked.

Checks, by name (a report names the first failing check and the exact chunk/seq):

``format``      the file is a readable sessiontape segment of a known version
``chain``       every leaf recomputes from header‖ciphertext; the hash chain links; idx dense
``headers``     chunk headers name this segment, their index, and dense seq ranges
``checkpoint``  every checkpoint is signed by a trusted key and matches the tree at its size
``seal``        the seal is signed by a trusted key and matches root, chain, counts, seqs
``key``         every signing key is in the trust store
``continuity``  a session's segments are all there: indices dense, each genesis names the
                previous seal, seqs continue across segments
``counter``     (whole state dir) per-agent segment counters have no holes
``rfc3161``     the seal's timestamp token parses, is granted, is signed by the certificate
                it embeds and timestamps the seal's digest; with TSA roots that certificate
                chains to one, and a sealed segment without a token fails; with
                ``require_timestamp`` a missing or unchained token fails
``decrypt``     (``--decrypt``) every chunk authenticates and decodes to its header's events
``vault``       (``--vault``) checkpoints shipped to WORM are consistent with the local file

Statuses: ``verified`` (sealed on close/rotation), ``recovered`` (sealed by recovery after a
crash - the "unsealed-recovered" state), ``unsealed`` (no seal: reported with how far it
verifies; not a pass), ``failed``.

Each check is one function in :mod:`agent.seal.verify_checks`; the report types are in
:mod:`agent.seal.report`. Verification reads segments through :mod:`agent.seal.segment_file`
and never imports the journal.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from agent.errors import InputError, KeyMaterialError, SessiontapeError
from agent.keys import Keyring, TrustStore
from agent.seal import format as fmt
from agent.seal import verify_checks as checks
from agent.seal.report import Check, SegmentReport, VerifyReport
from agent.seal.segment_file import SegmentFile
from agent.seal.verify_checks import TimestampVerifier

__all__ = [
    "Check",
    "SegmentReport",
    "TimestampVerifier",
    "VerifyReport",
    "verify_paths",
    "verify_segment",
]


def verify_segment(
    path: Path,
    trust: TrustStore,
    *,
    keyring: Keyring | None = None,
    decrypt: bool = False,
    tst_verifier: TimestampVerifier | None = None,
    require_timestamp: bool = False,
    token_required: bool | None = None,
) -> SegmentReport:
    """Verify one segment file; never raises for content problems (they go in the report).

    ``token_required``: a sealed segment without a timestamp token fails ``rfc3161`` (default:
    when ``tst_verifier`` is given, i.e. TSA roots are trusted)."""
    rep = SegmentReport(path=str(path))
    with contextlib.suppress(OSError):
        rep.bytes = path.stat().st_size
    try:
        seg = SegmentFile(path)
    except InputError as exc:
        rep.fail("format", exc.message.removeprefix(f"{path}: "))
        return rep
    try:
        required = tst_verifier is not None if token_required is None else token_required
        _verify_open(seg, rep, trust, keyring, decrypt, tst_verifier, require_timestamp, required)
    except SessiontapeError as exc:
        rep.fail("format", exc.message.removeprefix(f"{path}: "))
    finally:
        seg.close()
    if rep.first_failure is not None:
        rep.status = "failed"
    return rep


def _verify_open(
    seg: SegmentFile,
    rep: SegmentReport,
    trust: TrustStore,
    keyring: Keyring | None,
    decrypt: bool,
    tst_verifier: TimestampVerifier | None,
    require_timestamp: bool,
    token_required: bool,
) -> None:
    """Run the named checks in order on an open segment."""
    checks.check_format(seg, rep)
    cps = seg.checkpoints()
    # Bodies are not yet known to be signed: a size that is no integer names no tree size.
    checkpoint_sizes = {s for cp in cps if type(s := cp.body.get("tree_size")) is int}
    cipher = None
    if decrypt:
        if keyring is None:
            raise KeyMaterialError("--decrypt needs a keyring")
        cipher = seg.cipher(keyring)
    stored = checks.check_chunks(seg, rep, cipher, checkpoint_sizes)
    keys_seen = checks.check_checkpoints(cps, seg, rep, trust, stored)
    seal = checks.check_seal(seg, rep, trust, stored)
    if seal is not None:
        keys_seen.add(rep.key_id)
        checks.check_rfc3161(seal, rep, tst_verifier, require_timestamp, token_required)
    checks.check_keys(rep, trust, keys_seen)


def _collect(paths: Iterable[Path]) -> tuple[list[Path], list[str], bool]:
    files: list[Path] = []
    errors: list[str] = []
    whole_root = False
    for p in paths:
        if p.is_dir():
            found = sorted(p.rglob(f"*{fmt.SEGMENT_SUFFIX}"))
            if not found:
                errors.append(f"{p}: no segments ({fmt.SEGMENT_SUFFIX} files) in this directory")
            if len({f.parent for f in found}) > 1:
                whole_root = True
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            errors.append(f"{p}: no such file or directory")
    return files, errors, whole_root


def verify_paths(
    paths: Iterable[Path],
    trust: TrustStore,
    *,
    keyring: Keyring | None = None,
    decrypt: bool = False,
    tst_verifier: TimestampVerifier | None = None,
    check_counters: bool | None = None,
    require_timestamp: bool = False,
    token_required: bool | None = None,
) -> VerifyReport:
    """Verify segment files, session directories or a whole journals directory.

    ``require_timestamp``: every sealed segment must carry a timestamp token that verifies
    against ``tst_verifier``'s roots (no roots: every sealed segment fails ``rfc3161``).
    Without roots a token's signature, status and imprint are still checked.
    ``token_required``: see :func:`verify_segment`."""
    files, errors, whole = _collect(paths)
    report = VerifyReport(errors=errors)
    for f in files:
        report.segments.append(
            verify_segment(
                f,
                trust,
                keyring=keyring,
                decrypt=decrypt,
                tst_verifier=tst_verifier,
                require_timestamp=require_timestamp,
                token_required=token_required,
            )
        )
    _continuity(report)
    if check_counters if check_counters is not None else whole:
        _counters(report)
    return report


def _continuity(report: VerifyReport) -> None:
    by_session: dict[str, list[SegmentReport]] = defaultdict(list)
    for s in report.segments:
        if s.session_id:
            by_session[s.session_id].append(s)
    for sid, segs in by_session.items():
        segs.sort(key=lambda s: s.index)
        problems = []
        if segs[0].index != 0 and len(segs) > 1:
            problems.append(
                (f"session {sid} starts at segment index {segs[0].index}", segs[0].path)
            )
        for a, b in zip(segs, segs[1:], strict=False):
            if b.index != a.index + 1:
                problems.append(
                    (
                        f"segment index {a.index + 1} missing in session {sid} "
                        f"(between {Path(a.path).name} and {Path(b.path).name})",
                        b.path,
                    )
                )
            elif a.seal_hash and b.prev_seal_hash != a.seal_hash:
                problems.append(
                    (f"segment {b.index} does not follow the seal of segment {a.index}", b.path)
                )
            elif a.seal_seq_last is not None and b.seq_first_genesis != a.seal_seq_last + 1:
                problems.append(
                    (
                        f"seq jumps from {a.seal_seq_last} to {b.seq_first_genesis} "
                        f"between segments {a.index} and {b.index}",
                        b.path,
                    )
                )
            elif not a.seal_hash:
                problems.append(
                    (f"segment {a.index} is unsealed but followed by segment {b.index}", a.path)
                )
        for msg, where in problems:
            report.checks.append(Check("continuity", False, msg, where))
        if not problems:
            report.checks.append(
                Check("continuity", True, f"session {sid}: {len(segs)} segments in order")
            )


def _counters(report: VerifyReport) -> None:
    by_agent: dict[str, list[int]] = defaultdict(list)
    for s in report.segments:
        if s.agent_id:
            by_agent[s.agent_id].append(s.agent_counter)
    for agent, counters in by_agent.items():
        cs = sorted(counters)
        missing = sorted(set(range(cs[0], cs[-1] + 1)) - set(cs))
        if missing:
            report.checks.append(
                Check(
                    "counter", False, f"agent {agent}: segment counters {missing[:5]} missing", ""
                )
            )
        else:
            report.checks.append(Check("counter", True, f"agent {agent}: {len(cs)} segments"))
