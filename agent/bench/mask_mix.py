"""The synthetic event mix of ``sessiontape bench mask``: what the demo blotter produces.

A 50x20 grid with 200 cells changing every 50 ms: rrweb mutation events of 200 short price
texts, plus per second mouse moves, a heartbeat, input events and keystrokes into tokenized
fields, an XHR request/response pair with JSON bodies, a WebSocket frame and a console line.
Prices change on every update, so the masker's per-string caches mostly miss - the
unfavourable case. Entries are the recorder's ``{"k", "t", "p"}`` shape.
"""

from __future__ import annotations

import random
from typing import Any

import orjson

from agent.rrweb import EventType, IncrementalSource, NodeType

SNAPSHOT_ROWS, SNAPSHOT_COLS = 50, 20
# Element and text node per cell, one element per row, and the body, form and table around them.
SNAPSHOT_NODES = SNAPSHOT_ROWS * SNAPSHOT_COLS * 2 + SNAPSHOT_ROWS + 6


def _element(nid: int, tag: str, attributes: dict[str, str], children: list[Any]) -> Any:
    return {
        "type": NodeType.ELEMENT,
        "id": nid,
        "tagName": tag,
        "attributes": attributes,
        "childNodes": children,
    }


def _grid_rows(rows: int, cols: int) -> list[dict[str, Any]]:
    nid = 10
    trs = []
    for r in range(rows):
        tds = []
        for c in range(cols):
            text = {"type": NodeType.TEXT, "id": nid + 1, "textContent": f"{100 + r + c / 100:.2f}"}
            tds.append(_element(nid, "td", {"class": "px"}, [text]))
            nid += 2
        trs.append(_element(nid, "tr", {}, tds))
        nid += 1
    return trs


def snapshot(rows: int = SNAPSHOT_ROWS, cols: int = SNAPSHOT_COLS) -> dict[str, Any]:
    """A full snapshot of the blotter page: three form fields and the price grid."""
    form = [
        _element(2, "input", {"name": "acct", "value": ""}, []),
        _element(3, "input", {"type": "password"}, []),
        _element(4, "input", {"name": "symbol"}, []),
    ]
    table = _element(5, "table", {}, _grid_rows(rows, cols))
    body = _element(6, "body", {}, [*form, table])
    return {
        "type": EventType.FULL_SNAPSHOT,
        "data": {
            "node": {"type": NodeType.DOCUMENT, "id": 1, "childNodes": [body]},
            "initialOffset": {"left": 0, "top": 0},
        },
        "timestamp": 1,
    }


def _incremental(ts: int, source: IncrementalSource, **data: Any) -> dict[str, Any]:
    return {
        "type": EventType.INCREMENTAL_SNAPSHOT,
        "timestamp": ts,
        "data": {"source": source, **data},
    }


def _mutations(rng: random.Random, ts: int) -> list[dict[str, Any]]:
    """20 updates of 200 price texts, 50 ms apart."""
    out = []
    for u in range(20):
        texts = [
            {"id": 11 + 2 * rng.randrange(1000), "value": f"{rng.uniform(10, 900):.2f}"}
            for _ in range(200)
        ]
        t = ts + u * 50
        p = _incremental(
            t, IncrementalSource.MUTATION, texts=texts, attributes=[], removes=[], adds=[]
        )
        out.append({"k": "rrweb.mutation", "t": t, "p": p})
    return out


def _mouse_moves(rng: random.Random, ts: int) -> list[dict[str, Any]]:
    out = []
    for m in range(20):
        pos = {"x": rng.randrange(1200), "y": rng.randrange(800), "id": 12, "timeOffset": -10}
        p = _incremental(ts, IncrementalSource.MOUSE_MOVE, positions=[pos])
        out.append({"k": "rrweb.mouse_move", "t": ts + m * 50, "p": p})
    return out


def _inputs(rng: random.Random, ts: int) -> list[dict[str, Any]]:
    """A heartbeat, two tokenized input values and two keystrokes."""
    heartbeat = {"mutations": 4000, "batches": 10, "dropped": 0, "nodes": 2100}
    out: list[dict[str, Any]] = [{"k": "capture.heartbeat", "t": ts, "p": heartbeat}]
    acct = f"\x01stm:tokenize:account-fields\x02ACCT-{rng.randrange(10**4):04d}-2290\x03"
    symbol = "\x01stm:tokenize:default\x02AAPL\x03"
    for nid, text in ((2, acct), (4, symbol)):
        p = _incremental(ts, IncrementalSource.INPUT, id=nid, text=text, isChecked=False)
        out.append({"k": "rrweb.input", "t": ts, "p": p})
    for key in ("7", "Enter"):
        shown = "[redacted]" if key == "7" else key
        p = {
            "key": shown,
            "code": shown,
            "alt": False,
            "ctrl": False,
            "meta": False,
            "shift": False,
            "target": 2,
            "selector": "input[name=acct]",
        }
        out.append({"k": "input.key", "t": ts, "p": p})
    return out


def _request(sec: int, ts: int) -> dict[str, Any]:
    body = {
        "account": "ACCT-4417-2290",
        "symbol": "AAPL",
        "qty": 100,
        "notes": "client called re order",
        "ts": ts,
    }
    headers = {
        "Content-Type": "application/json",
        "Authorization": "Bearer x",
        "Accept": "application/json",
    }
    p = {
        "request_id": f"r{sec}",
        "method": "POST",
        "url": f"https://demo.test/api/orders?session=abc&page={sec}",
        "headers": headers,
        "post_data": orjson.dumps(body).decode(),
        "post_data_sha256": "0" * 64,
        "resource_type": "XHR",
    }
    return {"k": "net.request", "t": ts, "p": p}


def _response(sec: int, ts: int) -> dict[str, Any]:
    order = {"symbol": "MSFT", "px": 412.5, "account": "ACCT-4417-2290", "status": "filled"}
    orders = [{"id": 1000 + i, **order} for i in range(10)]
    p = {
        "request_id": f"r{sec}",
        "url": "https://demo.test/api/orders",
        "status": 200,
        "headers": {"content-type": "application/json", "set-cookie": "sid=1"},
        "mime": "application/json",
        "body": orjson.dumps({"orders": orders}).decode(),
        "body_encoding": "text",
        "body_sha256": "0" * 64,
    }
    return {"k": "net.response", "t": ts, "p": p}


def _frame_and_console(sec: int, ts: int) -> list[dict[str, Any]]:
    frame = {
        "request_id": "ws1",
        "direction": "received",
        "opcode": 1,
        "size": 80,
        "data": orjson.dumps({"type": "tick", "sym": "AAPL", "px": 187.25}).decode(),
    }
    console = {"level": "log", "text": f"tick {sec} ok", "args": []}
    return [
        {"k": "net.ws_frame", "t": ts, "p": frame},
        {"k": "page.console", "t": ts, "p": console},
    ]


def second(rng: random.Random, sec: int, t0: int) -> list[dict[str, Any]]:
    """One simulated second of recorder entries ``{"k", "t", "p"}`` plus network events."""
    ts = t0 + sec * 1000
    return [
        *_mutations(rng, ts),
        *_mouse_moves(rng, ts),
        *_inputs(rng, ts),
        _request(sec, ts),
        _response(sec, ts),
        *_frame_and_console(sec, ts),
    ]
