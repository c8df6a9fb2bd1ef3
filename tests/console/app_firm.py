"""A firm home holding real shipped sessions, and the console served from it by a real uvicorn
on 127.0.0.1 (an ephemeral port) in a thread: what the console tests drive.

Two workstation sessions are written through the real journal with the firm key as required
recipient and shipped to a file vault (``sessiontape ship --once``); the workstation's public
key is trusted in the firm home and the firm's index is rebuilt from the vault alone. The
second session carries one escrowed value (sealed to the officer key the console reveals
with).
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn

from agent.clock import Clock, SystemClock
from agent.config import load_config
from agent.console.accounts import open_store
from agent.console.app import make_app
from agent.console.identity import ADMIN, EXAMINER, REVIEWER, SUPERVISOR
from agent.journal.session import SessionMeta
from agent.keys import Keyring
from agent.mask.escrow import EscrowSealer, generate_keypair
from agent.mask.tokens import new_escrow_token
from agent.rrweb import EventType, IncrementalSource
from agent.testing import FakeClock
from tests.cli.clirun import run
from tests.journals import write_scripted_session
from tests.replay.viewer_session import T0, viewer_events
from tests.waiting import wait_until

PASSWORD = "correct horse battery"
SECRET = "ACCT-4417-2290"
DAY_NS = 86_400 * 1_000_000_000
ACCOUNTS = {
    "alice": (SUPERVISOR,),
    "bob": (SUPERVISOR,),
    "rita": (REVIEWER,),
    "exam": (EXAMINER,),
    "root": (ADMIN,),
}


@dataclass
class Firm:
    """The firm home and what the tests look for in it."""

    home: Path
    vault_url: str
    sessions: dict[str, str]  # "trader1" / "trader2" -> session id
    escrow_token: str
    trust: Path  # the firm's published public keys (for verify-bundle)
    extra: dict[str, str] = field(default_factory=dict)


def _escrow_event(token: str, blob: str) -> tuple[str, dict[str, object], str | None]:
    data = {"source": IncrementalSource.INPUT, "text": token, "isChecked": False, "id": 30}
    payload = {"type": EventType.INCREMENTAL_SNAPSHOT, "data": data, "timestamp": T0 + 9000}
    return ("rrweb.input", {**payload, "_escrow": {token: blob}}, "P")


def _workstation(
    tmp: Path, firm_pem: Path, url: str, officer_pub: str
) -> tuple[Path, dict[str, str], str]:
    ws = tmp / "ws"
    ws.mkdir(mode=0o700)
    (ws / "sessiontape.toml").write_text(
        f'[seal.firm]\nrecipients = ["{firm_pem}"]\nrequire = true\n[ship]\nvault_url = "{url}"\n'
    )
    Keyring.load_or_init(ws)
    cfg = load_config(env={}, home=ws)
    token = new_escrow_token()
    blob = EscrowSealer(officer_pub).seal(SECRET, token)
    sessions = {}
    for user, desk, shift, extra in (
        ("trader1", "desk-1", 0, []),
        ("trader2", "desk-2", 3600, [_escrow_event(token, blob)]),
    ):
        clock = FakeClock(utc_ns=FakeClock().utc_ns() + shift * 1_000_000_000)
        meta = SessionMeta(user=user, workstation=desk)
        j = write_scripted_session(ws, cfg, clock, [viewer_events() + extra], meta=meta)
        sessions[user] = j.session_id
    r = run("ship", "--once", home=ws)
    assert r.code == 0, r.out + r.err
    assert run("keys", "export-public", str(tmp / "ws-public"), home=ws).code == 0
    return ws, sessions, token


def build_firm(tmp: Path) -> Firm:
    """The firm home, its vault holding two shipped sessions, its index rebuilt from the vault,
    and the console accounts of :data:`ACCOUNTS` (plus ``old``, an expired examiner)."""
    firm = tmp / "firm"
    firm.mkdir(mode=0o700)
    firm_pem = tmp / "firm.pem"
    assert run("keys", "firm-init", "--out", str(firm_pem), home=firm).code == 0
    officer = tmp / "officer"
    officer.mkdir(mode=0o700)
    pem, pub = generate_keypair()
    (officer / "escrow.pem").write_bytes(pem)
    (officer / "escrow.pem").chmod(0o600)
    url = f"file://{tmp / 'vault'}"
    _, sessions, token = _workstation(tmp, firm_pem, url, pub)
    (firm / "sessiontape.toml").write_text(
        f'[ship]\nvault_url = "{url}"\n[replay]\nreport_pdf = false\nreport_thumbnails = 0\n'
        f'[console]\nescrow_key = "{officer / "escrow.pem"}"\nlockout_attempts = 3\n'
    )
    for pub_key in sorted((tmp / "ws-public").glob("*.pub")):
        assert run("keys", "trust", str(pub_key), home=firm).code == 0
    r = run("index", "rebuild", "--from-vault", url, home=firm)
    assert r.code == 0, r.out + r.err
    assert run("keys", "export-public", str(tmp / "firm-public"), home=firm).code == 0
    store = open_store(firm)
    now = SystemClock().utc_ns()
    for name, roles in ACCOUNTS.items():
        expires = now + 30 * DAY_NS if EXAMINER in roles else None
        store.add_user(name, PASSWORD, roles, expires, now)
    store.add_user("old", PASSWORD, (EXAMINER,), now - DAY_NS, now)
    store.close()
    return Firm(firm, url, sessions, token, tmp / "firm-public")


class TickingClock(FakeClock):
    """A fake clock that moves 1 ms at every reading, so audit records keep their order."""

    def utc_ns(self) -> int:
        self.advance(1_000_000)
        return super().utc_ns()


@dataclass
class Served:
    """A running console: its base URL and the uvicorn server."""

    url: str
    server: uvicorn.Server


@contextmanager
def serve(home: Path, *, approval: bool = False, clock: Clock | None = None) -> Iterator[Served]:
    """The console of ``home`` on 127.0.0.1 (ephemeral port) in a thread, stopped on exit;
    ``approval`` turns on ``console.reveal_requires_approval``; ``clock`` drives expiry."""
    cfg = load_config(env={}, home=home)
    if approval:
        console = cfg.console.model_copy(update={"reveal_requires_approval": True})
        cfg = cfg.model_copy(update={"console": console})
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = int(sock.getsockname()[1])
    hosts = frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})
    origins = frozenset(f"http://{h}" for h in hosts)
    app = make_app(home, cfg, origins=origins, hosts=hosts, clock=clock)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    t = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    t.start()
    wait_until(lambda: server.started, what="the console to start", timeout_s=30)
    try:
        yield Served(f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        t.join(timeout=30)
        sock.close()


def session_id_in(text: str) -> str:
    """The first session id in ``text``."""
    m = re.search(r"\d{8}T\d{6}Z-[0-9a-f]+", text)
    assert m is not None, text
    return m.group(0)


def form_token(html: str) -> str:
    """The CSRF token of the first form in a page."""
    m = re.search(r'name="csrf" value="([^"]*)"', html)
    assert m is not None, html[:2000]
    return m.group(1)


def client(url: str) -> httpx.Client:
    """An HTTP client for the console that sends this console's ``Origin``, as a browser
    posting its own forms does."""
    return httpx.Client(base_url=url, headers={"Origin": url}, timeout=60)


def sign_in(url: str, name: str, password: str = PASSWORD) -> tuple[httpx.Client, httpx.Response]:
    """A client after posting the sign-in form as ``name``; and the answer."""
    c = client(url)
    token = form_token(c.get("/login").text)
    r = c.post("/login", data={"name": name, "password": password, "csrf": token})
    return c, r


def audit_of(home: Path, kind: str) -> list[dict[str, object]]:
    """The firm home's sealed audit records of ``kind``."""
    from agent.audit import audit_records

    return audit_records(home, kind)
