"""``sessiontape bench search``: synthetic corpus, indexing throughput, query latency, size.

The corpus (:class:`agent.bench.corpus.Corpus`) is rows as the extractor would produce them,
with skewed (Zipf) distributions. It is written through the same
:meth:`SqliteIndex.add_segment` path as real journals (one transaction per session).

Required indexing rate: a real demo recording is indexed through the full pipeline
(verify + decrypt + extract + insert) to get rows per agent-second; 50 agents need 50 times
that. Query latency is measured per query type with fresh parameters on every run.
"""

from __future__ import annotations

import os
import platform
import random
import secrets
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agent.bench.corpus import NS, Corpus
from agent.index.base import SegmentRecord
from agent.index.extract import Facts
from agent.index.query import parse
from agent.index.sqlite import SqliteIndex


def build(
    ix: SqliteIndex, corpus: Corpus, progress: Callable[[int, int], None] | None = None
) -> dict[str, float]:
    """Write the corpus; returns rows, insert seconds (generation excluded), rows/s."""
    from agent.index.base import SessionMeta

    rows_total = 0
    insert_s = cpu_s = 0.0
    for i in range(corpus.sessions):
        sid, user, rows = corpus.session(i)
        t0, c0 = time.perf_counter(), time.process_time()
        ix.add_segment(
            SegmentRecord(
                segment_id=f"seg{i}",
                session_id=sid,
                index=0,
                seal_hash=f"h{i}",
                events=len(rows) * 16,
                t_first_ns=rows[0].t_ns,
                t_last_ns=rows[-1].t_ns,
            ),
            rows,
            Facts(urls=[rows[0].url], hosts=[rows[0].host]),
        )
        ix.upsert_session(
            SessionMeta(
                session_id=sid,
                user=user,
                workstation=f"ws-{user}",
                start_ns=rows[0].t_ns,
                end_ns=rows[-1].t_ns,
                verified="verified",
                held=(i % 97 == 0),
                urls=[rows[0].url],
                hosts=[rows[0].host],
            )
        )
        insert_s += time.perf_counter() - t0
        cpu_s += time.process_time() - c0
        rows_total += len(rows)
        if progress and (i + 1) % 2000 == 0:
            progress(i + 1, rows_total)
    t0 = time.perf_counter()
    ix.optimize()
    return {
        "rows": rows_total,
        "insert_seconds": round(insert_s, 2),
        "insert_cpu_seconds": round(cpu_s, 2),
        "optimize_seconds": round(time.perf_counter() - t0, 2),
        "rows_per_second": round(rows_total / insert_s) if insert_s else 0,
        "rows_per_cpu_second": round(rows_total / cpu_s) if cpu_s else 0,
    }


def _day(ns: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ns // NS, tz=dt.UTC).strftime("%Y-%m-%d")


def _iso(ns: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ns // NS, tz=dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def query_makers(corpus: Corpus, rng: random.Random) -> dict[str, Callable[[], str]]:
    """Typical queries; each call draws fresh parameters from the corpus (account tokens too:
    the index holds them only blinded)."""
    meta = corpus.meta
    toks = list(dict.fromkeys(corpus.acct_pool))[:5000]
    orders = max(1, corpus.order_seq)

    def user_day() -> str:
        sid, user, start, _ = rng.choice(meta)
        return f"user:{user} from:{_day(start)}T00:00Z to:{_day(start)}T23:59Z"

    def token() -> str:
        return f"account:{rng.choice(toks)}"

    def order_id() -> str:
        return f"ORD-{rng.randrange(1, orders + 1):08d}"

    def host_kind_range() -> str:
        sid, user, start, _ = rng.choice(meta)
        host = corpus.hosts[min(len(corpus.hosts) - 1, int(rng.paretovariate(1.0)))]
        return f"host:{host} kind:click from:{_iso(start)} to:{_iso(start + 3600 * NS)}"

    def user_text() -> str:
        sid, user, start, _ = rng.choice(meta)
        return f"user:{user} {corpus.words[rng.randrange(200, 2000)]}"

    def broad_word() -> str:
        return corpus.words[rng.randrange(0, 10)]

    def broad_two_words() -> str:
        return f"{corpus.words[rng.randrange(0, 30)]} {corpus.words[rng.randrange(0, 30)]}"

    def broad_kind_day() -> str:
        sid, user, start, _ = rng.choice(meta)
        return f"kind:console from:{_day(start)} to:{_day(start)}"

    return {
        "selective: user + day": user_day,
        "selective: account token": token,
        "selective: order id": order_id,
        "selective: host + kind + 1 h": host_kind_range,
        "selective: user + word": user_text,
        "broad: common word": broad_word,
        "broad: two common words": broad_two_words,
        "broad: kind + day": broad_kind_day,
    }


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def _run_threads(
    path: Path, key: bytes, qs: list[Any], limit: int, threads: int
) -> tuple[list[float], list[int]]:
    lat: list[float] = []
    hits: list[int] = []
    lock = threading.Lock()

    def worker(chunk: list[Any]) -> None:
        ix = SqliteIndex(path, key=key, readonly=True)
        try:
            ix.search(chunk[0], limit)  # warm the connection
            for q in chunk:
                t0 = time.perf_counter()
                n = len(ix.search(q, limit))
                dt_ms = (time.perf_counter() - t0) * 1000
                with lock:
                    lat.append(dt_ms)
                    hits.append(n)
        finally:
            ix.close()

    ts = [threading.Thread(target=worker, args=(qs[i::threads],)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return lat, hits


def measure_queries(
    path: Path,
    key: bytes,
    corpus: Corpus,
    *,
    runs: int,
    limit: int,
    seed: int = 11,
    threads: int = 1,
) -> dict[str, dict[str, float]]:
    """p50/p95 (ms) per query type with ``threads`` concurrent readers (own connections)."""
    out: dict[str, dict[str, float]] = {}
    makers = query_makers(corpus, random.Random(seed))
    for name, make in makers.items():
        qs = [parse(make()) for _ in range(runs * threads)]
        lat, hits = _run_threads(path, key, qs, limit, threads)
        out[name] = {
            "p50_ms": round(_pct(lat, 0.5), 1),
            "p95_ms": round(_pct(lat, 0.95), 1),
            "max_ms": round(max(lat), 1),
            "mean_hits": round(statistics.mean(hits), 1),
            "runs": len(lat),
        }
    return out


def demo_rate(home: Path) -> dict[str, float]:
    """Full-pipeline indexing of a recorded home: rows and events per agent-second."""
    import tempfile

    from agent.config import load_config
    from agent.index.indexer import index_dir
    from agent.journal.store import list_sessions
    from agent.keys import Keyring

    cfg = load_config(env={}, home=home)
    sessions = [s for s in list_sessions(home) if not s.session_id.startswith("audit-")]
    agent_s = sum((s.end_utc_ns - s.start_utc_ns) / NS for s in sessions)
    with tempfile.TemporaryDirectory() as tmp:
        ix = SqliteIndex(Path(tmp) / "demo.db", key=secrets.token_bytes(32))
        t0, c0 = time.perf_counter(), time.process_time()
        rep = index_dir(
            ix, home, Keyring.load(home), Keyring.load(home).trust(), limits=cfg.index.limits()
        )
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
        ix.close()
    return {
        "sessions": len(sessions),
        "agent_seconds": round(agent_s, 1),
        "events": rep.events_read,
        "rows": rep.rows,
        "index_seconds": round(took, 2),
        "events_per_agent_second": round(rep.events_read / agent_s, 1) if agent_s else 0,
        "rows_per_agent_second": round(rep.rows / agent_s, 2) if agent_s else 0,
        "index_cpu_seconds": round(cpu, 2),
        "pipeline_events_per_second": round(rep.events_read / took) if took else 0,
        "pipeline_events_per_cpu_second": round(rep.events_read / cpu) if cpu else 0,
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import sqlite3

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    except OSError:
        mem = 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem_mb": mem,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_avg": os.getloadavg()[0],
    }


def run_bench(
    path: Path,
    *,
    sessions: int,
    events_per_session: int,
    runs: int = 20,
    limit: int = 50,
    threads: list[int] | None = None,
    demo_home: Path | None = None,
    seed: int = 7,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build the corpus in ``path`` (must not exist), measure, return the figures."""
    say = progress or (lambda s: None)
    result: dict[str, Any] = {
        "machine": machine(),
        "sessions": sessions,
        "events_per_session": events_per_session,
    }
    if demo_home is not None:
        say("indexing the demo recording through the full pipeline")
        d = demo_rate(demo_home)
        d["required_rows_per_second_50_agents"] = round(50 * d["rows_per_agent_second"], 1)
        d["required_events_per_second_50_agents"] = round(50 * d["events_per_agent_second"])
        result["demo"] = d
    corpus = Corpus(sessions, events_per_session, seed=seed)
    key = secrets.token_bytes(32)  # the corpus is synthetic: a throwaway index key
    ix = SqliteIndex(path, key=key)
    say(f"building {sessions} sessions x ~{events_per_session} rows")
    result["indexing"] = build(ix, corpus, lambda i, n: say(f"  {i} sessions, {n} rows"))
    ix.close()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    result["size_bytes"] = size
    result["bytes_per_session"] = size // max(1, sessions)
    result["bytes_per_row"] = size // max(1, result["indexing"]["rows"])
    result["latency"] = {}
    for t in threads or [1]:
        say(f"queries with {t} concurrent reader(s)")
        result["latency"][str(t)] = measure_queries(
            path, key, corpus, runs=runs, limit=limit, threads=t
        )
    sel = [
        v["p95_ms"]
        for k, v in result["latency"][str((threads or [1])[0])].items()
        if k.startswith("selective")
    ]
    result["selective_p95_max_ms"] = max(sel) if sel else None
    result["target_met"] = bool(sel) and max(sel) < 200
    if "demo" in result:
        result["keeps_up_with_50_agents"] = (
            result["indexing"]["rows_per_second"]
            >= result["demo"]["required_rows_per_second_50_agents"]
        )
    return result


def iter_lines(result: dict[str, Any]) -> Iterator[str]:
    """The human-readable report."""
    m = result["machine"]
    yield (
        f"machine: {m['cpu']}, {m['cores']} cores, {m['mem_mb']} MB RAM, Python "
        f"{m['python']}, SQLite {m['sqlite']}, load {m['load_avg']:.1f}"
    )
    ixr = result["indexing"]
    yield (
        f"corpus: {result['sessions']} sessions, {ixr['rows']} indexed events; insert "
        f"{ixr['insert_seconds']} s ({ixr['rows_per_second']} rows/s wall, "
        f"{ixr['rows_per_cpu_second']} rows/CPU-s), optimize {ixr['optimize_seconds']} s"
    )
    yield (
        f"size: {result['size_bytes'] / 1e6:.1f} MB ({result['bytes_per_session']} B per "
        f"session, {result['bytes_per_row']} B per row)"
    )
    if "demo" in result:
        d = result["demo"]
        yield (
            f"demo: {d['events']} events -> {d['rows']} rows in {d['agent_seconds']} agent-s"
            f" = {d['rows_per_agent_second']} rows/agent-s; full pipeline "
            f"{d['pipeline_events_per_second']} events/s wall, "
            f"{d['pipeline_events_per_cpu_second']} events/CPU-s; 50 agents need "
            f"{d['required_rows_per_second_50_agents']} rows/s "
            f"({d['required_events_per_second_50_agents']} journal events/s)"
        )
    for t, lat in result["latency"].items():
        yield f"latency with {t} reader(s):"
        for name, v in lat.items():
            yield (
                f"  {name:<30} p50 {v['p50_ms']:>8.1f} ms  p95 {v['p95_ms']:>8.1f} ms  "
                f"max {v['max_ms']:>8.1f} ms  hits {v['mean_hits']}"
            )
    yield (
        f"selective p95 (worst type): {result['selective_p95_max_ms']} ms; target < 200 ms "
        f"{'met' if result['target_met'] else 'NOT met'}"
    )
