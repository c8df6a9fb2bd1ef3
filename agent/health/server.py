"""Serve the status board: ``<home>/run/agent.sock`` and ``<home>/run/status.json``.

:func:`start_health` runs in a thread of its own with its own event loop, so a busy or stuck
service loop still answers ``sessiontape status`` (and the answer shows what is stuck):

- a Unix socket ``<home>/run/agent.sock`` (0600, in ``<home>/run`` 0700: only the agent's own
  account reaches it) serving HTTP ``GET /status`` (the JSON document) and ``GET /metrics``
  (Prometheus text);
- the status file ``<home>/run/status.json`` (0600), rewritten atomically every
  ``interval_s`` and once more at stop (with ``stopped`` set), for when no agent answers;
- with ``agent.metrics_listen`` set, a TCP listener on that (loopback unless the firm says
  otherwise) address serving ``GET /metrics`` only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from agent.clock import utc_iso
from agent.errors import ConfigError, UsageError
from agent.health import metrics
from agent.health.board import StatusBoard
from agent.health.listen import parse_listen

log = structlog.get_logger("sessiontape.health")

STATUS_FILE = "status.json"
SOCKET_FILE = "agent.sock"
DEFAULT_INTERVAL_S = 5.0


def run_dir(home: Path) -> Path:
    """``<home>/run``: the socket and the status file."""
    return home / "run"


def write_status_file(path: Path, status: dict[str, Any]) -> None:
    """Write ``status`` to ``path`` atomically (a 0600 temp file renamed over it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(status, indent=2, sort_keys=True).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _socket_answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


@dataclass
class HealthHandle:
    """The running health server; :meth:`stop` ends it."""

    socket_path: Path
    status_path: Path
    tcp_address: tuple[str, int] | None = None
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _stop: asyncio.Event | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop serving, remove the socket, write the last status (``stopped`` set)."""
        stop_event = self._stop
        if stop_event is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(stop_event.set)
        self._thread.join(30)
        self._stop = None


def _prepare_dir(home: Path) -> Path:
    d = run_dir(home)
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(d, 0o700)
    sock = d / SOCKET_FILE
    if sock.exists():
        if _socket_answers(sock):
            raise UsageError(f"{sock}: another agent already serves this home")
        sock.unlink()  # left by an agent that died
    return d


def _app(board: StatusBoard, *, status: bool) -> web.Application:
    async def get_status(_: web.Request) -> web.Response:
        return web.json_response(board.snapshot(), dumps=lambda o: json.dumps(o, indent=2))

    async def get_metrics(_: web.Request) -> web.Response:
        body = metrics.render(board.snapshot())
        return web.Response(body=body.encode(), headers={"Content-Type": metrics.CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/metrics", get_metrics)
    if status:
        app.router.add_get("/status", get_status)
    return app


async def _serve(
    board: StatusBoard,
    handle: HealthHandle,
    listen: tuple[str, int] | None,
    interval_s: float,
    ready: threading.Event,
    failed: list[BaseException],
) -> None:
    handle._stop = asyncio.Event()
    runners: list[web.AppRunner] = []
    try:
        runner = web.AppRunner(_app(board, status=True), access_log=None)
        runners.append(runner)
        await runner.setup()
        await web.UnixSite(runner, str(handle.socket_path)).start()
        os.chmod(handle.socket_path, 0o600)
        if listen is not None:
            tcp = web.AppRunner(_app(board, status=False), access_log=None)
            runners.append(tcp)
            await tcp.setup()
            site = web.TCPSite(tcp, listen[0], listen[1])
            await site.start()
            # aiohttp keeps the bound sockets on its private server (port 0 picks a free one)
            server: Any = site._server
            bound = server.sockets[0].getsockname() if server is not None else listen
            handle.tcp_address = (str(bound[0]), int(bound[1]))
    except BaseException as exc:
        failed.append(exc)
        for r in runners:
            await r.cleanup()
        ready.set()
        return
    _write(board, handle.status_path)  # a status file exists once start_health returns
    ready.set()
    await _status_loop(board, handle, interval_s)
    for r in runners:
        await r.cleanup()
    with contextlib.suppress(FileNotFoundError):
        handle.socket_path.unlink()
    _write(board, handle.status_path, stopped=True)


async def _status_loop(board: StatusBoard, handle: HealthHandle, interval_s: float) -> None:
    assert handle._stop is not None
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(handle._stop.wait(), interval_s)
            return
        _write(board, handle.status_path)


def _write(board: StatusBoard, path: Path, *, stopped: bool = False) -> None:
    try:
        status = board.snapshot()
        status["stopped"] = utc_iso(status["at_ns"]) if stopped else None
        write_status_file(path, status)
    except Exception as exc:  # health must not take the agent down; say so in the log
        log.warning("health.status_write_failed", path=str(path), error=str(exc))


def start_health(
    board: StatusBoard, home: Path, config: Any, *, interval_s: float = DEFAULT_INTERVAL_S
) -> HealthHandle:
    """Serve ``board`` for ``home`` (``config``: the agent's :class:`agent.config.Config`).

    Raises UsageError when another agent already answers on the home's socket, and
    ConfigError when the TCP listener is not allowed or cannot bind.
    """
    try:
        listen = parse_listen(
            config.agent.metrics_listen, allow_remote=config.agent.metrics_listen_remote
        )
    except ValueError as exc:
        raise ConfigError(f"agent.{exc}") from None
    d = _prepare_dir(home)
    handle = HealthHandle(d / SOCKET_FILE, d / STATUS_FILE)
    ready = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(handle._loop)
        try:
            handle._loop.run_until_complete(
                _serve(board, handle, listen, interval_s, ready, failed)
            )
        finally:
            handle._loop.close()

    handle._thread = threading.Thread(target=run, name="health", daemon=True)
    handle._thread.start()
    ready.wait(30)
    if failed:
        handle._thread.join(10)
        where = f"{listen[0]}:{listen[1]}" if listen else str(handle.socket_path)
        raise ConfigError(f"health: cannot listen on {where}: {failed[0]}") from failed[0]
    return handle
