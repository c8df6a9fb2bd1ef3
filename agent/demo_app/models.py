"""What the demo app records about the traffic it served (read by tests after a session)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Channel = Literal["ws", "rest"]
Source = Literal["ticket", "popup"]

_PRICE = re.compile(r"^\d{1,7}(\.\d{1,4})?$")
_SYMBOL = re.compile(r"^[A-Z]{1,6}$")


@dataclass(frozen=True, slots=True)
class Order:
    """An order the app accepted; ``source`` is ``popup`` for a confirmed big order."""

    order_id: str
    channel: Channel
    source: Source
    user: str
    symbol: str
    side: str
    quantity: int
    price: str
    account: str
    t_utc_ns: int


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """One POST /login; the password is never kept."""

    username: str
    ok: bool
    t_utc_ns: int


@dataclass(frozen=True, slots=True)
class Lookup:
    """One client lookup; ``found`` is the matched client's account or None."""

    user: str
    ssn_last4: str
    account: str
    found: str | None
    t_utc_ns: int


@dataclass(frozen=True, slots=True)
class OrderFields:
    """The validated fields of an order ticket."""

    symbol: str
    side: str
    quantity: int
    price: str
    account: str


def parse_order(data: Any) -> OrderFields:
    """Validate a JSON order ticket; ``ValueError`` names the first bad field."""
    if not isinstance(data, dict):
        raise ValueError("order must be a JSON object")
    symbol = str(data.get("symbol", "")).strip().upper()
    if not _SYMBOL.match(symbol):
        raise ValueError("bad symbol")
    side = str(data.get("side", "")).upper()
    if side not in ("BUY", "SELL"):
        raise ValueError("bad side")
    qty_raw = str(data.get("quantity", "")).strip()
    if not qty_raw.isdigit() or not 0 < int(qty_raw) <= 10_000_000:
        raise ValueError("bad quantity")
    price = str(data.get("price", "")).strip()
    if not _PRICE.match(price):
        raise ValueError("bad price")
    account = str(data.get("account", "")).strip()
    if not account or len(account) > 40:
        raise ValueError("bad account")
    return OrderFields(symbol, side, int(qty_raw), price, account)
