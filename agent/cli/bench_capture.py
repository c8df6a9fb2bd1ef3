"""``sessiontape bench capture``: capture overhead on three workloads against two peers, in one
interleaved run (``agent.bench.capture``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from agent.cli.common import config, echo_json


def _names(value: str) -> list[str]:
    return [n.strip() for n in value.split(",") if n.strip()]


_WORKLOADS = typer.Option(
    "blotter,aggrid,form",
    "--workloads",
    help="Comma-separated: blotter, aggrid, form (and demo: the demo app's blotter).",
)
_PEERS = typer.Option(
    "rrweb,tracing",
    "--peers",
    help="Comma-separated peers measured in the same run: rrweb (2.2.2), tracing "
    "(Playwright tracing); empty for none.",
)
_LARGE = typer.Option(
    1000, "--large", min=0, max=1000, help="Also the blotter at this many cells (0 = skip)."
)
_URL = typer.Option(
    None, "--url", help="Measure this page instead of the workloads (busy time, CPU, bytes)."
)
_COUNTER = typer.Option(
    "window.__updates", "--counter", help="With --url: JS expression counting its updates."
)
_AGGRID_JS = typer.Option(
    None,
    "--aggrid-js",
    help="AG Grid's UMD bundle (default: recorder_js/node_modules/ag-grid-community).",
)


def bench_capture(
    workloads: str = _WORKLOADS,
    peers: str = _PEERS,
    runs: int = typer.Option(3, "--runs", min=1, max=50, help="Interleaved runs (median)."),
    cells: int = typer.Option(
        200, "--cells", min=1, max=1000, help="Blotter cells changed per update."
    ),
    seconds: float = typer.Option(4.0, "--seconds", min=0.5, help="Measured window per run."),
    warmup: float = typer.Option(1.0, "--warmup", min=0.0, help="Seconds before the window."),
    large: int = _LARGE,
    url: str | None = _URL,
    counter: str = _COUNTER,
    aggrid_js: Path | None = _AGGRID_JS,
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Page busy time per update under full capture, rrweb 2.2.2 and Playwright tracing vs
    none, on the plain blotter, an AG Grid blotter and an order-entry form, interleaved;
    stored bytes per hour, journal vs rrweb raw JSON, agent CPU.

    Example: sessiontape bench capture --runs 3 --json
    """
    from agent.bench.capture import iter_lines, run_bench
    from agent.errors import CaptureError

    with tempfile.TemporaryDirectory(prefix="sessiontape-bench-") as tmp:
        try:
            result = run_bench(
                config(),
                Path(tmp),
                workloads=_names(workloads),
                peers=_names(peers),
                runs=runs,
                cells=cells,
                seconds=seconds,
                warmup=warmup,
                large=large or None,
                url=url,
                counter=counter,
                aggrid=aggrid_js,
            )
        except CaptureError as exc:
            if "npm" in str(exc) or "--aggrid-js" in str(exc):
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from exc
            raise
    if json_out:
        echo_json(result)
        return
    for line in iter_lines(result):
        typer.echo(line)
