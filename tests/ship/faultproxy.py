"""A tiny TCP proxy in front of moto that we control: pass, reset, 500, delay, hold, down.

Every accepted connection takes the next *plan* from ``plans`` (default: pass through).
moto answers with ``Connection: close``, so one connection is one HTTP request. Plans:

* ``"pass"`` - forward both ways;
* ``"reset"`` - read the request head (and some body) then close with RST, never contacting
  moto: a connection reset mid-upload;
* ``"500"`` - answer ``500 InternalError`` without contacting moto;
* ``"403"`` - answer ``403 InvalidAccessKeyId`` (what S3 says to bad credentials);
* ``("delay", s)`` - forward, but hold the response ``s`` seconds (slow server);
* ``"hold"`` - forward the request, then never answer until released (for kill -9 tests);
  ``held`` is set when a held request reached moto and its response is back;
* ``"stall"`` - never forward the request (moto never sees it); ``held`` is set;
* ``"down"`` - forward, drop the answer, and stop listening: the server went down mid-upload.

Only requests matching ``match`` (bytes prefix, default ``b"PUT "``) consume plans; others pass.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from typing import Any

_500 = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\n"
    b"Connection: close\r\nContent-Length: 117\r\n\r\n"
    b"<Error><Code>InternalError</Code><Message>We encountered an internal error."
    b"</Message><RequestId>1</RequestId></Error>"
)
_403_BODY = (
    b"<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you "
    b"provided does not exist in our records.</Message></Error>"
)
_403 = (
    b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nConnection: close\r\n"
    b"Content-Length: " + str(len(_403_BODY)).encode() + b"\r\n\r\n" + _403_BODY
)


def _hangup(sock: socket.socket) -> None:
    """shutdown + close: a bare close() does not wake a recv()/accept() blocked in another
    thread, and the peer would see nothing until that call times out."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class FaultProxy:
    """Listen on 127.0.0.1:<port>, forward to ``upstream``; inject faults per plan."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.plans: list[Any] = []
        self.match = b"PUT "
        self.seen: list[bytes] = []
        self.held = threading.Event()
        self.release = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop accepting (the "server down" state) and release held requests."""
        self._stop = True
        self.release.set()
        _hangup(self._sock)  # shutdown wakes accept(): stops listening now

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _next_plan(self, head: bytes) -> Any:
        with self._lock:
            self.seen.append(head[:120])
            if not head.startswith(self.match) or not self.plans:
                return "pass"
            return self.plans.pop(0)

    @staticmethod
    def _read_head(sock: socket.socket) -> bytes:
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = sock.recv(65536)
            if not data:
                break
            buf += data
        return buf

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(30)
            head = self._read_head(conn)
            if not head:
                conn.close()
                return
            plan = self._next_plan(head)
            if plan == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                return
            if plan == "stall":
                self.held.set()
                self.release.wait(60)
                conn.close()
                return
            if plan in ("500", "403"):
                conn.sendall(_500 if plan == "500" else _403)
                conn.close()
                return
            hdr, _, rest = head.partition(b"\r\n\r\n")
            lines = hdr.split(b"\r\n")
            if any(line.lower() == b"expect: 100-continue" for line in lines):
                # Answer the interim 100 ourselves so the client sends the body at once.
                lines = [line for line in lines if line.lower() != b"expect: 100-continue"]
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            up = socket.create_connection(self.upstream, timeout=30)
            up.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + rest)
            done = threading.Event()
            threading.Thread(target=self._pump, args=(conn, up, done), daemon=True).start()
            response = self._read_response(up, is_head=head.startswith(b"HEAD "))
            if isinstance(plan, tuple) and plan[0] == "delay":
                time.sleep(float(plan[1]))
            if plan == "hold":
                self.held.set()
                self.release.wait(60)
            if plan == "down":
                self.close()
                _hangup(conn)
                _hangup(up)
                return
            with contextlib.suppress(OSError):
                conn.sendall(response)
            done.set()
            _hangup(conn)
            _hangup(up)
        except OSError:
            _hangup(conn)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, done: threading.Event) -> None:
        """Client → upstream (the rest of the request body)."""
        try:
            while not done.is_set():
                data = src.recv(65536)
                if not data:
                    return
                dst.sendall(data)
        except OSError:
            return

    def _read_response(self, up: socket.socket, *, is_head: bool) -> bytes:
        """One full HTTP response (by Content-Length; HEAD has no body)."""
        buf = self._read_head(up)
        hdr, _, body = buf.partition(b"\r\n\r\n")
        length = None
        for line in hdr.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if is_head:
            length = 0
        while length is None or len(body) < length:
            try:
                data = up.recv(65536)
            except OSError:
                break
            if not data:
                break
            body += data
        return hdr + b"\r\n\r\n" + body
