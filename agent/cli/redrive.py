"""``sessiontape redrive``: re-execute a recorded session against another environment and
report every divergence, step by step."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from agent.cli.common import config, echo_json, home
from agent.cli.replay import _FROM_VAULT_HELP, _restore

if TYPE_CHECKING:
    from agent.redrive.result import RedriveReport


_IGNORE = typer.Option(
    [],
    "--ignore",
    help="Text that may differ (regex, or @times / @numbers; repeat): replaced in element "
    "and region text, its elements masked in screenshots.",
)
_PIXEL_THRESHOLD = typer.Option(
    0.005,
    "--pixel-threshold",
    min=0.0,
    max=1.0,
    help="Share of pixels newly differing from the recording above which a step's screen differs.",
)
_SCREENS = typer.Option(
    True, "--screens/--no-screens", help="Compare screenshots with the recording."
)


def redrive(
    session: str = typer.Argument(..., help="Session id (or unique prefix)."),
    base_url: str = typer.Option(
        ..., "--base-url", help="Where the session's own origin now lives (e.g. staging)."
    ),
    map_: list[str] = typer.Option(
        [], "--map", help="Move another recorded origin: ORIGIN=URL (repeat)."
    ),
    fill: Path | None = typer.Option(
        None,
        "--fill",
        help="TOML table of values for masked fields, keyed by recorded token, CSS selector "
        "or label. A masked field without one is a 'needs value' divergence.",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write report.json, junit.xml and report.html here."
    ),
    junit: Path | None = typer.Option(None, "--junit", help="Also write JUnit XML here."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON report."),
    timeout: float = typer.Option(
        10.0, "--timeout", min=0.5, help="Seconds to wait for each step's element and requests."
    ),
    from_vault: str | None = typer.Option(None, "--from-vault", help=_FROM_VAULT_HELP),
    ignore: list[str] = _IGNORE,
    pixel_threshold: float = _PIXEL_THRESHOLD,
    screens: bool = _SCREENS,
) -> None:
    """Re-drive a recorded session in headless Chromium and compare each step.

    Exit 0 when every step matches, 1 on any divergence, 2 on an error.

    Example: sessiontape redrive 20261126T101500Z-3f9a1c2b --base-url https://staging.example --fill qa.toml --ignore @numbers --out redrive/
    """  # noqa: E501
    from agent.capture.config import find_executable
    from agent.redrive.drive import Options
    from agent.redrive.drive import redrive as run
    from agent.redrive.plan import load_plan, read_fill
    from agent.redrive.report import write_junit, write_outputs

    opts = Options(base_url, list(map_), read_fill(fill), timeout_s=timeout, ignore=list(ignore))
    opts.pixel_threshold, opts.screens = pixel_threshold, screens
    _restore([session], from_vault)
    plan = load_plan(home(), session)
    if plan.integrity != "verified":
        typer.echo(
            f"session {plan.session_id}: {plan.integrity}; re-driving what verified", err=True
        )
    opts.executable = find_executable(config().capture.executable)
    rep = asyncio.run(run(plan, opts))
    if out is not None:
        write_outputs(rep, out)
    if junit is not None:
        write_junit(rep, junit)
    if as_json:
        echo_json(rep.as_dict())
    else:
        _echo_steps(rep)
    raise typer.Exit(rep.exit_code)


def _echo_steps(rep: RedriveReport) -> None:
    """One line per step, one more per divergence, and the verdict."""
    for s in rep.steps:
        how = f" [{s.strategy}]" if s.strategy else ""
        typer.echo(f"{s.index:3d} {s.status:<11} {s.text}{how}")
        for d in s.divergences:
            typer.echo(f"      - {d}")
    n = len(rep.divergent)
    typer.echo("every step matches" if not n else f"{n} of {len(rep.steps)} steps diverge")


def register(app: typer.Typer) -> None:
    """Add redrive."""
    app.command("redrive")(redrive)
