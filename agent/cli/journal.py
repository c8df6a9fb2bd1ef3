"""``sessiontape verify | inspect | sessions``: the journal and seal commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from agent.cli.common import config, echo_json, home
from agent.clock import utc_iso
from agent.errors import KeyMaterialError, UsageError
from agent.journal.reader import SegmentFile
from agent.journal.store import find_session, list_sessions
from agent.keys import Keyring, TrustStore
from agent.seal.report import Check
from agent.seal.tsa_roots import tsa_root_paths
from agent.seal.verify import SegmentReport, TimestampVerifier, VerifyReport, verify_paths


def _resolve(paths: list[str]) -> list[Path]:
    """Paths as given; a bare session id (or prefix) resolves to its directory in home."""
    out: list[Path] = []
    for p in paths:
        pp = Path(p)
        if pp.exists() or "/" in p or p.endswith(".stj"):
            out.append(pp)
            continue
        out.append(find_session(home(), p).segments[0].path.parent)
    return out


def _tst_verifier(roots: list[Path]) -> TimestampVerifier | None:
    """Checks RFC 3161 tokens against the TSA root PEM files given (None when none are)."""
    pems = []
    for r in roots:
        try:
            pems.append(r.read_bytes())
        except OSError as exc:
            raise UsageError(f"{r}: cannot read TSA root: {exc.strerror}") from exc
    from agent.seal.timestamp import tst_verifier

    return tst_verifier(pems)


def run_verify(
    paths: list[Path],
    *,
    decrypt: bool,
    trust_dir: Path | None,
    tsa_roots: list[Path],
    vault: str | None = None,
    strict: bool = False,
    from_vault: str | None = None,
    session: str | None = None,
) -> VerifyReport:
    """Verify with the home's keyring (or an explicit trust dir) - the CLI's library call.

    ``strict`` (or ``seal.require_timestamp``): a missing or unchecked timestamp fails."""
    kr = Keyring.load(home())
    trust = TrustStore.from_dir(trust_dir) if trust_dir else kr.trust()
    if not trust.keys:
        raise KeyMaterialError(
            "no trusted public keys: run `sessiontape keys init` or pass --trust DIR"
        )
    roots = tsa_root_paths(home(), config().seal.tsa_roots, tsa_roots)
    kw: dict[str, Any] = {
        "keyring": kr if decrypt else None,
        "decrypt": decrypt,
        "tst_verifier": _tst_verifier(roots),
        "require_timestamp": strict or config().seal.require_timestamp,
        # Roots a home only remembers (the demo's) check chains; they do not make a missing
        # token fail, which the summary line states instead.
        "token_required": bool(tsa_roots or config().seal.tsa_roots),
    }
    if from_vault:
        from agent.cli.vaultcheck import verify_from_vault

        return verify_from_vault(from_vault, trust, home(), session, **kw)
    kw["counters_taken"], identity_problem = counters_taken(home())
    if vault:
        from agent.cli.vaultcheck import verify_with_vault

        report = verify_with_vault(paths, vault, trust, home(), **kw)
    else:
        from agent.ship.inventory import removed_locally

        # The whole state dir gets the counter checks even when it holds a single session.
        whole = True if (home() / "journals") in paths else None
        removed = removed_locally(home())
        report = verify_paths(paths, trust, removed=removed, check_counters=whole, **kw)
    if identity_problem is not None:
        report.checks.append(identity_problem)
    return report


def counters_taken(home_dir: Path) -> tuple[dict[str, int], Check | None]:
    """The latest segment counter this home's agent handed out (``agent.json``), if any, and
    a failed ``counter`` check when that file is corrupt (tamper evidence: verify fails)."""
    from agent.errors import JournalError
    from agent.journal.identity import last_counter

    try:
        taken = last_counter(home_dir)
    except JournalError as exc:
        return {}, Check("counter", False, exc.message)  # the message names the file
    return (dict([taken]) if taken else {}), None


def timestamp_note(segments: list[SegmentReport]) -> str:
    """What the summary line must add when a timestamp's chain was not checked or a segment
    has none (else ""): both are stated there, never only in the JSON report."""
    n = len(segments)
    unchained = sum(s.tst_state == "signature" for s in segments)
    missing = sum(s.tst_state == "none" for s in segments)
    parts = []
    if unchained:
        parts.append(
            f"RFC 3161 chain NOT checked for {unchained} of {n} segments (no trusted TSA roots; "
            "their token signatures verified with the embedded TSA certificate)"
        )
    if missing:
        parts.append(f"{missing} of {n} segments carry no RFC 3161 timestamp")
    if not parts:
        return ""
    return "; " + "; ".join(parts) + " (--tsa-root checks the chain, --strict requires it)"


def timestamp_label(s: SegmentReport) -> str:
    """A segment's RFC 3161 time as the per-segment line shows it, with how far it verified."""
    if s.tst_state == "chain":
        return f"  rfc3161 {s.tst_time} (chain verified)"
    if s.tst_state == "signature":
        return f"  rfc3161 {s.tst_time} (signature only; chain NOT checked)"
    return ""


_VAULT = typer.Option(
    None,
    "--vault",
    help="Also verify the vault's copies and reconcile both ways: every segment and "
    "checkpoint the vault holds must be local (or removed locally by shipping after the "
    "vault confirmed it), counters and session ends hold over local and vault together, "
    "and open segments say how much of them the vault's checkpoints cover.",
)
_FROM_VAULT = typer.Option(
    None,
    "--from-vault",
    help="Verify what this vault holds, alone (no local journals needed): each segment "
    "fetched by the version its receipt records; a newer version or delete marker over a "
    "record, or a receipt that disagrees, fails as a vault anomaly.",
)
_SESSION = typer.Option(
    None, "--session", help="With --from-vault: only this session (id or prefix)."
)


def verify(
    paths: list[str] = typer.Argument(
        None,
        help="Segment files, session dirs/ids, or a "
        "journals directory. Default: the whole state dir.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
    decrypt: bool = typer.Option(
        False, "--decrypt", help="Also decrypt and check every chunk (needs the KEK in this home)."
    ),
    trust: Path | None = typer.Option(
        None, "--trust", help="Directory of trusted *.pub keys (default: this home's trust store)."
    ),
    tsa_root: list[Path] = typer.Option(
        [],
        "--tsa-root",
        help="Trusted TSA root PEM (repeat; default: seal.tsa_roots and the roots the home "
        "remembers in trust/tsa/). Without any, timestamp signatures are checked, not chains.",
    ),
    vault: str | None = _VAULT,
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Fail a sealed segment whose RFC 3161 timestamp is missing or not chain-checked "
        "(default: seal.require_timestamp).",
    ),
    from_vault: str | None = _FROM_VAULT,
    session: str | None = _SESSION,
) -> None:
    """Verify segments, sessions or a directory; exit 0 only when every check passes.

    A directory also checks that every session ends in a closed or recovered seal (an
    unsealed last segment is reported as open); the whole state dir also checks that segment
    counters run from 0 to the latest and agree with creation time order.

    ``--from-vault URL`` verifies the vault's copies alone, by recorded version.

    Example: sessiontape verify 20261126T101500Z-3f9a1c2b --decrypt
    """
    _route_bundle(paths, trust, tsa_root, as_json, strict)
    if from_vault and (paths or vault):
        raise UsageError("--from-vault verifies the vault alone: give no PATHS and no --vault")
    targets = _resolve(paths) if paths else [home() / "journals"]
    report = run_verify(
        targets,
        decrypt=decrypt,
        trust_dir=trust,
        tsa_roots=tsa_root,
        vault=vault,
        strict=strict,
        from_vault=from_vault,
        session=session,
    )
    if as_json:
        echo_json(report.as_dict())
    else:
        _print_report(report)
    if report.ok:
        raise typer.Exit(0)
    raise typer.Exit(2 if _input_error(report, targets) else 1)


def _route_bundle(
    paths: list[str] | None, trust: Path | None, tsa_root: list[Path], as_json: bool, strict: bool
) -> None:
    """An export bundle (dir or .zip with manifest.json) is checked by bundle verify."""
    if paths and len(paths) == 1:
        from agent.cli.replay import run_bundle_verify
        from agent.replay.bundle_verify import is_bundle

        if is_bundle(Path(paths[0])):
            raise typer.Exit(
                run_bundle_verify(Path(paths[0]), trust, tsa_root, None, as_json, strict=strict)
            )


def _input_error(report: VerifyReport, targets: list[Path]) -> bool:
    """Exit 2, not 1: a path given does not exist, a file named explicitly on the command
    line is not a readable segment, or ``--decrypt`` found no key here that opens a segment.
    A damaged segment found in a directory is a failed verification of what it holds."""
    named = {str(p) for p in targets if p.is_file()}
    return bool(report.errors) or any(
        (ff := s.first_failure) is not None
        and (
            (ff.name == "format" and s.path in named)
            # no key held here opens the data key: not readable here, which is no damage
            or (ff.name == "decrypt" and bool(s.undecryptable))
        )
        for s in report.segments
    )


def _print_report(report: VerifyReport) -> None:
    """One line per segment, one per failed cross-segment check, then the summary line."""
    for s in report.segments:
        mark = "OK  " if s.passed else ("KEY " if _only_key_missing(s) else "FAIL")
        typer.echo(
            f"{mark} {s.status:<10} {s.path}  seg {s.index}  {s.events} events"
            + (f"  key {s.key_id}" if s.key_id else "")
            + timestamp_label(s)
        )
    for c in report.checks:
        if c.ok is False:
            typer.echo(f"FAIL {c.name}: {c.detail}")
        elif c.ok is None:  # open sessions, the vault's coverage, counters only in the vault
            typer.echo(f"NOTE {c.name}: {c.detail}")
        elif c.name in ("vault", "link"):  # in order: pruned by design; sessions linked
            typer.echo(f"OK   {c.name}: {c.detail}")
    if report.ok:
        typer.echo(
            f"verified: {len(report.segments)} segments, every check passed"
            + timestamp_note(report.segments)
        )
    elif all(s.passed or _only_key_missing(s) for s in report.segments) and all(
        c.ok is not False for c in report.checks
    ):  # every integrity check passed; only the content is closed to this home
        typer.echo(
            f"not decryptable here: {report.first_failure} (every integrity check passed; "
            "reading needs the workstation's KEK or a firm key)",
            err=True,
        )
    else:
        typer.echo(f"verification FAILED: {report.first_failure}", err=True)


def _only_key_missing(s: Any) -> bool:
    """The segment's one failed check is decryption for want of a key held here."""
    failed = [c for c in s.checks if c.ok is False]
    return bool(s.undecryptable) and all(c.name == "decrypt" for c in failed)


def inspect(
    path: Path = typer.Argument(..., help="A segment file."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Print a segment's metadata and event counts by kind (no decryption needed).

    Example: sessiontape inspect ~/.local/share/sessiontape/journals/<id>/000000-<seg>.stj
    """
    seg = SegmentFile(path)
    try:
        g = {k: v for k, v in seg.genesis.items() if k != "wrapped_dek"}
        headers = seg.chunk_headers()
        kinds: dict[str, int] = {}
        for h in headers:
            for k, n in h.get("kinds", {}).items():
                kinds[k] = kinds.get(k, 0) + int(n)
        seal = seg.seal()
        cps = seg.checkpoints()
        info = {
            "path": str(path),
            "genesis": g,
            "chunks": len(headers),
            "events": sum(int(h.get("n", 0)) for h in headers),
            "seq_first": headers[0].get("seq0") if headers else None,
            "seq_last": headers[-1].get("seq1") if headers else None,
            "t_first_utc": utc_iso(int(headers[0]["t0"])) if headers else None,
            "t_last_utc": utc_iso(int(headers[-1]["t1"])) if headers else None,
            "checkpoints": len(cps),
            "sealed": seal is not None,
            "seal": seal.body if seal else None,
            "rfc3161_token": bool(seal and seal.tst),
            "kinds": dict(sorted(kinds.items())),
        }
    finally:
        seg.close()
    if as_json:
        echo_json(info)
        return
    typer.echo(
        f"segment {g['segment_id']}  session {g['session_id']}  index "
        f"{g['segment_index']}  format v{g.get('format')}"
    )
    typer.echo(
        f"agent {g['agent_id']} (counter {g['agent_counter']})  user {g.get('user')}  "
        f"workstation {g.get('workstation')}"
    )
    typer.echo(
        f"chunks {info['chunks']}  events {info['events']}  seq "
        f"{info['seq_first']}..{info['seq_last']}  {info['t_first_utc']} .. "
        f"{info['t_last_utc']}"
    )
    typer.echo(
        f"checkpoints {info['checkpoints']}  sealed {info['sealed']}"
        + (f" ({seal.body.get('reason')})" if seal else "")
        + ("  rfc3161 token" if info["rfc3161_token"] else "")
    )
    typer.echo("events by kind:")
    for k, n in info["kinds"].items():  # type: ignore[union-attr]
        typer.echo(f"  {k:<28} {n}")


def sessions(as_json: bool = typer.Option(False, "--json")) -> None:
    """List the sessions in the state directory with their segments and sealed state.

    Example: sessiontape sessions --json
    """
    ss = list_sessions(home())
    if as_json:
        echo_json([s.as_dict() for s in ss])
        return
    if not ss:
        typer.echo(f"no sessions in {home() / 'journals'}")
        return
    for s in ss:
        state = (
            "damaged"
            if s.damaged
            else "closed"
            if s.closed
            else ("sealed" if s.sealed else "open/unsealed")
        )
        typer.echo(
            f"{s.session_id}  user {s.user}  {utc_iso(s.start_utc_ns)} .. "
            f"{utc_iso(s.end_utc_ns)}  {len(s.segments)} segments  {s.event_count} "
            f"events  {state}"
            + (f"  after {s.previous_session['session_id']}" if s.previous_session else "")
        )
        for seg in s.segments:
            typer.echo(
                f"    {seg.path}  "
                + (
                    f"damaged: {seg.error.removeprefix(f'{seg.path}: ')}"
                    if seg.error
                    else (f"sealed ({seg.seal_reason})" if seg.sealed else "unsealed")
                )
            )


def register(app: typer.Typer) -> None:
    """Add verify, inspect, sessions."""
    app.command("verify")(verify)
    app.command("inspect")(inspect)
    app.command("sessions")(sessions)
