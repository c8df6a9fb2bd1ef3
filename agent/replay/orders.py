"""Orders in a recorded session: requests to the order endpoints, in words.

An order is an HTTP request whose URL matches one of ``replay.report_order_urls`` (shell
patterns, e.g. ``*/api/orders*``), or a WebSocket message the page sent whose JSON ``type``
is one of ``replay.report_order_ws_types``. Its fields (symbol, side, quantity, price,
account) are read from the recorded body, JSON or form-encoded, as recorded: a masked field
is shown as its token or ``[redacted]``, never anything else.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from agent.events import Record

FIELDS = ("symbol", "side", "quantity", "price", "account")


@dataclass(frozen=True)
class Order:
    """One order as the page sent it."""

    seq: int
    t_utc_ns: int
    page: str | None
    channel: str  # "HTTP POST /api/orders" or "WebSocket"
    fields: dict[str, str] = field(default_factory=dict)
    action_id: str = ""  # the user action that caused it, when the capture linked one
    status: str = ""  # HTTP status or the WebSocket acknowledgement, when recorded

    def text(self) -> str:
        """``order SELL 250 AAPL at 187.25 (account tok_…)`` with field labels kept for
        fields that are missing."""
        f = self.fields
        words = [
            f"side {f.get('side', '(not recorded)')}",
            f"quantity {f.get('quantity', '(not recorded)')}",
            f"symbol {f.get('symbol', '(not recorded)')}",
            f"price {f.get('price', '(not recorded)')}",
        ]
        acct = f" (account {f['account']})" if "account" in f else ""
        return "order sent over " + self.channel + ": " + ", ".join(words) + acct


def sent_fields(body: Any) -> dict[str, str]:
    """The top-level fields of a recorded request body (a JSON object or form-encoded), as
    recorded (masked values stay tokens or ``[redacted]``); empty for anything else."""
    if not isinstance(body, str) or not body:
        return {}
    doc: Any
    try:
        doc = json.loads(body)
    except ValueError:
        doc = dict(parse_qsl(body))
    if not isinstance(doc, dict):
        return {}
    return {str(k): str(v) for k, v in doc.items() if isinstance(v, str | int | float) and v != ""}


def _body_fields(body: Any) -> dict[str, str]:
    """The order fields of a recorded body."""
    sent = sent_fields(body)
    return {k: sent[k] for k in FIELDS if k in sent}


def _ws_order(r: Record, types: tuple[str, ...]) -> dict[str, str] | None:
    p = r.payload
    if p.get("direction") != "sent" or not isinstance(p.get("data"), str):
        return None
    try:
        doc = json.loads(p["data"])
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("type") not in types:
        return None
    return _body_fields(p["data"])


def find_orders(
    records: list[Record],
    url_patterns: tuple[str, ...],
    ws_types: tuple[str, ...],
    statuses: dict[str, str] | None = None,
) -> list[Order]:
    """Every order in ``records`` (``statuses``: request id -> outcome text)."""
    out: list[Order] = []
    statuses = statuses or {}
    for r in records:
        p = r.payload
        fields: dict[str, str] | None = None
        channel = ""
        if r.kind == "net.request" and any(
            fnmatch.fnmatchcase(str(p.get("url", "")), pat) for pat in url_patterns
        ):
            fields = _body_fields(p.get("post_data"))
            channel = f"HTTP {p.get('method')} {urlsplit(str(p.get('url'))).path}"
        elif r.kind == "net.ws_frame":
            fields = _ws_order(r, ws_types)
            channel = "WebSocket"
        if fields is None:
            continue
        cause = p.get("cause") if isinstance(p.get("cause"), dict) else {}
        out.append(
            Order(
                seq=r.seq,
                t_utc_ns=r.t_utc_ns,
                page=r.page,
                channel=channel,
                fields=fields,
                action_id=str((cause or {}).get("action_id") or ""),
                status=statuses.get(str(p.get("request_id")), ""),
            )
        )
    return out
