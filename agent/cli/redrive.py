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
    from agent.redrive.drive import Options
    from agent.redrive.plan import Plan
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
_STUB = typer.Option(
    False,
    "--stub-network",
    help="Answer the front end's API requests from the recorded responses (no backend, no "
    "side effects); the pages and static files still come from --base-url.",
)
_SPEED = typer.Option(
    "asap", "--speed", help="asap, or recorded: keep the recorded gaps between steps."
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
    stub_network: bool = _STUB,
    speed: str = _SPEED,
    ignore: list[str] = _IGNORE,
    pixel_threshold: float = _PIXEL_THRESHOLD,
    screens: bool = _SCREENS,
) -> None:
    """Re-drive a recorded session in headless Chromium and compare each step.

    Exit 0 when every step matches, 1 on any divergence, 2 on an error. The re-drive is
    itself kept as a sealed session linked to the original (redrive_of); the report names it.

    Example: sessiontape redrive 20261126T101500Z-3f9a1c2b --base-url https://staging.example --fill qa.toml --ignore @numbers --out redrive/
    """  # noqa: E501
    from agent.capture.config import find_executable
    from agent.redrive.drive import Options
    from agent.redrive.pace import check_speed
    from agent.redrive.plan import read_fill
    from agent.redrive.report import write_junit, write_outputs

    opts = Options(base_url, list(map_), read_fill(fill), timeout_s=timeout, ignore=list(ignore))
    opts.speed, opts.stub_network = check_speed(speed), stub_network
    opts.pixel_threshold, opts.screens = pixel_threshold, screens
    plan = _load(session, from_vault, "re-driving")
    opts.executable = find_executable(config().capture.executable)
    rep = _run_recorded(plan, opts)
    if out is not None:
        write_outputs(rep, out)
    if junit is not None:
        write_junit(rep, junit)
    if as_json:
        echo_json(rep.as_dict())
    else:
        _print(rep)
    raise typer.Exit(rep.exit_code)


def _load(session: str, from_vault: str | None, doing: str) -> Plan:
    """The session's plan (restored from the vault first when asked); a warning when it did
    not fully verify."""
    from agent.redrive.plan import load_plan

    _restore([session], from_vault)
    plan = load_plan(home(), session)
    if plan.integrity != "verified":
        typer.echo(f"session {plan.session_id}: {plan.integrity}; {doing} what verified", err=True)
    return plan


def _run_recorded(plan: Plan, opts: Options) -> RedriveReport:
    """Re-drive, keeping the re-drive as a sealed session of its own (sealed even when the
    re-drive fails half-way; a bad --base-url or --map is refused before it is opened)."""
    from agent.redrive.evidence import Evidence
    from agent.redrive.plan import Rewriter
    from agent.redrive.run import redrive as run

    Rewriter(plan.origin, opts.base_url, opts.maps)
    evidence = Evidence(home(), config())
    try:
        rep = asyncio.run(run(plan, opts, evidence=evidence))
    finally:
        sealed = evidence.close()
    if not sealed.report.ok:
        typer.echo(f"re-drive session {sealed.session_id}: did not verify", err=True)
    return rep


def _print(rep: RedriveReport) -> None:
    """The step list, the verdict and the re-drive's own session."""
    for s in rep.steps:
        how = f" [{s.strategy}]" if s.strategy else ""
        typer.echo(f"{s.index:3d} {s.status:<11} {s.text}{how}")
        for d in s.divergences:
            typer.echo(f"      - {d}")
        for u in s.unmatched:
            typer.echo(f"      - unmatched (aborted): {u}")
    n = len(rep.divergent)
    typer.echo("every step matches" if not n else f"{n} of {len(rep.steps)} steps diverge")
    typer.echo(f"re-drive recorded as session {rep.redrive_session}")


def export_test(
    session: str = typer.Argument(..., help="Session id (or unique prefix)."),
    out: Path = typer.Option(..., "--out", help="The test file to write (e.g. test_flow.py)."),
    base_url: str = typer.Option(
        "", "--base-url", help="Default target origin in the file (SESSIONTAPE_BASE_URL wins)."
    ),
    from_vault: str | None = typer.Option(None, "--from-vault", help=_FROM_VAULT_HELP),
) -> None:
    """Write a recorded session as a readable Playwright test for pytest.

    Role, label and text locators; expect() on the texts that appeared after each step and on
    response statuses; masked values read from SESSIONTAPE_FILL_<FIELD> environment variables.

    Example: sessiontape export-test 20261126T101500Z-3f9a1c2b --out test_flow.py
    """
    from agent.redrive.export_test import export_test as render

    plan = _load(session, from_vault, "exporting")
    out.write_text(render(plan, base_url), "utf-8")
    typer.echo(f"wrote {out} ({len(plan.steps)} steps)")


def register(app: typer.Typer) -> None:
    """Add redrive and export-test."""
    app.command("redrive")(redrive)
    app.command("export-test")(export_test)
