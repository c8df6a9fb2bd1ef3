"""``sessiontape console ingest`` and ``console ingest-status``: the console's ingestion
worker following the vault into the index (run in the firm home)."""

from __future__ import annotations

import json
import signal
import threading
from typing import TYPE_CHECKING, Any

import typer

from agent.cli.common import config, echo_json, setup_logging, writable_home

if TYPE_CHECKING:
    from agent.console.ingest_report import IngestReport


def _line(rep: IngestReport) -> str:
    d = rep.as_dict()
    text = (
        f"ingest: {d['indexed']} indexed, {len(d['anomalies'])} anomalies, {d['skipped']} "
        f"skipped, {d['deferred']} waiting for a receipt, backlog {d['backlog']} "
        f"(listed {d['listed']}); lag p50 {d['lag_p50_ms']} ms, p95 {d['lag_p95_ms']} ms"
    )
    return text + (f"; stopped: {d['error']}" if d["error"] else "")


def _print(rep: IngestReport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rep.as_dict(), sort_keys=True))
        return
    for a in rep.anomalies:
        typer.echo(a, err=True)
    typer.echo(_line(rep))


def ingest(
    vault: str | None = typer.Option(
        None, "--vault", help="Vault URL to follow (default: this home's ship.vault_url)."
    ),
    once: bool = typer.Option(False, "--once", help="One pass, then exit."),
    interval: float = typer.Option(
        10.0, "--interval", min=0.05, help="Seconds between passes (doubled after a failure)."
    ),
    batch: int = typer.Option(0, "--batch", min=0, help="At most this many objects per pass."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per pass."),
) -> None:
    """Follow the vault and index each new sealed segment, verified, exactly once.

    Runs as the firm home given by --home: segments are verified against its trusted keys and
    decrypted with its firm key. A segment that is not indexed (tampered, signed by an unknown
    key, not decryptable with the firm key, malformed) is one line on stderr, kept in
    <home>/console/ingest.db and written to the sealed access audit. An unavailable index or
    vault stops the pass; the next one resumes where it stopped. Exit (with --once): 0 clean,
    1 anomalies, 2 the pass stopped on an error.

    Example: sessiontape --home /srv/firm console ingest --vault s3://records/desk1 --interval 5
    """
    setup_logging()
    from agent.console.ingest import IngestWorker
    from agent.index.indexer import open_index
    from agent.ship.urls import open_vault

    h, cfg = writable_home(), config()
    url = vault or cfg.ship.resolved_vault_url(h)
    index = open_index(h, cfg)
    worker = IngestWorker(h, cfg, index, open_vault(url), batch=batch)
    try:
        if once:
            rep = worker.run_once()
            _print(rep, as_json)
            raise typer.Exit(2 if rep.error else (1 if rep.anomalies else 0))
        _run_forever(worker, interval, as_json)
    finally:
        worker.close()
        index.close()


def _run_forever(worker: Any, interval: float, as_json: bool) -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker.run(stop, interval, on_report=lambda rep: _print(rep, as_json))


def ingest_status() -> None:
    """Ingestion lag p50/p95 (last hour), backlog, counts and the last error, as JSON.

    Example: sessiontape --home /srv/firm console ingest-status
    """
    import time

    from agent.console.ingest_state import IngestState

    state = IngestState(writable_home())
    try:
        echo_json(state.status(time.time_ns()))
    finally:
        state.close()
