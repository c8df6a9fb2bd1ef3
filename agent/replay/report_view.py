"""What ``report.html`` says about one session, gathered from a verified session and its
records (:func:`session_view`), so the export and ``verify-bundle`` build the same report
from the same inputs: the segments, and the signed manifest's session entry, thumbnail
outcomes and report settings.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from agent.actions.model import Action
from agent.events import Record
from agent.mask.masker import tokens_in
from agent.replay.orders import Order, find_orders, sent_fields
from agent.replay.session import ReplaySession

_MASK_GROUPS = {
    "rrweb.input": "typed field values",
    "input.key": "keystrokes",
    "net.request": "request URLs, headers and bodies",
    "net.response": "response headers and bodies",
    "net.ws_frame": "WebSocket messages",
    "net.redirect": "redirects",
    "rrweb.full_snapshot": "page text and attributes",
    "rrweb.mutation": "page text and attributes",
}
_REDACTED = "[redacted]"


@dataclass(frozen=True)
class ReportSettings:
    """How the report recognises orders and pictures moments (recorded in the manifest so
    the verifier uses the same)."""

    order_urls: tuple[str, ...] = ()
    order_ws_types: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON for the manifest."""
        return {"order_urls": list(self.order_urls), "order_ws_types": list(self.order_ws_types)}

    @classmethod
    def from_dict(cls, d: Any) -> ReportSettings:
        """From the manifest (an absent entry: no order patterns)."""
        d = d if isinstance(d, dict) else {}
        urls, types = d.get("order_urls"), d.get("order_ws_types")
        return cls(
            tuple(str(x) for x in urls) if isinstance(urls, list) else (),
            tuple(str(x) for x in types) if isinstance(types, list) else (),
        )


@dataclass
class SessionView:
    """Everything the report shows about a session."""

    meta: dict[str, Any]
    integrity: dict[str, Any]
    actions: list[Action]
    orders: list[Order]
    network: list[dict[str, Any]]
    gaps: list[dict[str, Any]]
    masking: dict[str, Counter[str]]  # "tokenized" / "redacted" -> group -> count
    origins: list[str]
    downloads: list[str]
    entry: dict[str, Any]  # the session's manifest entry (retention)
    sent: dict[int, dict[str, str]]  # request seq -> the fields its body sent, as recorded
    thumbs: dict[str, dict[str, Any]] = field(default_factory=dict)  # seq -> outcome


def _origins(records: list[Record]) -> list[str]:
    """Origins of the pages and frames the person had open, in order of first load."""
    seen: dict[str, None] = {}
    for r in records:
        if r.kind == "page.navigate":
            u = urlsplit(str(r.payload.get("url") or ""))
            if u.scheme in ("http", "https") and u.netloc:
                seen.setdefault(f"{u.scheme}://{u.netloc}", None)
    return list(seen)


def _masking(records: list[Record]) -> dict[str, Counter[str]]:
    """How many values were tokenized and redacted, per kind of value (never the values)."""
    out: dict[str, Counter[str]] = {"tokenized": Counter(), "redacted": Counter()}
    for r in records:
        if r.kind not in _MASK_GROUPS:
            continue
        text = json.dumps(r.payload, ensure_ascii=False)
        group = _MASK_GROUPS[r.kind]
        n_tok = len(tokens_in(text))
        n_red = text.count(_REDACTED)
        if n_tok:
            out["tokenized"][group] += n_tok
        if n_red:
            out["redacted"][group] += n_red
    return out


def _statuses(rs: ReplaySession) -> dict[str, str]:
    """request id -> its outcome as the report words it."""
    out: dict[str, str] = {}
    for rid, n in rs.network.items():
        if n.get("failed"):
            out[rid] = f"failed ({n['failed']})"
        elif n.get("status") is not None:
            out[rid] = str(n["status"])
    return out


def session_view(
    rs: ReplaySession,
    records: list[Record],
    entry: dict[str, Any],
    thumbs: dict[str, dict[str, Any]],
    settings: ReportSettings,
    integrity: dict[str, Any] | None = None,
) -> SessionView:
    """Gather what the report shows about ``rs`` (``integrity``: the badge to show, default
    the session's own)."""
    gaps = [e for e in rs.timeline if e["cat"] in ("gap", "unverified", "capture")]
    gaps += [{"label": f"segment {w['segment']} withheld: {w['reason']}"} for w in rs.withheld]
    return SessionView(
        meta={**rs.metadata(), "screenshots": len(rs.screenshots)},
        integrity=integrity if integrity is not None else rs.integrity(),
        actions=rs.derived_actions,  # derived once, when the session was opened
        orders=find_orders(records, settings.order_urls, settings.order_ws_types, _statuses(rs)),
        network=[n for n in rs.network.values() if n.get("seq") is not None],
        gaps=gaps,
        masking=_masking(records),
        origins=_origins(records),
        downloads=[
            str(r.payload.get("name") or "(unnamed)") for r in records if r.kind == "page.download"
        ],
        entry=entry,
        sent={
            r.seq: f
            for r in records
            if r.kind == "net.request" and (f := sent_fields(r.payload.get("post_data")))
        },
        thumbs=thumbs,
    )
