"""``sessiontape demo``: record the demo trading app end to end, seal, verify, report."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import typer

from agent.cli.common import config, echo_json, home, setup_logging, writable_home

DEMO_TSA_ROOT = "demo-local-tsa"
"""Name of the demo TSA's root among the home's remembered TSA roots (``trust/tsa/``)."""


def print_result(result: Any, *, as_json: bool = False) -> None:
    """The closing summary of a recording: id, size, counts, verification, next commands."""
    rep = result.report
    if as_json:
        echo_json(
            {
                "session_id": result.session_id,
                "segments": [str(p) for p in result.segments],
                "events": result.events,
                "bytes": result.bytes,
                "kinds": result.kinds,
                "verified": rep.ok,
                "first_failure": rep.first_failure,
                "extra": {k: v for k, v in result.extra.items() if k != "steps"},
            }
        )
        return
    typer.echo(f"session   {result.session_id}")
    typer.echo(
        f"segments  {len(result.segments)}  ({result.bytes / 1e6:.2f} MB sealed, "
        f"{result.events} events)"
    )
    segs = rep.segments
    vault = result.extra.get("vault")
    if vault and "problem" in vault:
        typer.echo(f"vault     {vault['problem']}")
    elif vault:  # the loss window: what the workstation could still erase unseen
        newest = ", ".join(f"{k} n={n}" for k, n in vault["newest_checkpoint_by_segment"].items())
        typer.echo(f"vault     {vault['url']}: newest checkpoints {newest or 'none'}")
    typer.echo("events by kind:")
    for k, n in sorted(result.kinds.items(), key=lambda kv: (-kv[1], kv[0])):
        typer.echo(f"  {k:<28} {n}")
    tst = [s for s in segs if s.tst_time]
    if rep.ok:
        typer.echo(
            f"verify    OK - {len(segs)} segments, chain, Merkle roots, checkpoints, "
            "seals, keys, continuity, decryption" + (_rfc3161_label(tst[-1]) if tst else "")
        )
    else:
        typer.echo(f"verify    FAILED - {rep.first_failure}")
    sid = result.session_id
    typer.echo("next:")
    typer.echo(f"  sessiontape verify {sid} --decrypt")
    if result.segments:
        typer.echo(f"  sessiontape inspect {result.segments[0]}")
    typer.echo(f"  sessiontape replay {sid}")
    typer.echo(f"  sessiontape export {sid} --out {sid}.zip")


def _rfc3161_label(seg: Any) -> str:
    """The last seal's RFC 3161 time, saying how far it verified."""
    how = "chain verified" if seg.tst_state == "chain" else "signature only, chain NOT checked"
    return f", RFC 3161 ({seg.tst_time}, {how})"


def demo(
    headless: bool = typer.Option(
        False,
        "--headless",
        help="Force headless Chromium (default: headless only when there is no display).",
    ),
    fast: bool = typer.Option(False, "--fast", help="Shorter scripted session (~10 s)."),
    tsa: bool = typer.Option(
        True,
        "--tsa/--no-tsa",
        help="Timestamp seals with a local "
        "`openssl ts` TSA started for the demo (a stand-in for a real "
        "RFC 3161 TSA).",
    ),
    record_class: str | None = typer.Option(
        None, "--class", help="Retention class of the session (one of ship.retention_classes)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Record the demo trading app with a scripted trader: capture, mask, seal, verify, ship, index.

    Starts the demo app on 127.0.0.1, drives login, blotter, orders over WebSocket and REST,
    a client lookup with an SSN and account number, a popup, a dialog, a cross-origin
    widget and a download; then seals and verifies the session, ships it to the configured
    vault (default: the local vault in the state dir), indexes it, and prints what was
    captured.

    Example: sessiontape demo --fast
    """
    from agent.cli.capture import apply_record_flags

    record_class = apply_record_flags(headless, record_class)
    writable_home()
    setup_logging()
    firm_kid = _demo_firm()
    result = _record(fast, tsa, record_class)
    steps = result.extra.get("steps", [])
    if not as_json:
        typer.echo(
            f"scripted actions: {len(steps)}; demo app orders received: "
            f"{result.extra.get('app', {}).get('orders')}"
        )
    print_result(result, as_json=as_json)
    if not result.report.ok:
        raise typer.Exit(1)
    shipped = _ship(as_json)
    indexed = _index(as_json)
    if shipped.paused or shipped.failed or shipped.quarantined or not indexed.ok:
        raise typer.Exit(1)
    if firm_kid and not _firm_read_back(result.session_id, firm_kid, as_json):
        raise typer.Exit(1)


def _demo_firm() -> str:
    """Wrap the demo's data keys to a stand-in firm key too (when no firm recipient is
    configured), so the demo can show the firm reading the record without the workstation."""
    from agent.cli.demo_firm import with_demo_recipient
    from agent.cli.state import STATE

    cfg, kid = with_demo_recipient(config(), home())
    STATE.use_config(cfg)
    return kid


def _firm_read_back(session_id: str, kid: str, as_json: bool) -> bool:
    """Restore the shipped session in the demo firm home and verify it with the firm key."""
    from agent.cli.demo_firm import read_back

    rb = read_back(home(), config(), session_id)
    if not as_json:
        rep = rb.report
        verdict = "verify OK with decryption" if rep.ok else f"FAILED - {rep.first_failure}"
        typer.echo(
            f"firm      {rb.restored.segments} segment(s) restored from {rb.vault_url} into "
            f"{rb.home} and read with firm key {kid} alone (no workstation key): {verdict}"
        )
        typer.echo(
            f"  sessiontape --home {rb.home} replay {session_id} --from-vault {rb.vault_url}"
        )
    return rb.report.ok and not rb.restored.anomalies


def _record(
    fast: bool, tsa: bool, record_class: str | None = None, *, headless: bool = False
) -> Any:
    """Record the scripted session, with a local ``openssl ts`` TSA when asked and present
    (``headless`` forces it for tests; the CLI's ``--headless`` goes through the config)."""
    from agent.pipeline import record_demo

    local_tsa = None
    if tsa and shutil.which("openssl"):
        from agent.seal.tsa_local import LocalTSA
        from agent.seal.tsa_roots import remember_tsa_root

        local_tsa = LocalTSA(home() / "demo-tsa")
        # Remembered so that a later `verify` in this home checks the timestamp chain.
        remember_tsa_root(home(), DEMO_TSA_ROOT, local_tsa.root_pem)
        local_tsa.serve()
    try:
        typer.echo("recording the demo trading app (scripted trader session)...")
        return asyncio.run(
            record_demo(
                config(),
                home(),
                headless=headless or None,
                fast=fast,
                tsa=local_tsa,
                record_class=record_class,
            )
        )
    finally:
        if local_tsa is not None:
            local_tsa.stop()


def _ship(as_json: bool) -> Any:
    """The rest of the main job: ship the sealed segments to the configured WORM vault
    (embedded default: the local software vault under <home>/vault), HEAD-confirmed."""
    from agent.ship.runtime import build_shipper

    shipped = build_shipper(home(), config().ship, config=config()).ship_once()
    if not as_json:
        vault = config().ship.resolved_vault_url(home())
        if shipped.paused:
            typer.echo(f"ship      PAUSED - {shipped.paused}")
        else:
            typer.echo(
                f"ship      {len(shipped.shipped)} sealed segment(s) to {vault}, lock "
                "confirmed by "
                f"HEAD" + (f"; {len(shipped.failed)} failed" if shipped.failed else "")
            )
    return shipped


def _index(as_json: bool) -> Any:
    """Make the session searchable (the index is a cache rebuilt from sealed journals)."""
    from agent.index.indexer import index_new_segments

    indexed = index_new_segments(home(), config())
    if not as_json:
        typer.echo(
            f"index     {indexed.segments_indexed} segment(s), {indexed.rows} searchable "
            f"rows; try: sessiontape search 'kind:click' --limit 5"
        )
    return indexed


def register(app: typer.Typer) -> None:
    """Add ``demo``."""
    app.command("demo")(demo)
