"""``sessiontape agent``: the workstation service (the user's own browser, recorded all day,
with the ship and index jobs beside it), or with ``--no-browser`` the jobs alone."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import typer

from agent.cli.common import config, echo_json, home, setup_logging, writable_home


def _floor(record_class: str | None) -> str | None:
    from agent.cli.capture import check_class

    return check_class(record_class) if record_class is not None else None


def _shipper(floor: str | None) -> Any:
    from agent.ship.runtime import build_shipper

    setup_logging()
    sh = build_shipper(home(), config().ship, config=config())
    sh.min_class = floor
    return sh


def agent_cmd(
    run_seconds: float = typer.Option(
        0, "--run-seconds", help="Stop after this many seconds (0 = until Ctrl-C / SIGTERM)."
    ),
    record_class: str | None = typer.Option(
        None,
        "--class",
        help="Keep every session this agent ships at least as long as this retention class "
        "(the longer of it and the class the seal records).",
    ),
    headless: bool = typer.Option(
        False, "--headless", help="Record an invisible browser (no display needed)."
    ),
    no_browser: bool = typer.Option(
        False, "--no-browser", help="Run only the ship jobs; record no browser."
    ),
    user: str | None = typer.Option(
        None,
        "--user",
        help="User id recorded with the session (default: agent.identity or the OS user).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Record the user's own browser all day, with the ship and index jobs beside it.

    A visible Chromium on the persistent profile agent.profile_dir opens at
    agent.start_pages; it is relaunched after a crash and, by agent.on_close, after the
    user closes it. The ship jobs and the local index update (agent.index_interval_seconds)
    run in the same process. SIGTERM or Ctrl-C closes the browser, seals and verifies the
    session. Exit 0; 1 when the session does not verify; 2 without a usable display (unless
    --headless). --no-browser runs the ship jobs alone.

    Example: sessiontape agent
    """
    from agent.platform.memory import tune_allocator

    tune_allocator()  # before the browser driver, the scheduler and the health socket start
    floor = _floor(record_class)
    if no_browser:
        _ship_only(run_seconds, floor)
        return
    if not headless:
        from agent.workstation.display import require_display

        require_display("sessiontape agent")
    writable_home()
    _serve(_shipper(floor), headless=headless, run_seconds=run_seconds, user=user, as_json=as_json)


def _serve(sh: Any, *, headless: bool, run_seconds: float, user: str | None, as_json: bool) -> None:
    """Run the workstation service until it stops; print its summary; exit 1 unverified."""
    from agent.workstation.service import ServiceOptions, WorkstationService, describe

    service = WorkstationService(
        home(),
        config(),
        ServiceOptions(headless=headless, run_seconds=run_seconds, user=user),
        shipper=sh,
    )
    service.on_session_change(lambda sid: typer.echo(f"sessiontape agent: recording session {sid}"))
    typer.echo(
        f"sessiontape agent: recording the {'headless' if headless else 'visible'} browser, "
        f"shipping to {sh.vaults['primary'].url} (SIGTERM or Ctrl-C to stop)"
    )
    out = asyncio.run(service.run())
    summary = describe(out)
    if as_json:
        echo_json(summary)
    else:
        typer.echo(
            f"sessiontape agent: stopped ({out.reason}); session(s) {', '.join(out.sessions)} "
            f"sealed, {'verified' if summary['verified'] else 'VERIFY FAILED'}"
        )
    if not summary["verified"]:
        raise typer.Exit(1)


def _ship_only(run_seconds: float, floor: str | None) -> None:
    """The ship scheduler in the foreground; Ctrl-C or SIGTERM stops it cleanly."""
    import signal

    from agent.ship.scheduler import run_agent

    sh = _shipper(floor)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if run_seconds > 0:
        threading.Timer(run_seconds, stop.set).start()
    typer.echo(
        f"sessiontape agent: shipping to {sh.vaults['primary'].url} "
        f"every {sh.cfg.interval_seconds} s (Ctrl-C to stop)"
    )
    t0 = time.monotonic()
    run_agent(sh, stop=stop)
    typer.echo(f"sessiontape agent: stopped after {int(time.monotonic() - t0)} s")


def register(app: typer.Typer) -> None:
    """Add ``agent`` to the main CLI."""
    app.command("agent")(agent_cmd)
