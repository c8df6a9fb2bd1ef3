"""``sessiontape bench journal``: the full write path and verify, measured.

Events of a realistic size mix (mostly small input/mouse/heartbeat events, some mutation and
network events of a few KB, a few snapshots/bodies of tens of KB) are generated first, then
written through ``Journal.append_many`` in chunk-sized batches (canonicalize, compress,
encrypt, hash, Merkle, checkpoint, commit with ``synchronous=FULL``). Reported as JSON:
events/s, MB/s of event records, CPU seconds, p99 append-to-durable latency per chunk commit,
and verify MB/s over the resulting files (without and with decryption).
"""

from __future__ import annotations

import asyncio
import random
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.canonical import record_bytes
from agent.clock import SystemClock
from agent.config import load_config
from agent.events import Event, to_record
from agent.journal.journal import Journal
from agent.journal.sink import JournalSink
from agent.keys import Keyring
from agent.rrweb import EventType, IncrementalSource
from agent.seal.verify import verify_paths

_MIX = [  # (weight, kind, payload size bytes)
    (45, "rrweb.mouse_move", 120),
    (15, "rrweb.input", 160),
    (10, "input.key", 140),
    (15, "rrweb.mutation", 900),
    (8, "net.request", 1500),
    (5, "net.response", 4000),
    (1.5, "rrweb.full_snapshot", 40_000),
    (0.5, "net.response", 60_000),
]


_WORDS = [
    "AAPL",
    "MSFT",
    "NVDA",
    "TSLA",
    "AMZN",
    "GOOG",
    "META",
    "JPM",
    "BAC",
    "buy",
    "sell",
    "limit",
    "market",
    "order",
    "filled",
    "partial",
    "cancel",
    "qty",
    "price",
    "bid",
    "ask",
    "last",
    "chg",
    "vol",
    "vwap",
    "account",
    "client",
    "desk",
    "trader",
    "position",
    "blotter",
    "confirm",
    "submit",
    "ticket",
    "route",
    "venue",
    "NYSE",
    "NASDAQ",
    "ARCA",
    "IEX",
    "div",
    "span",
    "td",
    "tr",
    "class",
    "style",
    "color",
    "width",
    "height",
    "px",
    "rgb",
]


def _text(rng: random.Random, size: int) -> str:
    out: list[str] = []
    n = 0
    while n < size:
        w = rng.choice(_WORDS) if rng.random() < 0.7 else f"{rng.randrange(10, 99999) / 100:.2f}"
        out.append(w)
        n += len(w) + 1
    return " ".join(out)


def _payload(rng: random.Random, size: int) -> dict[str, Any]:
    """An rrweb-shaped payload of about ``size`` bytes of DOM-like text and numbers."""
    texts = []
    left = size
    while left > 0:
        chunk = min(left, rng.randrange(8, 200))
        texts.append({"id": rng.randrange(1, 50_000), "value": _text(rng, chunk)})
        left -= chunk + 20
    return {
        "type": EventType.INCREMENTAL_SNAPSHOT,
        "data": {
            "source": IncrementalSource.MUTATION,
            "texts": texts,
            "attributes": [],
            "removes": [],
            "adds": [],
        },
        "timestamp": 1_767_225_600_000 + rng.randrange(1_000_000),
    }


def make_events(n: int, seed: int = 7, mix: str = "realistic") -> list[Event]:
    """Pre-generated events (generation is not timed). ``mix``: realistic | small."""
    rng = random.Random(seed)
    table = _MIX if mix == "realistic" else [(1, "rrweb.mouse_move", 100), (1, "input.key", 140)]
    weights = [w for w, _, _ in table]
    clock = SystemClock()
    out = []
    for _ in range(n):
        _, kind, size = rng.choices(table, weights)[0]
        out.append(
            Event(kind, _payload(rng, size), clock.utc_ns(), clock.mono_ns(), page="P1", frame="F1")
        )
    return out


async def _produce(sink: JournalSink, events: list[Event], batch: int, window: int) -> list[float]:
    """Submit batches like capture does (up to ``window`` in flight); per-batch latency."""
    lat: list[float] = []
    sem = asyncio.Semaphore(window)

    async def one(part: list[Event]) -> None:
        s = time.perf_counter()
        try:
            await sink.append_many(part)
        finally:
            sem.release()
        lat.append(time.perf_counter() - s)

    tasks = []
    for i in range(0, len(events), batch):
        await sem.acquire()
        tasks.append(asyncio.ensure_future(one(events[i : i + batch])))
    await asyncio.gather(*tasks)
    return lat


def run(
    n: int = 200_000,
    *,
    mix: str = "realistic",
    batch: int = 100,
    window: int = 200,
    home: Path | None = None,
) -> dict[str, Any]:
    """Write ``n`` events through the group-commit sink, then verify; return the figures."""
    tmp = Path(tempfile.mkdtemp(prefix="st-bench-")) if home is None else home
    cfg = load_config(env={})
    events = make_events(n, mix=mix)
    record_mb = sum(len(record_bytes(to_record(e, 0))) for e in events) / 1e6
    kr = Keyring.load_or_init(tmp)
    j = Journal.open(tmp, cfg, keyring=kr)
    sink = JournalSink(j)
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    lat = asyncio.run(_produce(sink, events, batch, window))
    sink.close()
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    lat.sort()
    files = sorted((tmp / "journals").rglob("*.stj"))
    file_mb = sum(f.stat().st_size for f in files) / 1e6
    trust = kr.trust()
    t1 = time.perf_counter()
    rep = verify_paths(files, trust)
    v_wall = time.perf_counter() - t1
    t2 = time.perf_counter()
    rep2 = verify_paths(files, trust, keyring=kr, decrypt=True)
    vd_wall = time.perf_counter() - t2
    if home is None:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "mix": mix,
        "events": n,
        "producer_batch_events": batch,
        "record_mb": round(record_mb, 1),
        "stored_mb": round(file_mb, 1),
        "seconds": round(wall, 3),
        "events_per_s": round(n / wall),
        "mb_per_s": round(record_mb / wall, 1),
        "cpu_seconds": round(cpu, 2),
        "cpu_pct_of_one_core": round(100 * cpu / wall, 1),
        "p50_append_to_durable_ms": round(1000 * lat[len(lat) // 2], 1),
        "p99_append_to_durable_ms": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1),
        "commits": sink.commits,
        "verify_ok": rep.ok and rep2.ok,
        "verify_stored_mb_per_s": round(file_mb / v_wall, 1),
        "verify_record_mb_per_s": round(record_mb / v_wall, 1),
        "verify_decrypt_record_mb_per_s": round(record_mb / vd_wall, 1),
        "segments": len(files),
    }
