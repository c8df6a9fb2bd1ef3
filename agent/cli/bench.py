"""``sessiontape bench ...``: benchmarks (capture here; journal and search add theirs)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from agent.cli.common import config, echo_json

bench_app = typer.Typer(
    help="Measure what sessiontape costs.\n\nExample: sessiontape bench capture --json",
    no_args_is_help=True,
)


@bench_app.command("capture")
def capture(
    url: str | None = typer.Option(
        None,
        "--url",
        help="Measure this page instead of the demo blotter (busy time, CPU and bytes only).",
    ),
    runs: int = typer.Option(3, "--runs", min=1, max=50, help="Runs per size (median)."),
    cells: int = typer.Option(
        200, "--cells", min=1, max=1000, help="Blotter cells changed per update."
    ),
    seconds: float = typer.Option(4.0, "--seconds", min=1.0, help="Measured window per run."),
    large: int = typer.Option(
        1000, "--large", min=0, max=1000, help="Also measure at this many cells (0 = skip)."
    ),
    counter: str = typer.Option(
        "window.__updates",
        "--counter",
        help="With --url: JS expression counting the page's updates.",
    ),
    fixture: bool = typer.Option(
        False,
        "--fixture",
        help="Use the static fixture blotter "
        "(tests/fixtures/pages/blotter.html) instead of the demo app.",
    ),
    peer: bool = typer.Option(
        False,
        "--peer",
        help="Also measure the named peer, rrweb 2.2.2 "
        "alone, in the same runs (needs `npm ci` in recorder_js).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Page busy time per update with full capture vs none, changes captured, agent CPU,
    bytes per hour; at --cells and at 1000 cells.

    Example: sessiontape bench capture --runs 3 --peer --json
    """
    from agent.capture.bench import run_bench
    from agent.errors import CaptureError

    with tempfile.TemporaryDirectory(prefix="sessiontape-bench-") as tmp:
        try:
            result = run_bench(
                config().capture,
                Path(tmp),
                url=url,
                runs=runs,
                cells=cells,
                seconds=seconds,
                counter=counter,
                also_cells=large or None,
                fixture=fixture,
                peer=peer,
            )
        except CaptureError as exc:
            if peer and "npm ci" in str(exc):
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from exc
            raise
    if json_out:
        echo_json(result)
        return
    rows = [result] + [v for k, v in result.items() if k.startswith("at_")]
    typer.echo(f"page: {result['page']}  runs: {runs}  window: {seconds:g} s")
    typer.echo(
        f"{'cells':>6} {'busy ratio':>10} {'base ms':>8} {'rec ms':>8} "
        f"{'changes %':>9} {'agent CPU %':>11} {'MB/hour':>9}"
    )
    for r in rows:
        pct = "-" if r["changes_captured_pct"] is None else f"{r['changes_captured_pct']:.2f}"
        typer.echo(
            f"{r['cells']:>6} {r['busy_ratio']:>10} {r['baseline_ms_per_update']:>8} "
            f"{r['recorded_ms_per_update']:>8} {pct:>9} {r['agent_cpu_pct']:>11} "
            f"{r['bytes_per_hour'] / 1e6:>9.1f}"
        )
        p = r.get("peer")
        if p:
            ppct = "-" if p["changes_captured_pct"] is None else f"{p['changes_captured_pct']:.2f}"
            typer.echo(
                f"{'':>6} {p['busy_ratio']:>10} {r['baseline_ms_per_update']:>8} "
                f"{p['ms_per_update']:>8} {ppct:>9} {'-':>11} "
                f"{p['binding_bytes_per_hour'] / 1e6:>9.1f}  <- {p['name']}"
            )


def register(app: typer.Typer) -> None:
    """Add the ``bench`` sub-app (other stages add their commands to ``bench_app``)."""
    app.add_typer(bench_app, name="bench")


@bench_app.command("search")
def search(
    sessions: int = typer.Option(100_000, "--sessions", min=10, help="Synthetic sessions."),
    events_per_session: int = typer.Option(
        300, "--events-per-session", min=5, help="Indexed events per session (mean)."
    ),
    runs: int = typer.Option(20, "--runs", min=1, help="Runs per query type."),
    threads: str = typer.Option(
        "1,4", "--threads", help="Concurrent readers to measure (comma-separated)."
    ),
    demo_home: Path | None = typer.Option(
        None,
        "--demo-home",
        help="A home with a recorded demo session: measures the real per-agent rate.",
    ),
    db: Path | None = typer.Option(
        None, "--db", help="Keep the corpus index at this path (default: a temp dir, deleted)."
    ),
    fixture: bool = typer.Option(
        False,
        "--fixture",
        help="Use the static fixture blotter "
        "(tests/fixtures/pages/blotter.html) instead of the demo app.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Synthetic corpus: indexing throughput, p50/p95 query latency, index size per session.

    Example: sessiontape bench search --sessions 10000 --demo-home ~/.local/share/sessiontape
    """
    from agent.index.bench import iter_lines, run_bench

    counts = [int(t) for t in threads.split(",") if t.strip()]
    say = (lambda s: None) if json_out else (lambda s: typer.echo(s, err=True))
    with tempfile.TemporaryDirectory(prefix="sessiontape-bench-") as tmp:
        path = db or Path(tmp) / "bench-index.db"
        if path.exists():
            raise typer.BadParameter(f"{path} exists; give a new path")
        result = run_bench(
            path,
            sessions=sessions,
            events_per_session=events_per_session,
            runs=runs,
            threads=counts,
            demo_home=demo_home,
            progress=say,
        )
    if json_out:
        echo_json(result)
        return
    for line in iter_lines(result):
        typer.echo(line)


@bench_app.command("journal")
def bench_journal(
    events: int = typer.Option(200_000, "--events", min=1000, help="Events to write."),
    mix: str = typer.Option(
        "realistic",
        "--mix",
        help="realistic (size mix of a trading session) or small (input-sized events only).",
    ),
    batch: int = typer.Option(
        100, "--batch", min=1, help="Events per producer call (the capture emitter's batch)."
    ),
) -> None:
    """Full journal write path (canonicalize, compress, encrypt, hash, Merkle, checkpoint,
    commit) through the group-commit sink, then verify; prints one JSON object.

    Example: sessiontape bench journal --events 200000 --mix realistic
    """
    from agent.journal.bench import run

    if mix not in ("realistic", "small"):
        raise typer.BadParameter("--mix must be realistic or small")
    echo_json(run(events, mix=mix, batch=batch))
