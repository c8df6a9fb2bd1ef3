"""``sessiontape config show``: every effective config key, where it came from, and its lock."""

from __future__ import annotations

import json

import typer

from agent.cli.common import config, echo_json

config_app = typer.Typer(
    help="Inspect the effective configuration.\n\nExample: sessiontape config show --json",
    no_args_is_help=True,
)


@config_app.command("show")
def show(as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead.")) -> None:
    """Print every effective key with its value, its source (default, system:FILE, user:FILE,
    env:VAR or flag:--FLAG) and whether the system policy locks it.

    Load order, later wins except for locked keys: embedded defaults, the system file
    /etc/sessiontape/sessiontape.toml (root-owned; its [policy] locked keys keep their system
    value), the user file (--config, $SESSIONTAPE_CONFIG or <home>/sessiontape.toml),
    SESSIONTAPE_<SECTION>_<KEY> variables (lists and tables as JSON), then command flags.

    Example: sessiontape config show
    """
    from agent.config import effective_keys

    rows = effective_keys(config())
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        lock = ", locked" if row["locked"] else ""
        typer.echo(f"{row['key']} = {json.dumps(row['value'])}  # {row['source']}{lock}")


def register(app: typer.Typer) -> None:
    """Add ``config`` to the main CLI."""
    app.add_typer(config_app, name="config")
