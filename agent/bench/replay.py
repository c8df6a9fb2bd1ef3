"""``sessiontape bench replay``: seek latency on a long synthetic session.

Writes a session through the real journal (FakeClock, so 8 hours take minutes, not hours):
one page whose DOM is a 50 x 20 table, a Meta + FullSnapshot keyframe every 60 s (what the
recorder does) and ``--rate`` text mutations per second in between. Then opens it for replay
(verify + index) and measures the server side of a seek at random targets: the keyframe
lookup, decoding the chunks from that keyframe to the target and JSON-encoding the events the
browser needs, plus the raw record with its Merkle inclusion proof; with ``browser_seeks``,
also the whole seek in the real viewer in headless Chromium (:mod:`agent.bench.replay_browser`).
``run_demo`` times browser seeks in the recorded demo session. Prints JSON.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.bench.replay_browser import measure_browser
from agent.config import load_config
from agent.events import Event
from agent.journal.journal import Journal
from agent.keys import Keyring
from agent.replay.session import ReplaySession, stream_id
from agent.rrweb import EventType, IncrementalSource, NodeType
from agent.testing import FakeClock

PAGE = "BENCHPAGE0000000000000000000000A"


def _el(nid: int, tag: str, children: list[Any], **attributes: str) -> dict[str, Any]:
    return {
        "type": NodeType.ELEMENT,
        "tagName": tag,
        "attributes": attributes,
        "id": nid,
        "childNodes": children,
    }


def _snapshot(ts: int, values: list[str]) -> dict[str, Any]:
    """A full snapshot of a page holding one 50 x 20 table of ``values``."""
    cells = [
        _el(1000 + i, "td", [{"type": NodeType.TEXT, "textContent": v, "id": 5000 + i}])
        for i, v in enumerate(values)
    ]
    rows = [_el(10 + r, "tr", cells[r * 20 : (r + 1) * 20]) for r in range(50)]
    table = _el(5, "table", [_el(6, "tbody", rows)], id="blotter")
    html = _el(2, "html", [_el(3, "head", []), _el(4, "body", [table])])
    doctype = {
        "type": NodeType.DOCUMENT_TYPE,
        "name": "html",
        "publicId": "",
        "systemId": "",
        "id": 9,
    }
    return {
        "type": EventType.FULL_SNAPSHOT,
        "timestamp": ts,
        "data": {
            "node": {"type": NodeType.DOCUMENT, "id": 1, "childNodes": [doctype, html]},
            "initialOffset": {"left": 0, "top": 0},
        },
    }


def _mutation(ts: int, text_id: int, value: str) -> dict[str, Any]:
    return {
        "type": EventType.INCREMENTAL_SNAPSHOT,
        "timestamp": ts,
        "data": {
            "source": IncrementalSource.MUTATION,
            "texts": [{"id": text_id, "value": value}],
            "attributes": [],
            "removes": [],
            "adds": [],
        },
    }


def _meta(ts: int) -> dict[str, Any]:
    return {
        "type": EventType.META,
        "timestamp": ts,
        "data": {"href": "http://127.0.0.1/app", "width": 1280, "height": 800},
    }


def write_session(home: Path, hours: float, rate: int) -> tuple[str, int]:
    """Write the synthetic session; return (session id, events)."""
    cfg = load_config(env={}, home=home)
    clock = FakeClock()
    j = Journal.open(home, cfg, clock=clock, keyring=Keyring.load_or_init(home))
    rnd = random.Random(7)
    values = [f"{rnd.uniform(10, 500):.2f}" for _ in range(1000)]
    n = 0
    step_ns = 1_000_000_000 // rate
    total_steps = int(hours * 3600 * rate)
    batch: list[Event] = []

    def ev(kind: str, payload: dict[str, Any]) -> Event:
        return Event(kind, payload, clock.utc_ns(), clock.mono_ns(), PAGE, PAGE)

    for step in range(total_steps):
        ts = clock.utc_ns() // 1_000_000
        if step % (60 * rate) == 0:
            batch.append(ev("rrweb.meta", _meta(ts)))
            batch.append(ev("rrweb.full_snapshot", _snapshot(ts, values)))
        i = rnd.randrange(1000)
        values[i] = f"{rnd.uniform(10, 500):.2f}"
        batch.append(ev("rrweb.mutation", _mutation(ts, 5000 + i, values[i])))
        if len(batch) >= 50:
            j.append_many(batch)
            n += len(batch)
            batch = []
            j.tick()
        clock.advance(step_ns)
    if batch:
        j.append_many(batch)
        n += len(batch)
    sid = j.session_id
    j.close()
    return sid, n


def measure(home: Path, sid: str, seeks: int) -> dict[str, Any]:
    """Open for replay and time random seeks (server side)."""
    t0 = time.perf_counter()
    rs = ReplaySession.open(home, sid)
    open_s = time.perf_counter() - t0
    first, last = rs.seq_range
    assert first is not None and last is not None
    st = stream_id(PAGE, PAGE)
    kfs = rs.keyframes[st]
    rnd = random.Random(3)
    lat, sizes, counts = [], [], []
    for _ in range(seeks):
        rs._cache.clear()  # cold: every seek decodes its chunks from the file
        target = rnd.randrange(first, last + 1)
        t = time.perf_counter()
        kf = max((k for k in kfs if k["seq"] <= target), key=lambda k: k["seq"])
        evs, _ = rs.events(
            kf["seq"], max(target, kf["full_seq"]), stream=st, rrweb_only=True, limit=1 << 30
        )
        body = json.dumps({"events": evs})
        rs.raw(target)
        lat.append(time.perf_counter() - t)
        sizes.append(len(body))
        counts.append(len(evs))
    rs.close()
    lat.sort()
    return {
        "open_s": round(open_s, 2),
        "chunks": len(rs.chunks),
        "keyframes": len(kfs),
        "seek_p50_s": round(statistics.median(lat), 3),
        "seek_max_s": round(lat[-1], 3),
        "events_per_seek_max": max(counts),
        "bytes_per_seek_max": max(sizes),
    }


def run(
    hours: float = 8.0, rate: int = 5, seeks: int = 20, browser_seeks: int = 0
) -> dict[str, Any]:
    """Write the session in a temporary home, time the seeks (server side, then in the
    browser when ``browser_seeks``), return the figures."""
    from agent.logs import configure_quiet

    configure_quiet()
    with tempfile.TemporaryDirectory() as d:
        home = Path(d) / "home"
        t = time.perf_counter()
        sid, n = write_session(home, hours, rate)
        write_s = time.perf_counter() - t
        res = measure(home, sid, seeks)
        if browser_seeks:
            res["browser"] = measure_browser(home, sid, browser_seeks)
    return {"hours": hours, "rate": rate, "events": n, "write_s": round(write_s, 1), **res}


def run_demo(browser_seeks: int) -> dict[str, Any]:
    """Record the demo trader's session (headless) in a temporary home and time seeks to
    random moments of it in the browser."""
    import asyncio

    from agent.logs import configure_quiet
    from agent.pipeline import record_demo

    configure_quiet()
    with tempfile.TemporaryDirectory() as d:
        home = Path(d) / "home"
        cfg = load_config(env={}, home=home)
        res = asyncio.run(record_demo(cfg, home, headless=True, fast=True))
        return {"demo": measure_browser(home, res.session_id, browser_seeks)}
