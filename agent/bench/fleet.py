"""``sessiontape bench fleet``: simulated agents -> one S3 bucket -> ingestion worker -> index.

What is real: ``--agents`` workstation homes (:mod:`agent.bench.fleet_agents`), each with its
own signing key and KEK, write ``--sessions`` sessions between them through the ordinary
journal (chained, signed, sealed, encrypted, every data key also wrapped to the firm key) and
ship them with the ordinary shipper to one Object Lock bucket on a moto server on 127.0.0.1
(started here unless ``--endpoint`` names one), while an :class:`IngestWorker` of a firm home
follows the bucket and verifies, decrypts with the firm key and indexes every segment. Ingest
throughput, lag (indexed time minus the object's ``LastModified``) and index bytes per session
come from that run; search p95 is measured on the index it filled.

What is replicated: the 10k and 100k session figures come from the same index grown by
replicating the real sessions' extracted rows (:mod:`agent.bench.fleet_scale` says how);
each scale in the output says ``"filled": "replicated"``. Writers and the worker share this
process and its two cores, so ingest figures are a floor for a worker on its own machine.
"""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent.bench.fleet_agents import SimAgent, make_firm
from agent.bench.fleet_scale import Template, grow, measure, query_mix, templates
from agent.config import load_config
from agent.console.ingest import IngestWorker
from agent.console.ingest_report import IngestReport
from agent.console.ingest_state import percentile
from agent.errors import UsageError
from agent.index.base import SearchIndex
from agent.keys import Keyring

NS = 1_000_000_000


@contextmanager
def s3_endpoint(endpoint: str | None) -> Iterator[str]:
    """``endpoint``, or a moto server started on 127.0.0.1 for the run (dummy credentials
    exported the standard way when this process starts it)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    try:
        if endpoint:
            os.environ["AWS_ENDPOINT_URL_S3"] = endpoint
            yield endpoint
        else:
            with _moto() as url:
                yield url
    finally:
        for k in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[k]
        os.environ.update(saved)


@contextmanager
def _moto() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    host, port = srv.get_host_and_port()
    url = f"http://{host}:{port}"
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL_S3=url,
        AWS_EC2_METADATA_DISABLED="true",
    )  # fmt: skip
    try:
        yield url
    finally:
        srv.stop()


def open_backend(
    backend: str, dsn: str | None, firm: Path
) -> tuple[SearchIndex, Callable[[], SearchIndex]]:
    """The index the worker writes, and a factory of read connections for the readers."""
    from agent.index.cipher import index_key

    key = index_key(firm)
    if backend == "sqlite":
        from agent.index.sqlite import SqliteIndex

        path = firm / "index.db"
        return SqliteIndex(path, key=key), lambda: SqliteIndex(path, key=key, readonly=True)
    if not dsn:
        raise UsageError("--backend postgres needs --dsn (a PostgreSQL connection string)")
    from agent.index.pgindex import PostgresIndex

    def reader() -> SearchIndex:
        return PostgresIndex(dsn, key=key, readonly=True)

    return PostgresIndex(dsn, key=key, rekey=True), reader


def _make_bucket() -> str:
    import boto3

    name = f"fleet-{secrets.token_hex(4)}"
    boto3.client("s3").create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def _write(agents: list[SimAgent], sessions: int, seed: int, threads: int) -> dict[str, int]:
    """Write and ship ``sessions`` sessions round-robin over ``agents`` (one session in three
    has two segments), ``threads`` agents at a time; returns segments shipped."""
    shipped = [0] * len(agents)
    per = [sessions // len(agents) + (i < sessions % len(agents)) for i in range(len(agents))]

    def work(idx: list[int]) -> None:
        for i in idx:
            rng = random.Random(seed * 1000 + i)
            for n in range(per[i]):
                agents[i].record(rng, segments=2 if n % 3 == 2 else 1, actions=8)
                shipped[i] += agents[i].ship()

    ts = [
        threading.Thread(target=work, args=(list(range(t, len(agents), threads)),))
        for t in range(threads)
    ]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return {"segments": sum(shipped), "sessions": sum(per)}


def _ingest_figures(worker: IngestWorker, sessions: int, ix: SearchIndex) -> dict[str, Any]:
    con = worker.state.con
    lo, hi, n = con.execute(
        "SELECT MIN(last_modified_ns), MAX(done_ns), COUNT(*) FROM objects WHERE status = 'indexed'"
    ).fetchone()
    lags = worker.state.lags_ms()
    span = max(1e-9, (hi - lo) / NS) if n else 0.0
    size = ix.stats().size_bytes
    return {
        "segments_indexed": n,
        "anomalies": len(worker.state.anomalies()),
        "segments_per_s": round(n / span, 2) if n else 0.0,
        "sessions_per_s": round(sessions / span, 2) if n else 0.0,
        "lag_p50_ms": percentile(lags, 0.5),
        "lag_p95_ms": percentile(lags, 0.95),
        "lag_max_ms": max(lags, default=0),
        "index_bytes_per_session": size // max(1, sessions),
    }


def _wait_ingested(worker: IngestWorker, segments: int, timeout_s: float) -> None:
    """Until the worker has dealt with ``segments`` objects (or ``timeout_s`` passed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        counts = worker.state.counts()
        if counts.get("indexed", 0) + counts.get("anomaly", 0) >= segments:
            return
        time.sleep(0.2)


def _ingest_phase(
    firm: Path, sims: list[SimAgent], ix: SearchIndex, url: str, sessions: int, seed: int
) -> tuple[dict[str, int], dict[str, Any]]:
    """Write and ship while the worker ingests; (what was written, ingest figures)."""
    from agent.ship.urls import open_vault

    worker = IngestWorker(firm, load_config(env={}, home=firm), ix, open_vault(url))
    stop = threading.Event()
    passes: list[IngestReport] = []
    wt = threading.Thread(target=worker.run, args=(stop, 1.0), kwargs={"on_report": passes.append})
    wt.start()
    t0 = time.monotonic()
    try:
        wrote = _write(sims, sessions, seed, min(4, len(sims)))
        write_s = time.monotonic() - t0
        _wait_ingested(worker, wrote["segments"], max(120.0, write_s * 3))
    finally:
        stop.set()
        wt.join()
    try:
        ingest = _ingest_figures(worker, wrote["sessions"], ix)
    finally:
        worker.close()
    ingest["write_seconds"] = round(write_s, 1)
    busy = sum(p.seconds for p in passes)
    ingest["worker_busy_seconds"] = round(busy, 1)
    # capacity: segments per second of the worker's own pass time (arrival rate aside)
    ingest["segments_per_busy_s"] = round(ingest["segments_indexed"] / busy, 2) if busy else 0.0
    ingest["passes"] = len(passes)
    ingest["list_seconds_max"] = round(max((p.list_seconds for p in passes), default=0.0), 3)
    ingest["backlog_left"] = wrote["segments"] - ingest["segments_indexed"] - ingest["anomalies"]
    return wrote, ingest


def _search_phase(
    ix: SearchIndex,
    open_reader: Callable[[], SearchIndex],
    tpls: list[Template],
    scales: tuple[int, ...],
    runs: int,
    seed: int,
    say: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Search p95 at the real size, then at each larger scale grown by replication."""
    out: list[dict[str, Any]] = []
    have = len(ix.sessions())
    base = time.time_ns() - max((*scales, have)) * 225 * NS
    for scale in sorted({have, *(s for s in scales if s > have)}):
        grow_s = grow(ix, tpls, have, scale, base) if scale > have and tpls else 0.0
        have = max(have, scale)
        say(f"searching at {scale} sessions")
        mix = query_mix(random.Random(seed + scale), scale, base)
        out.append(
            row := {
                "sessions": scale,
                "filled": "real" if grow_s == 0.0 else "replicated",
                "fill_seconds": round(grow_s, 1),
                "index_bytes_per_session": ix.stats().size_bytes // max(1, scale),
                "by_readers": [measure(open_reader, mix, readers=r, runs=runs) for r in (1, 8)],
            }
        )
        say(json.dumps(row, sort_keys=True))
    return out


def run_bench(
    workdir: Path,
    *,
    agents: int,
    sessions: int,
    backend: str = "sqlite",
    dsn: str | None = None,
    scales: tuple[int, ...] = (10_000, 100_000),
    runs: int = 20,
    endpoint: str | None = None,
    seed: int = 5,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The whole benchmark; one JSON-able dict (the method is in the module docstring)."""
    say = progress or (lambda _m: None)
    firm = workdir / "firm"
    pem = make_firm(firm)
    ix, open_reader = open_backend(backend, dsn, firm)
    try:
        with s3_endpoint(endpoint):
            url = f"s3://{_make_bucket()}/fleet"
            sims = [SimAgent.create(workdir / "agents", i, firm, pem, url) for i in range(agents)]
            say(f"writing {sessions} sessions from {agents} agents to {url}")
            wrote, ingest = _ingest_phase(firm, sims, ix, url, sessions, seed)
        say(f"ingested {ingest['segments_indexed']} segments; lag p95 {ingest['lag_p95_ms']} ms")
        tpls = templates(firm / "console" / "segments", Keyring.load(firm), ix.sessions())
        search = _search_phase(ix, open_reader, tpls, scales, runs, seed, say)
    finally:
        ix.close()
    return {
        "agents": agents,
        "sessions": wrote["sessions"],
        "segments": wrote["segments"],
        "backend": backend,
        "ingest": ingest,
        "search": search,
    }


def iter_lines(result: dict[str, Any]) -> Iterator[str]:
    """The human-readable report."""
    ing = result["ingest"]
    yield (
        f"{result['agents']} agents, {result['sessions']} real sealed sessions "
        f"({result['segments']} segments) through moto S3, {result['backend']} index"
    )
    yield (
        f"ingest: {ing['segments_per_s']} segments/s, {ing['sessions_per_s']} sessions/s; "
        f"lag p50 {ing['lag_p50_ms']} ms, p95 {ing['lag_p95_ms']} ms (target < 60000 ms); "
        f"{ing['index_bytes_per_session']} index bytes/session; {ing['anomalies']} anomalies"
    )
    for s in result["search"]:
        for r in s["by_readers"]:
            yield (
                f"search at {s['sessions']} sessions ({s['filled']}), {r['readers']} reader(s): "
                f"p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms"
                + (" (target < 200 ms)" if r["readers"] == 8 else "")
            )
