"""Extraction from network events: requests, responses and WebSocket traffic.

Bodies are indexed only when they are text, within ``Limits.body_bytes``; received WebSocket
frames over ``Limits.ws_received_bytes`` (market-data style firehoses) stay in the journal
but out of the index. Token values in URLs and bodies are indexed as tokens, never as text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.events import Record
from agent.index.rows import Row
from agent.index.text import TEXT_MIMES, parse_body, url_text, url_tokens

if TYPE_CHECKING:
    from agent.index.extract import Extractor, Handler


def _http_row(
    x: Extractor, rec: Record, action: str, url: str, lead: str, body: object, **kw: Any
) -> Row:
    """A request/response row: text is ``lead``, the URL's words and a string ``body``'s text;
    tokens are the URL's, then the body's."""
    text, toks = "", url_tokens(url)
    if isinstance(body, str) and body:
        text, btoks = parse_body(body, x.limits.body_bytes)
        toks += btoks
    return x.row(rec, action, url, text=f"{lead} {url_text(url)} {text}".strip(), tokens=toks, **kw)


def _request(x: Extractor, rec: Record) -> Row | None:
    p = rec.payload
    url = str(p.get("url") or "")
    method = str(p.get("method") or "").upper()
    return _http_row(x, rec, "request", url, method, p.get("post_data"), method=method)


def _response(x: Extractor, rec: Record) -> Row | None:
    p = rec.payload
    url = str(p.get("url") or "")
    status = p.get("status")
    body, mime = p.get("body"), str(p.get("mime") or "")
    indexable = (
        isinstance(body, str)
        and p.get("body_encoding", "text") == "text"
        and any(m in mime for m in TEXT_MIMES)
        and len(body) <= x.limits.body_bytes
    )
    st = int(status) if isinstance(status, int) else None
    lead = "" if st is None else str(st)
    return _http_row(x, rec, "response", url, lead, body if indexable else None, status=st)


def _ws_frame(x: Extractor, rec: Record) -> Row | None:
    p = rec.payload
    data = p.get("data")
    direction = str(p.get("direction") or "")
    if not isinstance(data, str) or not data:
        return None
    sent = direction in ("sent", "out", "send")
    if not sent and len(data) > x.limits.ws_received_bytes:
        return None  # market-data style firehose: the journal keeps it, the index does not
    text, toks = parse_body(data, x.limits.body_bytes)
    url = x.page_url.get(rec.page or "", "")
    return x.row(
        rec,
        "ws_sent" if sent else "ws_received",
        url,
        text=f"ws {'sent' if sent else 'received'} {text}",
        tokens=toks,
    )


def _ws_open(x: Extractor, rec: Record) -> Row | None:
    url = str(rec.payload.get("url") or "")
    return x.row(rec, "ws_open", url, text=f"websocket {url_text(url)}", tokens=url_tokens(url))


HANDLERS: dict[str, Handler] = {
    "net.request": _request,
    "net.response": _response,
    "net.ws_frame": _ws_frame,
    "net.ws_open": _ws_open,
}
