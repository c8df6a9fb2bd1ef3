"""``sessiontape replay | export``: the viewer and evidence bundles."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from agent.cli.common import config, home
from agent.errors import UsageError
from agent.seal.tsa_roots import tsa_root_paths

if TYPE_CHECKING:
    from agent.replay.bundle_verify import BundleReport


def _read_roots(paths: list[Path]) -> list[bytes]:
    out = []
    for p in paths:
        try:
            out.append(p.read_bytes())
        except OSError as exc:
            raise UsageError(f"{p}: cannot read TSA root: {exc.strerror}") from exc
    return out


_FROM_VAULT_HELP = (
    "Read the session from this vault (s3://bucket/prefix or file:///path), each segment by "
    "the version its receipt records, into <home>/restore/. Without it, a session whose "
    "journals are gone but whose receipts are in ship/state.db is restored automatically."
)


def _restore(sessions: list[str], from_vault: str | None) -> None:
    """Restore sessions that are not local (or all named ones, ``--from-vault``)."""
    from agent.ship.restore import restore_for_read

    for s in sessions:
        restore_for_read(home(), s, from_vault, echo=lambda m: typer.echo(m, err=True))


def replay(
    session: str = typer.Argument(..., help="Session id (or unique prefix)."),
    at: str | None = typer.Option(None, "--at", help="Open at this UTC time (ISO 8601)."),
    seq: int | None = typer.Option(None, "--seq", help="Open at this event seq."),
    no_open: bool = typer.Option(False, "--no-open", help="Print the URL, do not open it."),
    port: int = typer.Option(0, "--port", help="Port on 127.0.0.1 (default: random)."),
    tsa_root: list[Path] = typer.Option(
        [],
        "--tsa-root",
        help="Trusted TSA root PEM (repeat; default: seal.tsa_roots and trust/tsa/ in the home).",
    ),
    from_vault: str | None = typer.Option(None, "--from-vault", help=_FROM_VAULT_HELP),
) -> None:
    """Verify a session and replay it in a local viewer (127.0.0.1, per-launch token).

    Example: sessiontape replay 20261126T101500Z-3f9a1c2b --at 2026-11-26T10:20:00Z
    """
    from agent.replay.server import launch

    if at is not None and seq is not None:
        raise UsageError("give --at or --seq, not both")
    _restore([session], from_vault)
    roots = _read_roots(tsa_root_paths(home(), config().seal.tsa_roots, tsa_root))
    launch(
        home(),
        config(),
        session,
        at=at,
        seq=seq,
        port=port,
        open_browser=not no_open,
        tsa_roots=roots,
        echo=lambda s: typer.echo(s),
    )


def watch(
    session: str | None = typer.Argument(
        None, help="Session id (or unique prefix); default: the newest one being recorded."
    ),
    kiosk: bool = typer.Option(
        False,
        "--kiosk",
        help="Follow session after session (a kiosk's customers); wait when none is active.",
    ),
    listen: str | None = typer.Option(
        None,
        "--listen",
        help="HOST:PORT (default: replay.live_listen, 127.0.0.1 on a random port); any other "
        "address needs replay.live_tls_cert, live_tls_key and live_token_file.",
    ),
    no_open: bool = typer.Option(False, "--no-open", help="Print the URL, do not open it."),
) -> None:
    """Watch a session live, as its events become durable, each chunk verified on arrival.

    The badge says "live, verified to checkpoint N": events up to the newest signed
    checkpoint are verified, newer ones chain-checked only; a tampered chunk stops the view
    with the failed check. Exit 2 when no session is being recorded (without --kiosk).

    Example: sessiontape watch --kiosk --no-open
    """
    from agent.replay.live_launch import watch as run_watch

    run_watch(
        home(),
        config(),
        session,
        kiosk=kiosk,
        listen=listen,
        open_browser=not no_open,
        echo=lambda s: typer.echo(s),
    )


def export(
    session: list[str] = typer.Argument(None, help="Session id(s) (or unique prefixes)."),
    out: Path = typer.Option(..., "--out", help="Target directory, or a FILE.zip."),
    query: str | None = typer.Option(None, "--query", help="Select sessions by index search."),
    recipient: Path | None = typer.Option(
        None,
        "--recipient",
        help="Recipient X25519 public key (PEM): include the segments' data keys for it.",
    ),
    reason: str = typer.Option("", "--reason", help="Why (custody record)."),
    matter: str = typer.Option("", "--matter", help="Matter / case reference."),
    force: bool = typer.Option(False, "--force", help="Replace an existing target."),
    tsa_root: list[Path] = typer.Option([], "--tsa-root", help="Trusted TSA root PEM."),
    from_vault: str | None = typer.Option(None, "--from-vault", help=_FROM_VAULT_HELP),
) -> None:
    """Export sessions as an evidence bundle (report, offline viewer, native data, proofs).

    Example: sessiontape export 20261126T101500Z-3f9a1c2b --out case-42.zip --matter 2026-042
    """
    from agent.replay.export import export_bundle

    _restore(list(session or []), from_vault)
    roots = _read_roots(tsa_root_paths(home(), config().seal.tsa_roots, tsa_root))
    res = export_bundle(
        home(),
        config(),
        list(session or []),
        out,
        query=query,
        recipient=recipient,
        reason=reason,
        matter=matter,
        force=force,
        tsa_roots=roots,
    )
    typer.echo(f"exported {len(res.sessions)} session(s), {res.files} files -> {res.path}")
    typer.echo(f"bundle sha256 {res.bundle_sha256}")
    for sid, ret in res.retention.items():
        segs = ", ".join(
            f"{g['class'] or '?'} {_chosen_by(g['rule'])} until "
            f"{g['retain_until'] or 'not shipped'}"
            for g in ret["segments"]
        )
        typer.echo(f"retention {sid}: {ret['class']} ({segs})")
    typer.echo(
        f"report: {res.report.thumbnails} thumbnails"
        + (
            f" ({res.report.thumbnails_missing} moments without a picture)"
            if res.report.thumbnails_missing
            else ""
        )
        + (", report.pdf" if res.report.pdf else ", no report.pdf")
    )
    typer.echo(f"readable: {res.report.readable}")


def _views_note(rep: BundleReport) -> str:
    """What the summary line must say when files a person reads were not re-derived."""
    if not rep.not_rederived:
        return ""
    return "; NOT re-derived without the data keys (checked by manifest hash only): " + ", ".join(
        rep.not_rederived
    )


def run_bundle_verify(
    bundle: Path,
    trust_dir: Path | None,
    tsa_root: list[Path],
    recipient_key: Path | None,
    as_json: bool,
    *,
    strict: bool = False,
) -> int:
    """Verify an export bundle; print the result; return the exit code (0 / 1)."""
    from agent.cli.common import echo_json
    from agent.errors import KeyMaterialError
    from agent.keys import Keyring, TrustStore
    from agent.replay.bundle_verify import verify_bundle

    if not bundle.exists():
        raise UsageError(f"{bundle}: no such file or directory")
    kr = Keyring.load(home())
    trust = TrustStore.from_dir(trust_dir) if trust_dir else kr.trust()
    if not trust.keys:
        raise KeyMaterialError(
            "no trusted public keys: pass --trust DIR (the keys inside the "
            "bundle are not trusted on their own)"
        )
    deks = _bundle_deks(bundle, recipient_key) if recipient_key is not None else None
    roots = _read_roots(tsa_root_paths(home(), config().seal.tsa_roots, tsa_root))
    rep = verify_bundle(
        bundle,
        trust,
        roots,
        deks=deks,
        keyring=kr,
        require_timestamp=strict or config().seal.require_timestamp,
    )
    if as_json:
        echo_json(rep.as_dict())
    else:
        for c in rep.checks:
            mark = {True: "OK  ", False: "FAIL", None: "--  "}[c.ok]
            typer.echo(f"{mark} {c.name}: {c.detail}" + (f" ({c.where})" if c.where else ""))
        if rep.ok:
            from agent.cli.journal import timestamp_note

            segs = rep.segments.segments if rep.segments else []
            typer.echo(
                "bundle verified: every check passed" + timestamp_note(segs) + _views_note(rep)
            )
        else:
            typer.echo(f"bundle verification FAILED: {rep.first_failure}", err=True)
    return 0 if rep.ok else 1


def _bundle_deks(bundle: Path, recipient_key: Path) -> dict[str, bytes]:
    """The data keys of a bundle (a folder, or a .zip unpacked into a private temporary
    directory that is removed afterwards), opened with the recipient's private key."""
    import shutil
    import tempfile

    from agent.replay.bundle_zip import is_zip_bundle, unzip_bundle
    from agent.replay.export import open_deks

    if bundle.is_dir():
        return open_deks(bundle, recipient_key)
    if not is_zip_bundle(bundle):
        raise UsageError(f"{bundle}: not an export bundle (a folder or a .zip with manifest.json)")
    tmp = Path(tempfile.mkdtemp(prefix="st-bundle-keys-"))  # mode 0700
    try:
        unzip_bundle(bundle, tmp)
        return open_deks(tmp, recipient_key)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def verify_bundle_cmd(
    bundle: Path = typer.Argument(..., help="Export bundle: a directory or a .zip."),
    trust: Path | None = typer.Option(
        None,
        "--trust",
        help="Directory of trusted *.pub keys "
        "(default: this home's trust store; never the bundle's).",
    ),
    tsa_root: list[Path] = typer.Option([], "--tsa-root", help="Trusted TSA root PEM (repeat)."),
    recipient_key: Path | None = typer.Option(
        None,
        "--recipient-key",
        help="Recipient X25519 private key (PEM, or raw base64/hex): re-derive "
        "events/HAR/CSV, data.js, report.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Verify an export bundle offline (`sessiontape verify BUNDLE` does the same).

    Example: sessiontape verify-bundle case-42.zip --trust firm-keys/ --recipient-key me.pem
    """
    raise typer.Exit(run_bundle_verify(bundle, trust, tsa_root, recipient_key, as_json))


def register(app: typer.Typer) -> None:
    """Add replay and export."""
    app.command("replay")(replay)
    app.command("watch")(watch)
    app.command("export")(export)
    app.command("verify-bundle")(verify_bundle_cmd)


def _chosen_by(rule: str | None) -> str:
    """How a segment's retention class was chosen, as the export line says it."""
    if not rule:
        return "(rule unknown)"
    if rule == "default":
        return "(no class rule matched)"
    return f"by {rule}"
