"""``sessiontape bench live``: the live supervision latency benchmark (``agent.bench.live``)."""

from __future__ import annotations

import typer

from agent.cli.common import echo_json


def bench_live(
    changes: int = typer.Option(50, "--changes", min=3, help="Marker changes to time per mode."),
    mode: str = typer.Option(
        "both", "--mode", help="default, low-latency, or both (one after the other)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Live supervision latency: a DOM change in a recorded Chromium until its render in the
    live viewer in a second Chromium, p50/p95/max per mode (targets: p95 <= 2 s default,
    <= 500 ms low-latency).

    Example: sessiontape bench live --changes 50 --json
    """
    from agent.bench.live import MODES, run

    modes = list(MODES) if mode == "both" else [mode]
    if any(m not in MODES for m in modes):
        raise typer.BadParameter("--mode must be default, low-latency or both")
    results = run(changes, modes)
    if as_json:
        echo_json({"live": results})
        return
    for r in results:
        typer.echo(
            f"{r['mode']}: p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, max {r['max_ms']} ms "
            f"over {r['changes']} changes (target p95 <= {r['target_p95_ms']} ms: "
            f"{'met' if r['met'] else 'NOT met'})"
        )
