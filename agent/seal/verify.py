"""Verification of segments and sessions, without the decryption key unless asked.

Checks, by name (a report names the first failing check and the exact chunk/seq):

``format``      the file is a readable sessiontape segment of a known version
``chain``       every leaf recomputes from header‖ciphertext; the hash chain links; idx dense
``headers``     chunk headers name this segment, their index, and dense seq ranges
``checkpoint``  every checkpoint is signed by a trusted key, links to the one before (a
                deleted checkpoint is named) and matches the tree at its size
``seal``        the seal is signed by a trusted key and matches root, chain, counts, seqs
``key``         every signing key is in the trust store
``continuity``  a session's segments are all there: indices dense, each genesis names the
                previous seal, seqs continue across segments
``session-end`` (directories) every session ends in a ``closed`` or ``recovered`` seal, or
                is open (unsealed last segment); a last seal saying ``rotated`` fails
``link``        a linked session's genesis names the last seal of the session it follows
                (when that session is here; else a note: "previous session not here")
``counter``     (whole state dir) per-agent segment counters 0..latest, each exactly once
``time-order``  (whole state dir) segment creation times agree with counter order
``rfc3161``     the seal's timestamp token parses, is granted, is signed by the certificate
                it embeds and timestamps the seal's digest; with TSA roots that certificate
                chains to one, and a sealed segment without a token fails; with
                ``require_timestamp`` a missing or unchained token fails
``decrypt``     (``--decrypt``) every chunk authenticates and decodes to its header's events;
                when no key held here opens the data key: ``cannot decrypt (key kek:…
                unavailable; …)`` (the integrity checks still run: a missing key is not damage)
``vault``       (``--vault``) checkpoints shipped to WORM are consistent with the local file

Statuses: ``verified`` (sealed on close/rotation), ``recovered`` (sealed by recovery after a
crash - the "unsealed-recovered" state), ``unsealed`` (no seal: reported with how far it
verifies; not a pass), ``failed``.

Each segment check is one function in :mod:`agent.seal.verify_checks`, each cross-segment
check one in :mod:`agent.seal.verify_sessions`; the report types are in
:mod:`agent.seal.report`. Verification reads segments through :mod:`agent.seal.segment_file`
and never imports the journal.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from agent.errors import InputError, KeyMaterialError, SessiontapeError
from agent.keys import Keyring, TrustStore
from agent.seal import format as fmt
from agent.seal import verify_checks as checks
from agent.seal import verify_sessions as across
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
    cipher, no_key = None, ""
    if decrypt:
        if keyring is None:
            raise KeyMaterialError("--decrypt needs a keyring")
        try:
            cipher = seg.cipher(keyring)
        except KeyMaterialError as exc:  # a key problem, not damage: the other checks still run
            no_key = rep.undecryptable = exc.message.removeprefix(f"{seg.path}: ")
    stored = checks.check_chunks(seg, rep, cipher, checkpoint_sizes, no_key=no_key)
    keys_seen = checks.check_checkpoints(cps, seg, rep, trust, stored)
    seal = checks.check_seal(seg, rep, trust, stored)
    if seal is not None:
        keys_seen.add(rep.key_id)
        checks.check_rfc3161(seal, rep, tst_verifier, require_timestamp, token_required)
    checks.check_keys(rep, trust, keys_seen)


def _collect(paths: Iterable[Path]) -> tuple[list[Path], list[str], bool, bool]:
    """(segment files, unreadable inputs, whether a whole state dir was given, whether any
    directory was given)."""
    files: list[Path] = []
    errors: list[str] = []
    whole_root = any_dir = False
    for p in paths:
        if p.is_dir():
            any_dir = True
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
    return files, errors, whole_root, any_dir


def verify_paths(
    paths: Iterable[Path],
    trust: TrustStore,
    *,
    keyring: Keyring | None = None,
    decrypt: bool = False,
    tst_verifier: TimestampVerifier | None = None,
    check_counters: bool | None = None,
    require_timestamp: bool = False,
    removed: Collection[str] = (),
    counters_taken: Mapping[str, int] | None = None,
    token_required: bool | None = None,
) -> VerifyReport:
    """Verify segment files, session directories or a whole journals directory.

    ``require_timestamp``: every sealed segment must carry a timestamp token that verifies
    against ``tst_verifier``'s roots (no roots: every sealed segment fails ``rfc3161``).
    Without roots a token's signature, status and imprint are still checked.
    ``token_required``: see :func:`verify_segment`.
    ``check_counters`` (default: a whole state dir was given) runs ``counter`` and
    ``time-order``; ``session-end`` runs when a directory was given. ``removed``: the
    ``<session>/<file name>`` of segments shipping removed locally after the vault confirmed
    them (not holes). ``counters_taken``: each agent's latest handed-out segment counter."""
    files, errors, whole, any_dir = _collect(paths)
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
    across.check_continuity(report, removed)
    across.check_links(report, removed)
    if any_dir:
        across.check_session_ends(report, removed)
    if check_counters if check_counters is not None else whole:
        across.check_counters(report, removed, counters_taken)
        across.check_time_order(report)
    return report
