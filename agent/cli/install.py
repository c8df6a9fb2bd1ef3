"""``sessiontape install`` and ``uninstall``: start the agent with the machine or the session.

Thin: the OS specifics live in :mod:`agent.platform`; this module parses options and prints
what happened.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import typer

from agent.errors import UsageError
from agent.platform import current
from agent.platform.base import InstallOptions, Outcome, Scope


def _scope(user: bool, system: bool) -> Scope:
    if user == system:
        raise UsageError("give exactly one of --user or --system")
    return Scope.USER if user else Scope.SYSTEM


def _default_exec() -> Path:
    """The ``sessiontape`` script beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "sessiontape"
    if beside.exists():
        return beside
    found = shutil.which("sessiontape")
    if found is None:
        raise UsageError("cannot find the sessiontape executable: pass --exec PATH")
    return Path(found)


def _exec_path(given: Path | None) -> Path:
    path = (given or _default_exec()).absolute()
    if not path.is_file() or not path.stat().st_mode & 0o111:
        raise UsageError(f"{path}: not an executable file (--exec)")
    return path


def _show(outcome: Outcome) -> None:
    for line in outcome.done:
        typer.echo(line)
    if outcome.next_steps:
        typer.echo("next:")
        for step in outcome.next_steps:
            typer.echo(f"  {step}")


_USER = typer.Option(False, "--user", help="The desktop user's session (systemd user unit).")
_SYSTEM = typer.Option(False, "--system", help="A system unit run as the sessiontape account.")
_ROOT = typer.Option(Path("/"), "--root", hidden=True, help="Stage system files under DIR.")


def install_cmd(
    user: bool = _USER,
    system: bool = _SYSTEM,
    exec_path: Path | None = typer.Option(
        None, "--exec", help="The sessiontape executable the service runs (absolute path)."
    ),
    home: Path | None = typer.Option(
        None,
        "--home",
        help="State directory the service runs with. Default: /var/lib/sessiontape for "
        "--system, the agent's default for --user.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the files; write nothing."),
    force: bool = typer.Option(False, "--force", help="Replace files with other content."),
    enable: bool = typer.Option(
        False, "--enable", help="Also run systemctl daemon-reload and enable --now."
    ),
    create_account: bool = typer.Option(
        False, "--create-account", help="--system: create the sessiontape account if missing."
    ),
    root: Path = _ROOT,
) -> None:
    """Install the agent as a service: a systemd unit, and for --user an XDG autostart entry
    for desktops without systemd user sessions. Nothing is enabled without --enable.

    Example: sudo sessiontape install --system --exec /opt/sessiontape/.venv/bin/sessiontape
    """
    options = InstallOptions(
        scope=_scope(user, system),
        exec_path=_exec_path(exec_path),
        home=home.absolute() if home is not None else None,
        root=root,
        force=force,
        enable=enable,
        dry_run=dry_run,
        create_account=create_account,
    )
    _show(current().install(options))


def uninstall_cmd(user: bool = _USER, system: bool = _SYSTEM, root: Path = _ROOT) -> None:
    """Stop and disable the service and remove the files install wrote; the state directory
    and its records stay.

    Example: sessiontape uninstall --user
    """
    _show(current().uninstall(_scope(user, system), root))


def register(app: typer.Typer) -> None:
    """Add ``install`` and ``uninstall`` to the main app."""
    app.command("install")(install_cmd)
    app.command("uninstall")(uninstall_cmd)
