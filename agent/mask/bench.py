"""``sessiontape bench mask``: masking cost per event on a realistic mix, against capture's.

The mix is what the demo blotter produces (CHROMIUM.md: a 50x20 grid, 200 cells changing
every 50 ms): rrweb mutation events of 200 short price texts, plus per second mouse moves, a
heartbeat, input events and keystrokes into tokenized fields, an XHR request/response pair
with JSON bodies, a WebSocket frame and a console line. Prices change on every update, so
the per-string caches mostly miss - the unfavourable case.

The capture-side reference is the agent's own per-event work in capture: decoding the
recorder's binding message (``agent.capture.recorder_messages.parse_message``) and building
the events. Journal work (canonical JSON, compression, encryption) is left out of the
denominator, so the reported share overstates masking's part of total agent CPU.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from agent.events import Event
from agent.mask.masker import Masker
from agent.mask.rules import load_rules_file

_PAGE = "page-1"


@dataclass
class MaskBench:
    """Results of one benchmark run."""

    events: int
    seconds_simulated: int
    mask_us_per_event: float
    capture_us_per_event: float
    mask_share_of_capture_pct: float
    journal_us_per_event: float | None
    mask_share_of_agent_pct: float | None
    mutation_event_us: float
    full_snapshot_ms: float
    snapshot_nodes: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


def _snapshot(rows: int, cols: int) -> dict[str, Any]:
    nid = 10
    trs = []
    for r in range(rows):
        tds = []
        for c in range(cols):
            tds.append(
                {
                    "type": 2,
                    "id": nid,
                    "tagName": "td",
                    "attributes": {"class": "px"},
                    "childNodes": [
                        {"type": 3, "id": nid + 1, "textContent": f"{100 + r + c / 100:.2f}"}
                    ],
                }
            )
            nid += 2
        trs.append({"type": 2, "id": nid, "tagName": "tr", "attributes": {}, "childNodes": tds})
        nid += 1
    form = [
        {
            "type": 2,
            "id": 2,
            "tagName": "input",
            "attributes": {"name": "acct", "value": ""},
            "childNodes": [],
        },
        {
            "type": 2,
            "id": 3,
            "tagName": "input",
            "attributes": {"type": "password"},
            "childNodes": [],
        },
        {
            "type": 2,
            "id": 4,
            "tagName": "input",
            "attributes": {"name": "symbol"},
            "childNodes": [],
        },
    ]
    table = {"type": 2, "id": 5, "tagName": "table", "attributes": {}, "childNodes": trs}
    return {
        "type": 2,
        "data": {
            "node": {
                "type": 0,
                "id": 1,
                "childNodes": [
                    {
                        "type": 2,
                        "id": 6,
                        "tagName": "body",
                        "attributes": {},
                        "childNodes": [*form, table],
                    }
                ],
            },
            "initialOffset": {"left": 0, "top": 0},
        },
        "timestamp": 1,
    }


def _second(rng: random.Random, sec: int, t0: int) -> list[dict[str, Any]]:
    """One simulated second of recorder entries ``{"k", "t", "p"}`` plus network events."""
    out: list[dict[str, Any]] = []
    ts = t0 + sec * 1000
    for u in range(20):
        texts = [
            {"id": 11 + 2 * rng.randrange(1000), "value": f"{rng.uniform(10, 900):.2f}"}
            for _ in range(200)
        ]
        out.append(
            {
                "k": "rrweb.mutation",
                "t": ts + u * 50,
                "p": {
                    "type": 3,
                    "timestamp": ts + u * 50,
                    "data": {
                        "source": 0,
                        "texts": texts,
                        "attributes": [],
                        "removes": [],
                        "adds": [],
                    },
                },
            }
        )
    for m in range(20):
        out.append(
            {
                "k": "rrweb.mouse_move",
                "t": ts + m * 50,
                "p": {
                    "type": 3,
                    "timestamp": ts,
                    "data": {
                        "source": 1,
                        "positions": [
                            {
                                "x": rng.randrange(1200),
                                "y": rng.randrange(800),
                                "id": 12,
                                "timeOffset": -10,
                            }
                        ],
                    },
                },
            }
        )
    out.append(
        {
            "k": "capture.heartbeat",
            "t": ts,
            "p": {"mutations": 4000, "batches": 10, "dropped": 0, "nodes": 2100},
        }
    )
    acct = f"\x01stm:tokenize:account-fields\x02ACCT-{rng.randrange(10**4):04d}-2290\x03"
    out.append(
        {
            "k": "rrweb.input",
            "t": ts,
            "p": {
                "type": 3,
                "timestamp": ts,
                "data": {"source": 5, "id": 2, "text": acct, "isChecked": False},
            },
        }
    )
    out.append(
        {
            "k": "rrweb.input",
            "t": ts,
            "p": {
                "type": 3,
                "timestamp": ts,
                "data": {
                    "source": 5,
                    "id": 4,
                    "text": "\x01stm:tokenize:default\x02AAPL\x03",
                    "isChecked": False,
                },
            },
        }
    )
    for key in ("7", "Enter"):
        out.append(
            {
                "k": "input.key",
                "t": ts,
                "p": {
                    "key": "[redacted]" if key == "7" else key,
                    "code": "[redacted]" if key == "7" else key,
                    "alt": False,
                    "ctrl": False,
                    "meta": False,
                    "shift": False,
                    "target": 2,
                    "selector": "input[name=acct]",
                },
            }
        )
    body = orjson.dumps(
        {
            "account": "ACCT-4417-2290",
            "symbol": "AAPL",
            "qty": 100,
            "notes": "client called re order",
            "ts": ts,
        }
    ).decode()
    out.append(
        {
            "k": "net.request",
            "t": ts,
            "p": {
                "request_id": f"r{sec}",
                "method": "POST",
                "url": f"https://demo.test/api/orders?session=abc&page={sec}",
                "headers": {
                    "Content-Type": "application/json",
                    "Authorization": "Bearer x",
                    "Accept": "application/json",
                },
                "post_data": body,
                "post_data_sha256": "0" * 64,
                "resource_type": "XHR",
            },
        }
    )
    resp = orjson.dumps(
        {
            "orders": [
                {
                    "id": 1000 + i,
                    "symbol": "MSFT",
                    "px": 412.5,
                    "account": "ACCT-4417-2290",
                    "status": "filled",
                }
                for i in range(10)
            ]
        }
    ).decode()
    out.append(
        {
            "k": "net.response",
            "t": ts,
            "p": {
                "request_id": f"r{sec}",
                "url": "https://demo.test/api/orders",
                "status": 200,
                "headers": {"content-type": "application/json", "set-cookie": "sid=1"},
                "mime": "application/json",
                "body": resp,
                "body_encoding": "text",
                "body_sha256": "0" * 64,
            },
        }
    )
    out.append(
        {
            "k": "net.ws_frame",
            "t": ts,
            "p": {
                "request_id": "ws1",
                "direction": "received",
                "opcode": 1,
                "size": 80,
                "data": orjson.dumps({"type": "tick", "sym": "AAPL", "px": 187.25}).decode(),
            },
        }
    )
    out.append(
        {"k": "page.console", "t": ts, "p": {"level": "log", "text": f"tick {sec} ok", "args": []}}
    )
    return out


def run_mask_bench(
    seconds: int = 10,
    seed: int = 4511,
    masker: Masker | None = None,
    repeat: int = 3,
    journal_append: Callable[[list[Event]], object] | None = None,
) -> MaskBench:
    """CPU time of capture-side decoding, masking and (optionally) journaling, per event.

    ``journal_append`` (the CLI passes a real journal's ``append_many``) adds the journal's
    CPU to the agent total, for the share of agent CPU that masking adds. Process CPU time
    is measured, not wall time, so a busy machine skews the figures less.
    """
    if masker is None:
        masker = Masker.build(load_rules_file(), b"\x11" * 32)
    rng = random.Random(seed)
    entries = [e for s in range(seconds) for e in _second(rng, s, 1_767_225_600_000)]
    # As capture receives them: a binding payload inside a CDP Runtime.bindingCalled message.
    batches = [
        orjson.dumps(
            {
                "method": "Runtime.bindingCalled",
                "sessionId": "S" * 32,
                "params": {
                    "name": "__st_b",
                    "executionContextId": 3,
                    "payload": orjson.dumps(
                        {"v": 1, "n": i, "events": entries[i : i + 40]}
                    ).decode(),
                },
            }
        )
        for i in range(0, len(entries), 40)
    ]
    from agent.capture.recorder_messages import parse_message

    def capture_side() -> list[Event]:
        evs: list[Event] = []
        for raw in batches:
            parsed = parse_message(orjson.loads(raw)["params"]["payload"])
            for k, t, p in parsed.entries:
                evs.append(
                    Event(
                        kind=k,
                        payload=p,
                        t_utc_ns=t * 1_000_000,
                        t_mono_ns=t * 1_000_000,
                        page=_PAGE,
                    )
                )
        return evs

    snap = Event("rrweb.full_snapshot", _snapshot(50, 20), 1, 1, page=_PAGE)
    t0 = time.process_time()
    masker.mask_event(snap)
    snap_ms = (time.process_time() - t0) * 1000
    best_cap = best_mask = best_mut = best_jr = float("inf")
    n = 0
    for _ in range(repeat):
        t0 = time.process_time()
        events = capture_side()
        cap = time.process_time() - t0
        mutations = [e for e in events if e.kind == "rrweb.mutation"]
        # fresh caches each round: prices in a live blotter rarely repeat
        masker.strings.scan.cache_clear()
        t0 = time.process_time()
        masker.mask_events(events)
        msk = time.process_time() - t0
        masker.strings.scan.cache_clear()
        t0 = time.process_time()
        masker.mask_events(mutations)
        mut = (time.process_time() - t0) / max(1, len(mutations))
        best_cap, best_mask, best_mut = min(best_cap, cap), min(best_mask, msk), min(best_mut, mut)
        n = len(events)
        if journal_append is not None:
            masked = masker.mask_events(events)
            t0 = time.process_time()
            for i in range(0, len(masked), 40):
                journal_append(masked[i : i + 40])
            best_jr = min(best_jr, time.process_time() - t0)
    return MaskBench(
        events=n,
        seconds_simulated=seconds,
        mask_us_per_event=round(best_mask / n * 1e6, 2),
        capture_us_per_event=round(best_cap / n * 1e6, 2),
        mask_share_of_capture_pct=round(100 * best_mask / best_cap, 1),
        mutation_event_us=round(best_mut * 1e6, 1),
        journal_us_per_event=round(best_jr / n * 1e6, 2) if journal_append else None,
        mask_share_of_agent_pct=round(100 * best_mask / (best_cap + best_jr), 1)
        if journal_append
        else None,
        full_snapshot_ms=round(snap_ms, 2),
        snapshot_nodes=50 * 20 * 2 + 50 + 6,
    )


class TimedMaskingSink:
    """A MaskingSink stand-in for benchmarks: masks, keeps the events, and counts the CPU
    time this thread spent masking (``time.thread_time``: other threads are not counted)."""

    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self.mask_cpu_s = 0.0
        self.events_in = 0
        self.events: list[Event] = []

    async def append_many(self, events: Sequence[Event]) -> None:
        """Mask and keep."""
        t0 = time.thread_time()
        out = self.masker.mask_events(events)
        self.mask_cpu_s += time.thread_time() - t0
        self.events_in += len(events)
        self.events.extend(out)


@dataclass
class LiveMaskBench:
    """Masking inside a real capture of the demo blotter."""

    cells: int
    seconds: float
    events: int
    agent_cpu_s: float
    mask_cpu_s: float
    mask_share_of_agent_cpu_pct: float
    mask_us_per_event: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


def live_result(
    cells: int, seconds: float, sink: TimedMaskingSink, events0: int, mask0: float, cpu_s: float
) -> LiveMaskBench:
    """Figures for the window between two readings of the sink and the process CPU clock."""
    n = sink.events_in - events0
    mask = sink.mask_cpu_s - mask0
    return LiveMaskBench(
        cells=cells,
        seconds=seconds,
        events=n,
        agent_cpu_s=round(cpu_s, 3),
        mask_cpu_s=round(mask, 4),
        mask_share_of_agent_cpu_pct=round(100 * mask / cpu_s, 2) if cpu_s else 0.0,
        mask_us_per_event=round(mask / n * 1e6, 2) if n else 0.0,
    )
