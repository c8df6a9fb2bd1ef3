"""``sessiontape bench ...``: every benchmark, one sub-command each (code in ``agent.bench``)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer

from agent.cli.common import config, echo_json

bench_app = typer.Typer(
    help="Measure what sessiontape costs.\n\nExample: sessiontape bench capture --json",
    no_args_is_help=True,
)

_STATIC_PAGE_HELP = (
    "Use the static blotter page shipped with the benchmarks "
    "(agent/bench/pages/blotter.html) instead of the demo app."
)


def register(app: typer.Typer) -> None:
    """Add the ``bench`` sub-app."""
    from agent.cli.bench_capture import bench_capture
    from agent.cli.bench_live import bench_live

    bench_app.command("capture")(bench_capture)
    bench_app.command("live")(bench_live)
    app.add_typer(bench_app, name="bench")


@bench_app.command("busy")
def busy(
    runs: int = typer.Option(6, "--runs", min=1, help="Interleaved runs per arm (median)."),
    seconds: float = typer.Option(4.0, "--seconds", help="Measured window per run."),
    cells: list[int] = typer.Option(
        [200, 1000], "--cells", help="Blotter cells changed per update (repeat for more sizes)."
    ),
    no_peer: bool = typer.Option(False, "--no-peer", help="Skip the rrweb 2.2.2 arm."),
) -> None:
    """Static blotter busy time per update: no recorder vs ours alone in the page vs the
    named peer (rrweb 2.2.2), interleaved; completeness on a bounded run; prints JSON.

    Example: sessiontape bench busy --runs 3 --seconds 4 --cells 200 --cells 1000
    """
    from agent.bench.busy import run_busy_bench
    from agent.errors import CaptureError

    try:
        result = run_busy_bench(runs=runs, seconds=seconds, cells=cells, peer=not no_peer)
    except CaptureError as exc:
        if not no_peer and "npm ci" in str(exc):
            typer.echo(f"bench busy: {exc}", err=True)
            raise typer.Exit(1) from exc
        raise
    typer.echo(json.dumps(result, indent=2))


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
    fixture: bool = typer.Option(False, "--fixture", help=_STATIC_PAGE_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Synthetic corpus: indexing throughput, p50/p95 query latency, index size per session.

    Example: sessiontape bench search --sessions 10000 --demo-home ~/.local/share/sessiontape
    """
    from agent.bench.index import iter_lines, run_bench

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
    from agent.bench.journal import run

    if mix not in ("realistic", "small"):
        raise typer.BadParameter("--mix must be realistic or small")
    echo_json(run(events, mix=mix, batch=batch))


@bench_app.command("mask")
def bench_mask(
    seconds: int = typer.Option(
        10, "--seconds", min=1, help="Simulated seconds of the synthetic mix."
    ),
    live: bool = typer.Option(
        True,
        "--live/--no-live",
        help="Also record the demo blotter in Chromium and time masking inside it.",
    ),
    cells: int = typer.Option(
        200, "--cells", min=1, max=1000, help="Blotter cells per update (live)."
    ),
    live_seconds: float = typer.Option(
        5.0, "--live-seconds", min=1.0, help="Measured window (live)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Masking cost per event (synthetic mix) and its share of agent CPU (synthetic against
    capture decode + journal; live inside a real capture of the demo blotter).

    Example: sessiontape bench mask --json
    """
    from agent.bench.mask import iter_lines, run_bench

    result = run_bench(config(), seconds=seconds, live=live, cells=cells, live_seconds=live_seconds)
    if json_out:
        typer.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    for line in iter_lines(result):
        typer.echo(line)


@bench_app.command("replay")
def bench_replay(
    hours: float = typer.Option(8.0, "--hours", help="Length of the synthetic session."),
    rate: int = typer.Option(5, "--rate", help="Mutations per second."),
    seeks: int = typer.Option(20, "--seeks", help="Random seek targets to time."),
    browser_seeks: int = typer.Option(
        20,
        "--browser-seeks",
        min=0,
        help="Random seeks to time in the viewer in headless Chromium (0: server side only).",
    ),
    demo: bool = typer.Option(
        False, "--demo", help="Also record the demo session and time browser seeks in it."
    ),
) -> None:
    """Seek latency in a long synthetic session written through the real journal: the
    server side, then the viewer in headless Chromium from the seek command until the page is
    rebuilt and painted; prints one JSON object.

    Example: sessiontape bench replay --hours 8 --browser-seeks 20 --demo
    """
    from agent.bench.replay import run, run_demo

    result = run(hours, rate, seeks, browser_seeks)
    if demo:
        result.update(run_demo(browser_seeks or 20))
    typer.echo(json.dumps(result, indent=1))


@bench_app.command("crash")
def bench_crash(
    points: int = typer.Option(100, "--points", min=1, help="Kills to run, one recording each."),
    seed: int = typer.Option(1, "--seed", help="Seed of the first point (then seed+1, ...)."),
    window: float = typer.Option(
        5.0,
        "--window",
        min=0.0,
        help="Kill at a uniform random delay in [0, WINDOW] s after the first acknowledged "
        "capture.",
    ),
    flush_ms: int | None = typer.Option(
        None, "--flush-ms", min=10, help="Record with this capture.flush_ms (default: config)."
    ),
    chunk_max_ms: int | None = typer.Option(
        None, "--chunk-max-ms", min=1, help="Record with this journal.chunk_max_ms."
    ),
    keep: Path | None = typer.Option(
        None, "--keep", help="Keep every killed session in this new directory."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """kill -9 a real recording (agent and Chromium) at random points; recover, verify, check
    that every acknowledged event is there and the crash is a gap; loss window p50..max.

    Exit 1 when any point fails a check (each failure is printed with its seed).

    Example: sessiontape bench crash --points 100 --seed 1
    """
    from agent.bench.crash import iter_lines, progress_line, run_bench

    config_env = {}
    if flush_ms is not None:
        config_env["SESSIONTAPE_CAPTURE_FLUSH_MS"] = str(flush_ms)
    if chunk_max_ms is not None:
        config_env["SESSIONTAPE_JOURNAL_CHUNK_MAX_MS"] = str(chunk_max_ms)
    if keep is not None and keep.exists():
        raise typer.BadParameter(f"{keep} exists; give a new path")
    with tempfile.TemporaryDirectory(prefix="sessiontape-bench-crash-") as tmp:
        workdir = keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        result = run_bench(
            points,
            seed=seed,
            window_s=window,
            workdir=workdir,
            config_env=config_env,
            progress=lambda p: typer.echo(progress_line(p), err=True),
        )
    if json_out:
        echo_json(result)
    else:
        for line in iter_lines(result):
            typer.echo(line)
    if result["passed"] != result["points"]:
        raise typer.Exit(1)


@bench_app.command("soak")
def bench_soak(
    minutes: float = typer.Option(30.0, "--minutes", min=0.5, help="How long the agent records."),
    cells: int = typer.Option(200, "--cells", min=1, help="Blotter cells changed per update."),
    sample: float = typer.Option(10.0, "--sample-seconds", min=1.0, help="Seconds per sample."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object (with samples)."),
    keep: Path | None = typer.Option(
        None, "--keep", help="Keep the agent's home and log in this new directory."
    ),
) -> None:
    """Run the real workstation agent (headless, its own home and file vault) on the static
    blotter for MINUTES; sample agent and browser RSS, agent CPU, journal bytes, ship backlog
    and checkpoint age in the vault; report RSS slopes, CPU share and the targets.

    Exit 1 when a target is not met or the agent did not exit 0 (its log's tail is shown).

    Example: sessiontape bench soak --minutes 30 --cells 200
    """
    from agent.bench.soak import iter_lines, run_bench

    if keep is not None and keep.exists():
        raise typer.BadParameter(f"{keep} exists; give a new path")
    result = run_bench(minutes, cells, sample, keep)
    if json_out:
        typer.echo(json.dumps(result, indent=1))
    else:
        for line in iter_lines(result):
            typer.echo(line)
    if result["agent_exit"] != 0 or not all(t["met"] for t in result["targets"].values()):
        raise typer.Exit(1)


@bench_app.command("fleet")
def bench_fleet(
    agents: int = typer.Option(50, "--agents", min=1, max=500, help="Simulated workstations."),
    sessions: int = typer.Option(
        200, "--sessions", min=1, help="Real sealed sessions written and ingested, in all."
    ),
    backend: str = typer.Option("sqlite", "--backend", help="Index backend: sqlite | postgres."),
    dsn: str | None = typer.Option(None, "--dsn", help="PostgreSQL DSN (--backend postgres)."),
    scales: str = typer.Option(
        "10000,100000",
        "--scales",
        help="Session counts to measure search at (the index is grown by replicating the "
        "real sessions' rows); comma-separated, empty for the real sessions only.",
    ),
    runs: int = typer.Option(20, "--runs", min=1, help="Queries per type and reader."),
    endpoint: str | None = typer.Option(
        None, "--endpoint", help="Use this S3 endpoint instead of starting a moto server."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Simulated agents write real sealed sessions to one S3 bucket (moto) while the console's
    ingestion worker indexes them: ingest throughput, lag p50/p95, index bytes per session,
    search p95 with 1 and 8 readers at each scale.

    Example: sessiontape bench fleet --agents 50 --sessions 500 --json
    """
    from agent.bench.fleet import iter_lines, run_bench
    from agent.errors import UsageError

    if backend not in ("sqlite", "postgres"):
        raise UsageError(f"--backend {backend!r}: expected sqlite or postgres")
    try:
        wanted = tuple(int(s) for s in scales.split(",") if s.strip())
    except ValueError:
        raise UsageError(f"--scales {scales!r}: expected comma-separated integers") from None
    with tempfile.TemporaryDirectory(prefix="sessiontape-bench-fleet-") as tmp:
        result = run_bench(
            Path(tmp), agents=agents, sessions=sessions, backend=backend, dsn=dsn,
            scales=wanted, runs=runs, endpoint=endpoint,
            progress=lambda m: typer.echo(m, err=True),
        )  # fmt: skip
    if json_out:
        echo_json(result)
    else:
        for line in iter_lines(result):
            typer.echo(line)
