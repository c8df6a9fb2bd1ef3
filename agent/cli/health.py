"""``sessiontape status``: is the agent recording, shipping, keeping up? (asks its socket)."""

from __future__ import annotations

from typing import Any

import typer

from agent.cli.common import echo_json


def _ago(age: Any) -> str:
    return f"{age:.1f} s ago" if isinstance(age, int | float) else "age unknown"


def _bytes(n: Any) -> str:
    if not isinstance(n, int):
        return "unknown"
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def summary(s: dict[str, Any]) -> list[str]:
    """The status document as a few lines for a person."""
    rec = (
        f"yes, session {s['session_id']} since {s['recording_since']}, {s['tabs']} tab(s)"
        if s["recording"]
        else "no"
    )
    cp = s["last_checkpoint"]
    bl = s["ship_backlog"]
    job = s["ship_job"]
    err = s["last_error"]
    durable = s["last_durable_event"]
    lines = [
        f"agent: running (pid {s['pid']}, version {s['version']}, started {s['started']})",
        f"recording: {rec}",
        "last durable event: "
        + (f"{durable} ({_ago(s['last_durable_event_age_s'])})" if durable else "none"),
        "last checkpoint in the vault: "
        + (f"{cp['at']} ({_ago(cp['age_s'])}), {cp['key']}" if cp else "none"),
        f"ship backlog: {bl['segments']} segment(s), {_bytes(bl['bytes'])}"
        + (f", {bl['failing']} failing" if bl["failing"] else ""),
        f"ship job: {job['state']} (last run {job['last_end'] or 'never'}, "
        f"next {job['next_run'] or 'none'})"
        + (f"; last error: {job['last_error']}" if job["last_error"] else ""),
        f"disk free: {_bytes(s['disk_free_bytes'])}",
        "last error: " + (f"{err['at']} {err['message']}" if err else "none"),
    ]
    return lines


def register(app: typer.Typer) -> None:
    """Add ``status`` to the main CLI."""

    @app.command("status")
    def status(
        as_json: bool = typer.Option(False, "--json", help="Print the status document (JSON)."),
    ) -> None:
        """Ask the running agent of this home (its socket <home>/run/agent.sock) what it is
        doing: recording or not, the last durable event, the last checkpoint in the vault,
        the ship backlog and ship job, disk free, the last error. When no agent answers, the
        last status file it wrote says when it was last seen, and the exit code is 1.

        Example: sessiontape status --json
        """
        from agent.cli.state import STATE
        from agent.health.client import query_status, read_status_file
        from agent.health.server import STATUS_FILE, run_dir

        home = STATE.home
        live = query_status(home)
        if live is not None:
            if as_json:
                echo_json(live)
            else:
                typer.echo("\n".join(summary(live)))
            return
        last = read_status_file(home)
        if last is None:
            typer.echo(
                f"agent not running (no status file {run_dir(home) / STATUS_FILE})", err=True
            )
        else:
            if as_json:
                echo_json({**last, "agent_running": False})
            typer.echo(f"agent not running (last status at {last['at']})", err=True)
        raise typer.Exit(1)
