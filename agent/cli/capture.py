"""``sessiontape record URL``: record a browser session into a sealed journal."""

from __future__ import annotations

import asyncio

import typer

from agent.cli.common import config, home, setup_logging
from agent.errors import UsageError


def record(
    url: str = typer.Argument(..., help="The page to open and record."),
    headless: bool = typer.Option(
        False,
        "--headless",
        help="No visible window (default: headless only when there is no display).",
    ),
    user: str | None = typer.Option(
        None,
        "--user",
        help="User id recorded with the session (default: agent.identity or the OS user).",
    ),
    duration: float | None = typer.Option(
        None,
        "--duration",
        min=0.1,
        help="Stop after S seconds (default: until the browser is closed or Ctrl-C).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Record URL until the browser closes, Ctrl-C, or --duration; then seal and verify.

    Example: sessiontape record https://trading.example.com --duration 600
    """
    if not url.startswith(("http://", "https://", "file://")):
        raise UsageError(f"URL must start with http://, https:// or file://: {url!r}")
    setup_logging()
    from agent.cli.demo import print_result
    from agent.pipeline import record_session

    typer.echo(
        f"recording {url} (close the browser, press Ctrl-C"
        + (f" or wait {duration:g} s" if duration else "")
        + " to stop)..."
    )
    result = asyncio.run(
        record_session(
            url, config(), home(), headless=headless or None, user=user, duration=duration
        )
    )
    print_result(result, as_json=as_json)
    if not result.report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``record`` to the main CLI."""
    app.command("record")(record)
