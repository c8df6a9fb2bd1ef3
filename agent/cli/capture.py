"""``sessiontape record URL``: record a browser session into a sealed journal."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import typer

from agent.cli.common import config, echo_json, home, setup_logging
from agent.errors import UsageError


def record(
    url: str = typer.Argument(..., help="The page to open and record."),
    headless: bool = typer.Option(False, "--headless",
                                  help="No visible window (default: headless only when "
                                       "there is no display)."),
    user: str | None = typer.Option(None, "--user", help="User id recorded with the session "
                                    "(default: agent.identity or the OS user)."),
    duration: float | None = typer.Option(None, "--duration", min=0.1,
                                          help="Stop after S seconds (default: until the "
                                               "browser is closed or Ctrl-C)."),
) -> None:
    """Record URL until the browser closes, Ctrl-C, or --duration; then seal and verify.

    Example: sessiontape record https://trading.example.com --duration 600
    """
    if not url.startswith(("http://", "https://", "file://")):
        raise UsageError(f"URL must start with http://, https:// or file://: {url!r}")
    setup_logging()
    try:
        from agent.pipeline import record_session
    except ImportError as exc:
        raise UsageError("this build has no journal pipeline (agent.pipeline); "
                         "nothing would be sealed, so nothing is recorded") from exc
    result: Any = record_session(url, config(), home(), headless or None, user, duration)
    if inspect.isawaitable(result):
        result = asyncio.run(result)  # type: ignore[arg-type]
    if isinstance(result, dict):
        echo_json(result)


def register(app: typer.Typer) -> None:
    """Add ``record`` to the main CLI."""
    app.command("record")(record)
