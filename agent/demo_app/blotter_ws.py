"""The demo app's blotter WebSocket (``GET /ws``): price ticks to the page, orders from it.

On connect the page gets a snapshot of every cell, then every ``interval_ms`` a tick with
``cells`` changed cells (``?cells=N&interval_ms=M``; ``cells=0`` sends no ticks). A text
message of type ``order`` is parsed like a REST order and answered with ``order_ack`` or
``order_reject``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from agent.clock import Clock
from agent.demo_app import data
from agent.demo_app.models import Order, OrderFields, Source, parse_order

#: Accepts an order: (user, fields, channel, source) -> the accepted order.
AcceptOrder = Callable[[str, OrderFields, str, Source], Order]


def _int_param(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise web.HTTPBadRequest(text=f"{name} must be an integer in [{lo}, {hi}]")
    return int(raw)


class BlotterFeed:
    """Serves the blotter WebSocket and counts connections and ticks sent."""

    def __init__(
        self,
        clock: Clock,
        seed: int,
        sockets: set[web.WebSocketResponse],
        accept_order: AcceptOrder,
    ) -> None:
        self._clock = clock
        self.seed = seed
        self._sockets = sockets  # shared with the app, which closes them on stop
        self._accept_order = accept_order
        self.connections = 0
        self.ticks_sent = 0

    async def handle(self, request: web.Request, user: str) -> web.WebSocketResponse:
        """Serve one page: a snapshot, then ticks, answering each order message."""
        cells = _int_param(request, "cells", 200, 0, data.CELL_COUNT)
        interval_ms = _int_param(request, "interval_ms", 50, 5, 60_000)
        # No permessage-deflate: aiohttp compresses large frames in a shielded task whose error
        # nobody retrieves when the page leaves mid-send (a stray traceback per closed page).
        ws = web.WebSocketResponse(max_msg_size=1 << 20, compress=False)
        lock = asyncio.Lock()
        snapshot = {
            "type": "snapshot",
            "tick": 0,
            "interval_ms": interval_ms,  # the tick schedule this socket runs on
            "cells_per_tick": cells,
            "cells": data.blotter_initial(self.seed),
        }
        ticker: asyncio.Task[None] | None = None
        try:
            await ws.prepare(request)
            self._sockets.add(ws)
            self.connections += 1
            await ws.send_str(json.dumps(snapshot))
            ticker = asyncio.create_task(self._tick_loop(ws, lock, cells, interval_ms))
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    reply = self._ws_message(user, msg.data)
                    async with lock:
                        await ws.send_str(json.dumps(reply))
        except ConnectionResetError:
            pass  # the page went away mid-handshake or mid-write: nobody is left to answer
        finally:
            if ticker is not None:
                ticker.cancel()
            self._sockets.discard(ws)
        return ws

    async def _tick_loop(
        self, ws: web.WebSocketResponse, lock: asyncio.Lock, cells: int, interval_ms: int
    ) -> None:
        """Send ``cells`` changed cells every ``interval_ms`` until the socket closes."""
        if cells == 0:
            return
        loop = asyncio.get_running_loop()
        start = loop.time()
        tick = 0
        try:
            while not ws.closed:
                tick += 1
                await asyncio.sleep(max(0.0, start + tick * interval_ms / 1000 - loop.time()))
                msg = {
                    "type": "tick",
                    "tick": tick,
                    "t": self._clock.utc_ns() // 1_000_000,
                    "cells": data.blotter_tick(tick, cells, self.seed),
                }
                async with lock:
                    await ws.send_str(json.dumps(msg))
                self.ticks_sent += 1
        except (ConnectionError, RuntimeError):
            return  # the page went away between the closed check and the send

    def _ws_message(self, user: str, raw: str) -> dict[str, Any]:
        """The reply to one message from the page: an order ack or reject, a watch
        acknowledgement (the client account the page follows), or an error."""
        try:
            msg = json.loads(raw)
        except ValueError:
            return {"type": "error", "error": "message must be JSON"}
        if isinstance(msg, dict) and msg.get("type") == "watch":
            return {"type": "watching", "account": str(msg.get("account", ""))}
        if not isinstance(msg, dict) or msg.get("type") != "order":
            return {"type": "error", "error": "unknown message type"}
        ref = str(msg.get("client_ref", ""))
        try:
            fields = parse_order(msg)
        except ValueError as exc:
            return {"type": "order_reject", "client_ref": ref, "error": str(exc)}
        order = self._accept_order(user, fields, "ws", "ticket")
        return {"type": "order_ack", "client_ref": ref, "order_id": order.order_id}
