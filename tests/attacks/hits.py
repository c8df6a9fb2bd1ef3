"""A real local HTTP server for attack tests: it serves given pages and records every request
it receives (the "beacon" a hostile payload would call, or a recorded site that must not be
contacted)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class HitServer:
    """Pages to serve (path -> (content type, body)) and the paths requested so far."""

    port: int = 0
    pages: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    cookies: list[str] = field(default_factory=list)
    """Every ``Cookie`` header received."""
    bodies: list[tuple[str, bytes]] = field(default_factory=list)
    """Path and body of every POST (a beacon's data)."""

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _handler(hs: HitServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            hs.hits.append(self.path)
            if self.headers.get("Cookie"):
                hs.cookies.append(str(self.headers["Cookie"]))
            if self.command == "POST":
                n = int(self.headers.get("Content-Length") or 0)
                hs.bodies.append((self.path, self.rfile.read(n)))
            ctype, body = hs.pages.get(self.path.split("?", 1)[0], ("text/plain", b"hit\n"))
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

        do_GET = _answer
        do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    return Handler


@contextmanager
def hit_server(pages: dict[str, tuple[str, bytes]] | None = None) -> Iterator[HitServer]:
    """A :class:`HitServer` listening on a free 127.0.0.1 port for the ``with`` block."""
    hs = HitServer(pages=dict(pages or {}))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hs))
    hs.port = int(srv.server_address[1])
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield hs
    finally:
        srv.shutdown()
        srv.server_close()
