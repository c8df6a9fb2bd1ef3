"""``sessiontape record URL``: record a browser session into a sealed journal."""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import TYPE_CHECKING

import typer

from agent.cli.common import config, flag_override, home, setup_logging, writable_home
from agent.errors import UsageError

if TYPE_CHECKING:
    from agent.pipeline import RecordingResult


def record(
    url: str = typer.Argument(..., help="The page to open and record."),
    headless: bool = typer.Option(
        False,
        "--headless",
        help="No visible window (default: a visible one, which needs a usable display).",
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
    record_class: str | None = typer.Option(
        None,
        "--class",
        help="Retention class of the session (one of ship.retention_classes); "
        "default: chosen by ship.class_rules from what is recorded.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Record URL until the browser closes, Ctrl-C, or --duration; then seal and verify.

    The browser is visible unless --headless (or capture.headless = "true"); without a usable
    display that is an error (exit 2), never a silent switch to headless.

    Example: sessiontape record https://trading.example.com --duration 600
    """
    record_class = apply_record_flags(headless, record_class)
    check_url(url, config().capture.allowed_schemes)
    headless = config().capture.headless == "true"
    if not headless:
        from agent.workstation.display import require_display

        require_display("sessiontape record")
    writable_home()
    setup_logging()
    from agent.cli.demo import print_result
    from agent.pipeline import record_session

    typer.echo(f"recording {url} ({stop_hint(headless, duration)} to stop)...")
    result = asyncio.run(
        record_session(
            url,
            config(),
            home(),
            headless=headless,
            user=user,
            duration=duration,
            record_class=record_class,
        )
    )
    print_result(result, as_json=as_json)
    _exit_unless_loaded(result, url)


def stop_hint(headless: bool, duration: float | None) -> str:
    """How a ``record`` run can be stopped: closing the browser only when it is visible."""
    ways = ([] if headless else ["close the browser"]) + ["press Ctrl-C"]
    if duration:
        ways.append(f"wait {duration:g} s")
    return ways[0] if len(ways) == 1 else f"{', '.join(ways[:-1])} or {ways[-1]}"


def _exit_unless_loaded(result: RecordingResult, url: str) -> None:
    """Exit 1 when the session does not verify or nothing was loaded from ``url``."""
    if not result.report.ok:
        raise typer.Exit(1)
    cap = result.extra.get("capture", {})
    if not cap.get("loaded"):
        errors = cap.get("load_errors") or ["no page loaded"]
        typer.echo(
            f"sessiontape: error: nothing was loaded from {url}: {errors[0]} "
            f"(session {result.session_id} is sealed and verifies)",
            err=True,
        )
        raise typer.Exit(1)


def apply_record_flags(headless: bool, record_class: str | None) -> str | None:
    """``--headless`` and ``--class`` of ``record`` and ``demo`` as the config keys they stand
    for (``capture.headless``, ``ship.retention_class_default``), under the policy's locks;
    returns the explicit retention class now in force, if any."""
    if headless:
        flag_override("capture.headless", "true", "--headless")
    if record_class is not None:
        flag_override("ship.retention_class_default", check_class(record_class), "--class")
    return config().ship.retention_class_default or None


def check_class(name: str) -> str:
    """``name`` if it is one of ``ship.retention_classes``; else a usage error listing them."""
    try:
        return config().ship.check_class(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def check_url(url: str, allowed_schemes: list[str]) -> None:
    """Refuse, before any browser starts, a URL that cannot be parsed, has a scheme not in
    ``capture.allowed_schemes``, or an http(s) URL without a host."""
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # a port that is not a number in 0-65535 raises here
    except ValueError as exc:
        raise UsageError(f"not a valid URL: {url!r} ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in {s.lower() for s in allowed_schemes}:
        raise UsageError(
            f"URL scheme {scheme or '(none)'!r} is not recordable: {url!r} "
            f"(capture.allowed_schemes: {', '.join(allowed_schemes)})"
        )
    if scheme in ("http", "https") and not parts.hostname:
        raise UsageError(f"not a valid URL: {url!r} (no host)")


def register(app: typer.Typer) -> None:
    """Add ``record`` to the main CLI."""
    app.command("record")(record)
