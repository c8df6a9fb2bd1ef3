"""The ``--remote-debugging-pipe`` transport: NUL-terminated JSON over two OS pipes.

Chromium reads commands from its fd 3 and writes answers and events to its fd 4; each message
is one JSON text followed by a ``\\0`` byte. A read may hold part of a message or several:
:class:`NulFramer` splits them. End of file or a read error on fd 4 means the browser is gone
(:meth:`CDPConnection.lost`).

The event pipe is widened to :data:`PIPE_BYTES` where the kernel allows: a recorder batch of a
busy page (about 90 KB for 1000 changed grid cells) then arrives in one read, instead of one
wake-up of the event loop and one copy into the framer per 64 KiB of the default pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import Callable
from typing import Any

from agent.capture.cdp import CDPConnection

PIPE_BYTES = 1024 * 1024  # Linux's default /proc/sys/fs/pipe-max-size for unprivileged users


class NulFramer:
    """Accumulates bytes and hands out every complete NUL-terminated message."""

    def __init__(self, on_message: Callable[[bytes], None]) -> None:
        self._buf = bytearray()
        self._on_message = on_message

    def feed(self, chunk: bytes) -> None:
        """Add what one read returned; call ``on_message`` for each message it completes."""
        start = 0
        end = chunk.find(b"\0")
        if end < 0:
            self._buf += chunk
            return
        while end >= 0:
            if self._buf:
                self._buf += chunk[start:end]
                msg = bytes(self._buf)
                self._buf.clear()
            else:
                msg = chunk[start:end]
            self._on_message(msg)
            start = end + 1
            end = chunk.find(b"\0", start)
        self._buf += chunk[start:]

    @property
    def pending_bytes(self) -> int:
        """Bytes of an unfinished message held back."""
        return len(self._buf)


class _ReadSide(asyncio.Protocol):
    def __init__(self, conn: CDPConnection) -> None:
        self._conn = conn
        self._framer = NulFramer(conn.feed)

    def data_received(self, data: bytes) -> None:
        self._framer.feed(data)

    def eof_received(self) -> bool | None:
        self._conn.lost()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._conn.lost()


class _WriteSide(asyncio.Protocol):
    def __init__(self, conn: CDPConnection) -> None:
        self._conn = conn

    def connection_lost(self, exc: Exception | None) -> None:
        self._conn.lost()


class PipeTransport:
    """Writes framed commands to the browser's command pipe (asyncio buffers them in order)."""

    def __init__(self, writer: asyncio.WriteTransport, reader: asyncio.ReadTransport) -> None:
        self._writer = writer
        self._reader = reader

    def write(self, data: bytes) -> None:
        """Queue ``data`` plus its terminating NUL."""
        if self._writer.is_closing():
            raise RuntimeError("command pipe closed")
        self._writer.write(data + b"\0")

    def close(self) -> None:
        """Close both pipe ends of ours."""
        self._writer.close()
        self._reader.close()


async def connect_pipes(read_fd: int, write_fd: int) -> CDPConnection:
    """A :class:`CDPConnection` reading events from ``read_fd`` and writing to ``write_fd``.

    Both fds are owned by the connection from now on (closed with it).
    """
    loop = asyncio.get_running_loop()
    conn = CDPConnection()
    widen_pipe(read_fd)
    rfile: Any = os.fdopen(read_fd, "rb", buffering=0)
    wfile: Any = os.fdopen(write_fd, "wb", buffering=0)
    read_tr, _ = await loop.connect_read_pipe(lambda: _ReadSide(conn), rfile)
    write_tr, _ = await loop.connect_write_pipe(lambda: _WriteSide(conn), wfile)
    conn.attach(PipeTransport(write_tr, read_tr))
    return conn


def widen_pipe(fd: int, size: int = PIPE_BYTES) -> int:
    """Ask the kernel for a pipe buffer of ``size`` bytes on ``fd``; the size it has now.

    Not fatal when refused (a lower ``pipe-max-size``, or no ``F_SETPIPE_SZ``): the pipe
    keeps its size and messages are framed across reads as before.
    """
    setsz = getattr(fcntl, "F_SETPIPE_SZ", None)
    getsz = getattr(fcntl, "F_GETPIPE_SZ", None)
    if setsz is None or getsz is None:
        return 0
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, setsz, size)
    try:
        return int(fcntl.fcntl(fd, getsz))
    except OSError:
        return 0
