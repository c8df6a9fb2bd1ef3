"""``bench fleet`` at 10k and 100k sessions: filling the index by replication, and search p95.

Generating and ingesting 100k real sealed sessions through moto does not fit on a 2-core
machine, so the index is grown to each scale by **replication**: the rows the extractor
produced from the real sealed sessions (re-extracted from the worker's cache with the firm
key) are written again through the backend's ordinary :meth:`SearchIndex.add_segment`, one
session per transaction, each copy with a new session id, a user out of 500, its times
shifted (one session every 225 s: 100k sessions span about 260 days) and its order ids
renumbered, so term frequencies, row counts and row sizes are those of the real sessions.
Search latency is then measured on that index with 1 and with 8 concurrent readers, each
reader with its own connection, for a mix of queries drawn fresh on every run.
"""

from __future__ import annotations

import dataclasses
import random
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.bench.fleet_agents import HOST, SYMBOLS, WORDS
from agent.clock import utc_iso
from agent.index.base import SearchIndex, SegmentRecord, SessionMeta
from agent.index.extract import Extractor, Facts, Row
from agent.index.query import parse
from agent.journal.reader import iter_records
from agent.keys import Keyring

NS = 1_000_000_000
STEP_NS = 225 * NS
USERS = 500
_ORDER = re.compile(r"ORD-\d{8}")


@dataclasses.dataclass
class Template:
    """One real session's rows and facts, the model for its replicas."""

    session_id: str
    start_ns: int
    rows: list[Row]
    facts: Facts


def templates(cache: Path, keyring: Keyring, sessions: list[SessionMeta]) -> list[Template]:
    """The extracted rows of each real indexed session, from the worker's segment cache."""
    out = []
    for meta in sessions:
        ex = Extractor()
        rows: list[Row] = []
        for seg in sorted((cache / meta.session_id).glob("*.stj")):
            for rec in iter_records(seg, keyring):
                rows.extend(ex.feed(rec))
        rows.extend(ex.flush())
        if rows:
            out.append(Template(meta.session_id, meta.start_ns, rows, ex.facts))
    return out


def _copy(t: Template, k: int, base_ns: int) -> tuple[SessionMeta, SegmentRecord, list[Row]]:
    start = base_ns + k * STEP_NS
    shift = start - t.start_ns
    sid = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(start // NS)) + f"-r{k:07x}"
    rows = [
        dataclasses.replace(
            r, t_ns=r.t_ns + shift, text=_ORDER.sub(lambda m: f"ORD-9{k:07d}", r.text)
        )
        for r in t.rows
    ]
    user = f"trader{k % USERS:03d}"
    meta = SessionMeta(
        session_id=sid, user=user, workstation=f"ws-{k % USERS:03d}", start_ns=start,
        end_ns=rows[-1].t_ns, shipped=True, verified="verified", source="vault",
    )  # fmt: skip
    seg = SegmentRecord(
        segment_id=f"replica{k:07x}", session_id=sid, index=0, seal_hash=f"replica:{k}",
        events=len(rows), t_first_ns=rows[0].t_ns, t_last_ns=rows[-1].t_ns, source="vault",
    )  # fmt: skip
    return meta, seg, rows


def grow(ix: SearchIndex, tpls: list[Template], have: int, want: int, base_ns: int) -> float:
    """Add replicas ``have .. want-1`` to ``ix``; returns the seconds it took."""
    t0 = time.perf_counter()
    for k in range(have, want):
        meta, seg, rows = _copy(tpls[k % len(tpls)], k, base_ns)
        ix.add_segment(seg, rows, tpls[k % len(tpls)].facts)
        ix.upsert_session(meta)
    opt = getattr(ix, "optimize", None)
    if callable(opt):
        opt()
    return time.perf_counter() - t0


def query_mix(rng: random.Random, sessions: int, base_ns: int) -> dict[str, Callable[[], str]]:
    """Typical officer queries, fresh parameters on each call."""

    def at() -> int:
        return base_ns + rng.randrange(max(1, sessions)) * STEP_NS

    def iso(ns: int) -> str:
        return utc_iso(ns)[:16] + "Z"

    return {
        "full_text": lambda: f"{rng.choice(SYMBOLS)} {rng.choice(WORDS)}",
        "order_id": lambda: f"ORD-9{rng.randrange(max(1, sessions)):07d}",
        "substring_url": lambda: f"url:{rng.choice(SYMBOLS).lower()} kind:navigate",
        "facet_user_kind": lambda: f"user:trader{rng.randrange(USERS):03d} kind:submit",
        "time_range": lambda: (
            lambda t: f"host:{HOST} kind:response from:{iso(t)} to:{iso(t + 3600 * NS)}"
        )(at()),
    }


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))] if xs else 0.0


def measure(
    open_reader: Callable[[], SearchIndex],
    mix: dict[str, Callable[[], str]],
    *,
    readers: int,
    runs: int,
) -> dict[str, Any]:
    """p50/p95 (ms) over the whole mix and per query type, ``readers`` threads at once."""
    qs = [(name, make()) for _ in range(runs * readers) for name, make in mix.items()]
    lat: dict[str, list[float]] = {name: [] for name in mix}
    lock = threading.Lock()

    def reader(chunk: list[tuple[str, str]]) -> None:
        ix = open_reader()
        try:
            ix.search(parse(chunk[0][1]), 50)  # warm the connection
            for name, q in chunk:
                t0 = time.perf_counter()
                ix.search(parse(q), 50)
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    lat[name].append(ms)
        finally:
            ix.close()

    ts = [threading.Thread(target=reader, args=(qs[i::readers],)) for i in range(readers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    every = [x for v in lat.values() for x in v]
    return {
        "readers": readers,
        "queries": len(every),
        "p50_ms": round(_pct(every, 0.5), 1),
        "p95_ms": round(_pct(every, 0.95), 1),
        "by_query_p95_ms": {k: round(_pct(v, 0.95), 1) for k, v in lat.items()},
    }
