"""``sessiontape ship [--once] | ship status | ship dispose | ship reverify`` and ``sessiontape
hold add | release | list``: the ship stage's commands."""

from __future__ import annotations

from typing import Any

import typer

from agent.cli.common import config, echo_json, home, setup_logging
from agent.errors import PostureError, VerificationFailed

ship_app = typer.Typer(
    help="Ship sealed journals to WORM storage.\n\nExample: sessiontape ship --once",
    invoke_without_command=True,
)
hold_app = typer.Typer(
    help="Legal holds on recorded sessions.\n\n"
    "Example: sessiontape hold add --matter SEC-2026-14 --session 20260101T0900",
    no_args_is_help=True,
)


def _shipper() -> Any:
    from agent.ship.runtime import build_shipper

    setup_logging()
    return build_shipper(home(), config().ship, config=config())


def _actor() -> str:
    """The OS account running the command (never a flag or environment variable)."""
    from agent.actor import os_actor

    return os_actor().name


def _human_size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@ship_app.callback()
def ship_main(
    ctx: typer.Context,
    once: bool = typer.Option(
        False,
        "--once",
        help="Run one pass (posture, checkpoints, ship every due sealed segment) and exit.",
    ),
) -> None:
    """Ship sealed segments and checkpoints to the vault (``ship.vault_url``).

    Exit 0 when nothing failed verification; 1 when a segment was quarantined; 2 when
    shipping is paused (posture: bucket not WORM enough, bad credentials, clock off).

    Example: SESSIONTAPE_VAULT_URL=s3://records/desk1 sessiontape ship --once
    """
    if ctx.invoked_subcommand is not None:
        return
    if not once:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    from agent.ship.checkpoints import ship_checkpoints

    sh = _shipper()
    sh.check_posture(force=True)
    res = sh.ship_once()
    cps = ship_checkpoints(sh)  # after: segments shipped whole need no separate checkpoints
    typer.echo(
        f"shipped {len(res.shipped)}, quarantined {len(res.quarantined)}, "
        f"retrying {len(res.failed)}, checkpoints {cps} -> {sh.vaults['primary'].url}"
    )
    for key, err in res.failed.items():
        typer.echo(f"  retry later: {key}: {err}", err=True)
    if res.paused:
        raise PostureError(f"shipping paused: {res.paused}")
    if res.quarantined:
        raise VerificationFailed(
            "ship", f"{len(res.quarantined)} segment(s) quarantined: " + ", ".join(res.quarantined)
        )


@ship_app.command("status")
def ship_status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Pending / shipped / quarantined segments with sizes and ages, holds, pause reason, and
    vault anomalies (a newer version or a delete marker over a shipped record, a receipt
    object that disagrees), each naming key and version ids.

    Example: sessiontape ship status --json
    """
    st = _shipper().status()
    if as_json:
        echo_json(st)
        return
    if st["paused"]:
        typer.echo(f"PAUSED: {st['paused']}")
    for name, url in st["vaults"].items():
        typer.echo(f"{name} vault: {url}")
    for status in ("pending", "shipped", "quarantined"):
        s = st[status]
        typer.echo(
            f"{status:12} {s['count']:6}  {_human_size(s['bytes']):>10}  "
            f"oldest {s['oldest_age_s']} s"
        )
        if status != "shipped":
            for it in s["items"][:10]:
                typer.echo(f"    {it['key']}  attempts={it['attempts']}  {it['last_error'] or ''}")
    typer.echo(
        f"checkpoints shipped: {st['checkpoints_shipped']}; active holds: {len(st['holds'])}"
    )
    typer.echo(f"vault anomalies: {len(st['anomalies'])}")
    for a in st["anomalies"]:
        typer.echo(f"    {a['vault']}: {a['message']}")


@ship_app.command("reverify")
def ship_reverify(
    sample: int = typer.Option(
        None, "--sample", help="Older objects to re-check (default ship.reverify_sample)."
    ),
) -> None:
    """Re-verify new objects and a rolling sample (HEAD, GET + re-hash, signatures).

    Example: sessiontape ship reverify --sample 100
    """
    from agent.ship.reverify import reverify_once

    results = reverify_once(_shipper(), sample=sample)
    bad = [r for r in results if not r["ok"]]
    typer.echo(f"re-verified {len(results)} object copies, {len(bad)} failed")
    for r in bad:
        typer.echo(f"  {r['vault']}/{r['key']}: {'; '.join(r['problems'])}", err=True)
    if bad:
        raise VerificationFailed("reverify", f"{len(bad)} stored object(s) failed")


@ship_app.command("dispose")
def ship_dispose(
    yes: bool = typer.Option(
        False,
        "--yes",
        help="Delete eligible objects from software-enforced vaults (never from S3).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List every object past retain-until (class, retain-until, held by which matters) and
    record a sealed disposition for each one not held; --yes deletes them from the file
    vault only.

    Example: sessiontape ship dispose --json
    """
    from agent.ship.holds import dispose, expired

    sh = _shipper()
    out = dispose(sh, execute=yes, actor=_actor())
    rows = expired(sh)
    if as_json:
        echo_json({"records": out, "expired": rows})
        return
    typer.echo(f"{len(out)} disposition record(s)")
    for r in out:
        typer.echo(f"  {r['action']}: {r['key']} (retained until {r['retain_until']})")
    eligible = [r for r in rows if not r["held"]]
    if rows:
        typer.echo(f"{len(eligible)} object(s) past retain-until and not held")
    for r in eligible:
        typer.echo(
            f"  {r['session_id']}  {r['record_class']}  until {r['retain_until']}  {r['key']}"
        )
    for r in rows:
        if r["held"]:
            typer.echo(f"  kept by hold {', '.join(r['matters'])}: {r['key']}")


@hold_app.command("add")
def hold_add(
    matter: str = typer.Option(..., "--matter", help="Matter / case reference."),
    session: str = typer.Option(..., "--session", help="Session id."),
) -> None:
    """Place a legal hold on every stored object of a session, in every vault.

    Example: sessiontape hold add --matter SEC-2026-14 --session 20260101T090000Z-ab12
    """
    from agent.ship.holds import add_hold

    p = add_hold(_shipper(), matter, session, _actor())
    typer.echo(f"hold {matter} on {session}: {p['objects']} object(s) held")


@hold_app.command("release")
def hold_release(
    matter: str = typer.Option(..., "--matter", help="Matter / case reference."),
    session: str = typer.Option(..., "--session", help="Session id."),
) -> None:
    """Release one matter's hold (vault holds stay while another matter holds the session).

    Example: sessiontape hold release --matter SEC-2026-14 --session 20260101T090000Z-ab12
    """
    from agent.ship.holds import release_hold

    p = release_hold(_shipper(), matter, session, _actor())
    still = ", ".join(p["still_held_by"])
    typer.echo(
        f"released {matter} on {session}: {p['objects']} object(s) released"
        + (f"; still held by {still}" if still else "")
    )


@hold_app.command("list")
def hold_list(
    all_: bool = typer.Option(False, "--all", help="Include released holds."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List legal holds.

    Example: sessiontape hold list --all
    """
    from agent.ship.holds import list_holds

    rows = list_holds(_shipper(), include_released=all_)
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        state = "active" if r["released_ns"] is None else f"released by {r['released_by']}"
        typer.echo(f"{r['matter']}  {r['session_id']}  by {r['actor']}  {state}")
    if not rows:
        typer.echo("no holds")


def register(app: typer.Typer) -> None:
    """Add ``ship`` and ``hold`` to the main app."""
    app.add_typer(ship_app, name="ship")
    app.add_typer(hold_app, name="hold")
