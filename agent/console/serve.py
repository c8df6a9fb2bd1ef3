"""Running the console: the listen address, the TLS rule, and uvicorn.

The console listens on loopback (``127.0.0.1:8600``) unless configured; any other address is
refused unless a certificate and key are given, and then it speaks only HTTPS (its cookie is
``Secure``). The socket is bound here, before uvicorn starts, so ``:0`` picks a free port and
the URL printed is the real one. While it runs, two background threads ship the audit
(``console.ship_audit_seconds``) and sample the previous day for review
(``console.review.sample_at``).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.clock import SystemClock
from agent.config import Config
from agent.console.review_job import start_review_job
from agent.console.shipping import start_shipping
from agent.errors import UsageError

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class Listen:
    """Where the console listens, and how browsers name it."""

    host: str
    port: int
    tls: bool

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def names(self, port: int, public_origin: str = "") -> tuple[frozenset[str], frozenset[str]]:
        """(``Host`` values, origins) this console answers for once bound to ``port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        hosts = {f"{host}:{port}"}
        if is_loopback(self.host):
            hosts |= {f"127.0.0.1:{port}", f"localhost:{port}"}
        origins = {f"{self.scheme}://{h}" for h in hosts}
        if public_origin:
            origin = public_origin.rstrip("/")
            origins.add(origin)
            hosts.add(origin.split("://", 1)[-1])
        return frozenset(hosts), frozenset(origins)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_listen(text: str, tls_cert: str, tls_key: str) -> Listen:
    """``HOST:PORT`` checked: a port, and TLS (both files) for anything but loopback."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"listen address {text!r}: give HOST:PORT (e.g. 127.0.0.1:8600)")
    if bool(tls_cert) != bool(tls_key):
        raise UsageError("give both --tls-cert and --tls-key, or neither")
    for f in (tls_cert, tls_key):
        if f and not Path(f).is_file():
            raise UsageError(f"{f}: no such TLS file")
    tls = bool(tls_cert)
    if not tls and not is_loopback(host):
        raise UsageError(
            f"listen address {text}: not a loopback address, and the console will not serve "
            "sign-ins and records in clear over a network: give --tls-cert and --tls-key"
        )
    return Listen(host, int(port), tls)


def bind(listen: Listen) -> socket.socket:
    """The listening socket (``UsageError`` when the address cannot be bound)."""
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((listen.host, listen.port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {listen.host}:{listen.port}: {exc.strerror}") from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


def serve(
    home: Path,
    config: Config,
    listen: Listen,
    *,
    tls_cert: str = "",
    tls_key: str = "",
    on_ready: Callable[[str], None] = print,
) -> None:
    """Serve the console for firm home ``home`` until interrupted."""
    import uvicorn

    from agent.console.app import make_app

    sock = bind(listen)
    port = int(sock.getsockname()[1])
    hosts, origins = listen.names(port, config.console.public_origin)
    host = f"[{listen.host}]" if ":" in listen.host else listen.host
    origin = f"{listen.scheme}://{host}:{port}"
    app = make_app(home, config, origins=origins, hosts=hosts, secure=listen.tls, origin=origin)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            ssl_certfile=tls_cert or None,
            ssl_keyfile=tls_key or None,
            proxy_headers=False,
        )
    )
    stop = threading.Event()
    start_shipping(home, config, stop)
    start_review_job(app.state.review, SystemClock(), stop)
    on_ready(f"console: {origin}/")
    try:
        server.run(sockets=[sock])
    finally:
        stop.set()
