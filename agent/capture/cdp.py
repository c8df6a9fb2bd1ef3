"""A raw CDP connection over the browser's loopback websocket (flattened sessions).

Playwright keeps its own pipe; this second connection is ours so that we can auto-attach to
every target with ``waitForDebuggerOnStart`` and instrument it before its first script runs.
Commands can be sent without awaiting (``send_nowait``): a new target's setup commands are
queued, then ``Runtime.runIfWaitingForDebugger``, and only then awaited, which is what keeps a
``target=_blank`` popup from deadlocking. CDP and websocket errors are translated to
``CaptureError`` here, once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import structlog
import websockets
from websockets.asyncio.client import ClientConnection

from agent.errors import CaptureError

log = structlog.get_logger(__name__)

EventHandler = Callable[[str, dict[str, Any], str | None], None]


class CDPCommandError(CaptureError):
    """A CDP command answered with an error object (method, code, message)."""

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(f"CDP {method} failed: {message} ({code})")
        self.method = method
        self.code = code


@contextlib.contextmanager
def cdp_errors(what: str) -> Iterator[None]:
    """Translate websocket/OS errors raised inside the block into ``CaptureError``."""
    try:
        yield
    except CaptureError:
        raise
    except (TimeoutError, OSError, websockets.exceptions.WebSocketException) as exc:
        raise CaptureError(f"{what}: {type(exc).__name__}: {exc}", retryable=True) from exc


class CDPConnection:
    """One websocket to the browser target; sessions are addressed by ``sessionId``."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._next_id = 0
        self._pending: dict[int, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._handlers: list[EventHandler] = []
        self.closed = asyncio.Event()
        self.bytes_received = 0
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read_loop(), name="cdp-reader")
        self._writer = asyncio.create_task(self._write_loop(), name="cdp-writer")

    @classmethod
    async def connect(cls, url: str) -> CDPConnection:
        """Open the websocket (no size limit: CDP messages carry response bodies)."""
        with cdp_errors(f"connect {url.split('/devtools')[0]}"):
            ws = await websockets.connect(
                url, max_size=None, ping_interval=None, compression=None, open_timeout=10
            )
        return cls(ws)

    def on_event(self, handler: EventHandler) -> None:
        """Call ``handler(method, params, session_id)`` for every CDP event, in order."""
        self._handlers.append(handler)

    def send_nowait(
        self, method: str, params: dict[str, Any] | None = None, session_id: str | None = None
    ) -> asyncio.Future[dict[str, Any]]:
        """Queue a command now; the returned future resolves to its result (or raises)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[dict[str, Any]] = loop.create_future()
        if self.closed.is_set():
            fut.set_exception(CaptureError(f"CDP {method}: connection closed", retryable=True))
            fut.exception()  # mark retrieved: callers may fire and forget
            return fut
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session_id:
            msg["sessionId"] = session_id
        self._pending[self._next_id] = (method, fut)
        # One writer task keeps commands in the order they were queued (setup before
        # runIfWaitingForDebugger matters).
        self._outbox.put_nowait(orjson.dumps(msg).decode())
        return fut

    async def _write_loop(self) -> None:
        try:
            while True:
                data = await self._outbox.get()
                await self._ws.send(data)
        except (websockets.exceptions.ConnectionClosed, OSError):
            pass

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session_id: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """Send a command and wait for its result."""
        fut = self.send_nowait(method, params, session_id)
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError as exc:
            raise CaptureError(f"CDP {method}: no answer in {timeout}s", retryable=True) from exc

    def fire(
        self, method: str, params: dict[str, Any] | None = None, session_id: str | None = None
    ) -> None:
        """Send a command whose answer nobody needs; errors are logged, never raised."""
        fut = self.send_nowait(method, params, session_id)
        fut.add_done_callback(_log_failure)

    async def close(self) -> None:
        """Close the websocket and fail every pending command."""
        self._writer.cancel()
        with contextlib.suppress(Exception):
            await self._ws.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(self._reader, 2)
        self._fail_pending()

    async def _read_loop(self) -> None:
        try:
            async for raw in self._ws:
                self.bytes_received += len(raw)
                msg = orjson.loads(raw)
                mid = msg.get("id")
                if mid is not None:
                    method, fut = self._pending.pop(mid, ("", None))
                    if fut is None or fut.done():
                        continue
                    if "error" in msg:
                        err = msg["error"]
                        fut.set_exception(
                            CDPCommandError(
                                method, int(err.get("code", 0)), str(err.get("message", ""))
                            )
                        )
                    else:
                        fut.set_result(msg.get("result", {}))
                    continue
                method = msg.get("method", "")
                params = msg.get("params", {})
                sid = msg.get("sessionId")
                for handler in self._handlers:
                    try:
                        handler(method, params, sid)
                    except Exception:  # a handler bug must not stop the reader
                        log.exception("cdp.handler_failed", method=method)
        except (websockets.exceptions.ConnectionClosed, OSError):
            pass
        finally:
            self.closed.set()
            self._writer.cancel()
            self._fail_pending()

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for method, fut in pending.values():
            if not fut.done():
                fut.set_exception(CaptureError(f"CDP {method}: connection closed", retryable=True))
                fut.exception()


def _log_failure(fut: asyncio.Future[dict[str, Any]]) -> None:
    if fut.cancelled():
        return
    exc = fut.exception()
    if exc is not None:
        log.debug("cdp.fire_failed", error=str(exc))
