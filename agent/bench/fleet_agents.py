"""Simulated workstations for ``bench fleet``: real homes, real keys, real sealed segments.

Each :class:`SimAgent` is a workstation home with its own signing key and KEK, configured to
wrap every data key to the firm's public key (``[seal.firm] recipients``, required) and to
ship to the fleet's vault. :meth:`SimAgent.record` writes one trading session through the
ordinary :class:`~agent.journal.journal.Journal` (chained, signed, sealed, encrypted) with
events shaped like a trader's day - navigations, page titles, order-ticket submits, REST
requests and responses with order ids and symbols, console lines - and :meth:`SimAgent.ship`
ships with the ordinary shipper (single-part PUT with lock and checksum, HEAD-confirmed,
receipt object beside it). The firm home (:func:`make_firm`) holds the firm private key and
trusts each agent's public signing key, as a deployment enrols it.
"""

from __future__ import annotations

import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.config import Config, load_config
from agent.events import Event
from agent.journal.journal import Journal
from agent.journal.session import SessionMeta
from agent.keys import Keyring
from agent.testing import FakeClock

SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "TSLA", "JPM", "XOM", "GS", "IBM", "KO", "PFE", "BA")
HOST = "oms.desk.example"
VENUES = ("NYSE", "NASDAQ", "ARCA", "BATS", "IEX")
WORDS = [
    "limit",
    "market",
    "stop",
    "blotter",
    "fill",
    "partial",
    "cancel",
    "amend",
    "route",
    "allocation",
    "client",
    "confirm",
    "compliance",
    "restricted",
    "list",
    "breach",
    "warning",
    "position",
    "exposure",
    "hedge",
    "spread",
    "basis",
]


def make_firm(firm_home: Path) -> Path:
    """A firm home with its own keys and one firm X25519 key; returns the public key PEM."""
    from agent.keystore.firm_files import FileFirmKeyStore
    from agent.keystore.firmwrap import public_pem

    firm_home.mkdir(mode=0o700, parents=True, exist_ok=True)
    Keyring.load_or_init(firm_home)
    pem = firm_home / "firm-public.pem"
    pem.write_bytes(public_pem(FileFirmKeyStore(firm_home / "keys").new_key()))
    return pem


@dataclass
class SimAgent:
    """One simulated workstation."""

    home: Path
    name: str
    user: str
    config: Config
    sessions: int = 0

    @classmethod
    def create(
        cls,
        root: Path,
        i: int,
        firm_home: Path,
        firm_pem: Path,
        vault_url: str,
        *,
        enroll: bool = True,
    ) -> SimAgent:
        """Workstation ``i`` under ``root``: keys, config, and (``enroll``) its public key in
        the firm home's trust store."""
        home = root / f"ws{i:03d}"
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        (home / "sessiontape.toml").write_text(
            f'[seal.firm]\nrecipients = ["{firm_pem}"]\nrequire = true\n'
            f'[ship]\nvault_url = "{vault_url}"\n'
        )
        Keyring.load_or_init(home)
        trusted = firm_home / "keys" / "trusted"
        for pub in (home / "keys" / "trusted").glob("*.pub") if enroll else ():
            shutil.copyfile(pub, trusted / pub.name)
        cfg = load_config(env={}, home=home)
        return cls(home, f"ws-{i:03d}", f"trader{i:03d}", cfg)

    def record(self, rng: random.Random, *, segments: int = 1, actions: int = 12) -> str:
        """Write and seal one session of ``segments`` segments; return its id."""
        clock = FakeClock(utc_ns=time.time_ns())
        meta = SessionMeta(user=self.user, workstation=self.name)
        j = Journal.open(self.home, self.config, clock=clock, meta=meta)
        for s in range(segments):
            if s:
                clock.advance_s(self.config.journal.rotate_seconds)
                j.tick()
            for _ in range(actions):
                clock.advance_s(rng.uniform(0.5, 4.0))
                j.append_many([Event(k, p, clock.utc_ns(), clock.mono_ns(), page="P1")
                               for k, p in trade_events(rng)])  # fmt: skip
        j.close()
        self.sessions += 1
        return j.session_id

    def ship(self) -> int:
        """Ship every sealed segment not shipped yet; return how many were shipped."""
        from agent.ship.runtime import build_shipper

        res = build_shipper(self.home, self.config.ship, config=self.config).ship_once()
        if res.paused:
            raise RuntimeError(f"{self.name}: shipping paused: {res.paused}")
        return len(res.shipped)


def trade_events(rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """One trader action as the capture stage journals it (before masking: no secrets here)."""
    sym, side = rng.choice(SYMBOLS), rng.choice(("BUY", "SELL"))
    qty, px = rng.randrange(100, 50_000, 100), round(rng.uniform(10, 900), 2)
    order = f"ORD-{rng.randrange(1, 10**8):08d}"
    url = f"https://{HOST}/orders/{sym.lower()}"
    note = " ".join(rng.sample(WORDS, 4))
    body = (
        f'{{"order_id": "{order}", "symbol": "{sym}", "side": "{side}", "qty": {qty}, '
        f'"price": "{px}", "venue": "{rng.choice(VENUES)}", "status": "accepted", '
        f'"note": "{note}"}}'
    )
    return [
        ("page.navigate", {"url": url, "main_frame": True}),
        ("page.title", {"title": f"Order ticket {sym} - OMS", "url": url}),
        ("input.submit", {"selector": "form#ticket", "action": "/api/orders", "method": "post"}),
        (
            "net.request",
            {
                "url": f"https://{HOST}/api/orders",
                "method": "POST",
                "post_data": f"symbol={sym}&side={side}&qty={qty}&price={px}",
            },
        ),  # fmt: skip
        (
            "net.response",
            {
                "url": f"https://{HOST}/api/orders",
                "status": 201,
                "mime": "application/json",
                "body": body,
                "body_encoding": "text",
            },
        ),  # fmt: skip
        ("page.console", {"level": "info", "text": f"{side} {qty} {sym} @ {px}: {order} {note}"}),
    ]
