"""The agent's own CDP connection to the recorded browser (flattened sessions).

Chromium is launched with ``--remote-debugging-pipe``: commands go to the browser on its fd 3,
answers and events come back on its fd 4, each message a JSON object terminated by a NUL byte
(:mod:`agent.capture.pipe` does the framing). There is no TCP port, so nothing else on the
machine can attach. Commands can be sent without awaiting (``send_nowait``): a new target's
setup commands are queued, then ``Runtime.runIfWaitingForDebugger``, and only then awaited,
which is what keeps a ``target=_blank`` popup from deadlocking. Writes go out synchronously in
the order they were queued. CDP and transport errors are translated to ``CaptureError`` here,
once; a lost pipe sets ``closed`` and fails every pending command with "connection closed".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import orjson
import structlog

from agent.errors import CaptureError

log = structlog.get_logger(__name__)

EventHandler = Callable[[str, dict[str, Any], str | None], None]


class Transport(Protocol):
    """Where encoded commands go (the browser's command pipe)."""

    def write(self, data: bytes) -> None:
        """Queue one framed message for the browser."""

    def close(self) -> None:
        """Stop writing (the browser sees end of file)."""


class CDPCommandError(CaptureError):
    """A CDP command answered with an error object (method, code, message)."""

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(f"CDP {method} failed: {message} ({code})")
        self.method = method
        self.code = code


@contextlib.contextmanager
def cdp_errors(what: str) -> Iterator[None]:
    """Translate transport/OS errors raised inside the block into ``CaptureError``."""
    try:
        yield
    except CaptureError:
        raise
    except (TimeoutError, OSError, ValueError) as exc:
        raise CaptureError(f"{what}: {type(exc).__name__}: {exc}", retryable=True) from exc


class CDPConnection:
    """One link to the browser target; sessions are addressed by ``sessionId``.

    The transport calls :meth:`feed` with each complete message and :meth:`lost` once when
    the browser side is gone.
    """

    def __init__(self, transport: Transport | None = None) -> None:
        self._transport = transport
        self._next_id = 0
        self._pending: dict[int, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._handlers: list[EventHandler] = []
        self.closed = asyncio.Event()
        self.bytes_received = 0

    def attach(self, transport: Transport) -> None:
        """Set the transport that commands are written to (once, before the first send)."""
        self._transport = transport

    def on_event(self, handler: EventHandler) -> None:
        """Call ``handler(method, params, session_id)`` for every CDP event, in order."""
        self._handlers.append(handler)

    def send_nowait(
        self, method: str, params: dict[str, Any] | None = None, session_id: str | None = None
    ) -> asyncio.Future[dict[str, Any]]:
        """Queue a command now; the returned future resolves to its result (or raises)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[dict[str, Any]] = loop.create_future()
        if self.closed.is_set() or self._transport is None:
            fut.set_exception(CaptureError(f"CDP {method}: connection closed", retryable=True))
            fut.exception()  # mark retrieved: callers may fire and forget
            return fut
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session_id:
            msg["sessionId"] = session_id
        self._pending[self._next_id] = (method, fut)
        try:
            self._transport.write(orjson.dumps(msg))
        except (OSError, RuntimeError) as exc:
            self._pending.pop(self._next_id, None)
            fut.set_exception(CaptureError(f"CDP {method}: {exc}", retryable=True))
            fut.exception()
        return fut

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
        """Stop talking to the browser and fail every pending command."""
        if self._transport is not None:
            with contextlib.suppress(Exception):
                self._transport.close()
        self.lost()

    def feed(self, raw: bytes) -> None:
        """One complete message from the browser: an answer or an event."""
        self.bytes_received += len(raw)
        try:
            msg = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.warning("cdp.bad_message", size=len(raw))
            return
        mid = msg.get("id")
        if mid is not None:
            self._answer(int(mid), msg)
            return
        method = msg.get("method", "")
        params = msg.get("params", {})
        sid = msg.get("sessionId")
        for handler in self._handlers:
            try:
                handler(method, params, sid)
            except Exception:  # a handler bug must not stop the reader
                log.exception("cdp.handler_failed", method=method)

    def _answer(self, mid: int, msg: dict[str, Any]) -> None:
        method, fut = self._pending.pop(mid, ("", None))
        if fut is None or fut.done():
            return
        if "error" in msg:
            err = msg["error"]
            fut.set_exception(
                CDPCommandError(method, int(err.get("code", 0)), str(err.get("message", "")))
            )
        else:
            fut.set_result(msg.get("result", {}))

    def lost(self) -> None:
        """The browser side is gone: mark closed and fail what is pending (idempotent)."""
        self.closed.set()
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
