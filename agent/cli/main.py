"""Entry point: global options, error-to-exit-code mapping, and command registration.

Each stage contributes commands from ``agent/cli/<stage>.py`` through a ``register(app)``
function. Errors from the one tree in :mod:`agent.errors` become one clear line on stderr
and the exit code from :func:`agent.errors.exit_code_for` - never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import typer

from agent.errors import SessiontapeError, exit_code_for

app = typer.Typer(
    name="sessiontape",
    help="Compliance-grade browser session recorder.\n\nExample: sessiontape demo",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


from agent.cli.state import STATE  # noqa: E402 - shared with `python -m` runs


@app.callback()
def _global(
    home: Path | None = typer.Option(
        None,
        "--home",
        help="State directory (keys, journals, "
        "index). Default: $SESSIONTAPE_HOME or the user data dir.",
    ),
    config: Path | None = typer.Option(None, "--config", help="Config TOML file."),
) -> None:
    """Compliance-grade browser session recorder.

    Example: sessiontape --home /tmp/st demo
    """
    STATE.home_opt = home
    STATE.config_opt = config
    from agent.keys import configure

    configure(STATE.config.seal.keys, STATE.config.seal.firm_keys)  # validated before any command


_STAGE_CLIS = (
    "keys",
    "journal",
    "demo",
    "capture",
    "mask",
    "ship",
    "workstation",
    "kiosk",
    "index",
    "replay",
    "bench",
    "audit",
    "install",
    "config",
    "console",
    "health",
    "redrive",
)


_registered = False


def _register_all() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    for name in _STAGE_CLIS:
        mod_name = f"agent.cli.{name}"
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name == mod_name:
                continue
            raise
        mod.register(app)


def fail(message: str, code: int = 2) -> None:
    """Print one line to stderr and exit with ``code``."""
    typer.echo(f"sessiontape: error: {message}", err=True)
    raise typer.Exit(code)


PRIVATE_UMASK = 0o077
"""Every file the agent writes (journals, index, spool, logs, keys) is 0600, every directory
0700: nothing of the agent's is readable by the recorded user's account."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    from agent.logs import configure_quiet

    os.umask(PRIVATE_UMASK)
    configure_quiet()  # until a command chooses the log file: nothing on stdout
    _register_all()
    try:
        rc = app(args=argv, standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except SessiontapeError as exc:
        typer.echo(f"sessiontape: error: {exc.message}", err=True)
        sys.exit(exit_code_for(exc))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("sessiontape: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("sessiontape: interrupted", err=True)
        sys.exit(130)
    except OSError as exc:  # the filesystem refused (read-only, permissions, not a directory)
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"sessiontape: error: {where}{exc.strerror or exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # click usage errors and the like
        show = getattr(exc, "show", None)
        if callable(show) and hasattr(exc, "exit_code"):  # typer's (vendored) click errors
            show()
            sys.exit(2)
        typer.echo(f"sessiontape: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(3)
    sys.exit(0)


if __name__ == "__main__":
    main()
