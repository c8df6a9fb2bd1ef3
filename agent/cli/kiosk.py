"""``sessiontape kiosk``: a locked-down recorded browser, one sealed session per customer."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import typer

from agent.cli.common import config, echo_json, setup_logging, writable_home
from agent.errors import ConfigError

if TYPE_CHECKING:
    from agent.config import Config
    from agent.kiosk.policy import KioskPolicy
    from agent.kiosk.service import KioskOptions


def kiosk_cmd(
    url: str | None = typer.Option(
        None, "--url", help="The service each customer session opens at (default: kiosk.url)."
    ),
    allow: list[str] = typer.Option(
        [],
        "--allow",
        help="Allowlist pattern scheme://host, with optional :port and /path prefix "
        "(repeatable; default: kiosk.allow).",
    ),
    operator: str | None = typer.Option(
        None, "--operator", help="Operator id recorded with each session (default: kiosk.operator)."
    ),
    idle_minutes: float | None = typer.Option(
        None, "--idle-minutes", help="End a customer session after this long without input."
    ),
    customers: int = typer.Option(
        0, "--customers", help="Stop after this many customer sessions (0 = until stopped)."
    ),
    require_supervisor: bool = typer.Option(
        False,
        "--require-supervisor",
        help="Start waits until a supervisor has joined; a session whose last supervisor "
        "leaves is paused until one joins again (default: kiosk.require_supervisor).",
    ),
    headless: bool = typer.Option(
        False, "--headless", help="An invisible browser (no display needed; for testing)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run a supervised kiosk: a locked-down recorded browser, one session per customer.

    Each customer gets a fresh full-screen Chromium (--kiosk) on a fresh throwaway profile,
    deleted afterwards, limited to the allowlist. The start screen's Start button, clicked by
    the operator, begins the customer's session at --url; Ctrl+Alt+End (the operator), no
    input for --idle-minutes after an on-screen countdown (kiosk.idle_warning_seconds), or
    SIGTERM/Ctrl-C ends it. Each session is sealed and verified. The live supervision viewer
    (replay.live_listen; its URL with a per-launch token is printed) follows each customer's
    session as it is recorded; from it a supervisor can pause, resume or end the session, and
    with --require-supervisor, Start waits until one has joined. Exit 0; 1 when a session does
    not verify; 2 for a bad allowlist or URL, or without a display (unless --headless).

    Example: sessiontape kiosk --url https://bank.example/start --allow https://bank.example
    """
    cfg = config()
    policy = _policy(cfg, url, allow)
    opts = _options(cfg, operator, idle_minutes, customers, headless, require_supervisor)
    _serve(cfg, policy, opts, as_json=as_json)


def _options(
    cfg: Config,
    operator: str | None,
    idle_minutes: float | None,
    customers: int,
    headless: bool,
    require_supervisor: bool,
) -> KioskOptions:
    """The run's options from the flags, else the ``[kiosk]`` section; a display is needed
    unless headless."""
    from agent.kiosk.service import KioskOptions

    k = cfg.kiosk
    if idle_minutes is not None and idle_minutes <= 0:
        raise ConfigError(f"sessiontape kiosk: --idle-minutes {idle_minutes:g} must be above 0")
    if not headless:
        from agent.workstation.display import require_display

        require_display("sessiontape kiosk")
    return KioskOptions(
        headless=headless,
        operator=operator or k.operator or None,
        idle_seconds=60.0 * (idle_minutes if idle_minutes is not None else k.idle_minutes),
        warning_seconds=float(k.idle_warning_seconds),
        customers=customers,
        require_supervisor=require_supervisor or k.require_supervisor,
    )


def _policy(cfg: Config, url: str | None, allow: list[str]) -> KioskPolicy:
    """The policy from the flags, else the ``[kiosk]`` section (a one-line error if bad)."""
    from agent.kiosk.policy import KioskPolicy

    k = cfg.kiosk
    start = url or k.url
    if not start:
        raise ConfigError("sessiontape kiosk: no URL (give --url or set kiosk.url)")
    return KioskPolicy.build(
        start,
        allow or k.allow,
        scopes=k.scopes,
        subresources=k.subresources,
        downloads=k.downloads,
        printing=k.printing,
        service_workers=k.service_workers,
        brand=k.brand,
    )


def _serve(cfg: Config, policy: KioskPolicy, opts: KioskOptions, *, as_json: bool) -> None:
    """Run the kiosk until it stops; print its summary; exit 1 when a session is unverified."""
    from agent.kiosk.service import KioskService

    setup_logging()
    service = KioskService(writable_home(), cfg, policy, opts)
    service.hooks.append(_announce)
    typer.echo(
        f"sessiontape kiosk: {policy.start_url} (end keys Ctrl+Alt+End; SIGTERM or Ctrl-C to stop)"
    )
    from agent.kiosk.live import run_supervised

    out = asyncio.run(run_supervised(service, echo=lambda s: typer.echo(s)))
    summary: dict[str, Any] = {
        "reason": out.reason,
        "sessions": [{"session": c.session_id, "reason": c.reason} for c in out.customers],
        "verified": out.verified,
    }
    if as_json:
        echo_json(summary)
    else:
        typer.echo(
            f"sessiontape kiosk: stopped ({out.reason}); {len(out.customers)} customer "
            f"session(s) sealed, {'verified' if out.verified else 'VERIFY FAILED'}"
        )
    if not out.verified:
        raise typer.Exit(1)


def _announce(state: str, session_id: str) -> None:
    if state == "lobby":
        typer.echo("sessiontape kiosk: start screen shown, waiting for the operator")
    elif state == "session":
        typer.echo(f"sessiontape kiosk: customer session {session_id}")


def register(app: typer.Typer) -> None:
    """Add ``kiosk`` to the main CLI."""
    app.command("kiosk")(kiosk_cmd)
