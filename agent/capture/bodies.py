"""Request and response bodies: post data, response bodies, and the ``Fetch`` response stage.

A body is recorded up to ``body_cap_bytes`` with the SHA-256 and size of the whole of it, as
text when its MIME type is textual and it decodes as UTF-8, else as base64.

For fetch/XHR responses the page may never read (``loadingFinished`` never fires for them)
the body is taken at the ``Fetch`` response stage instead, when its ``Content-Length`` is known
and within the cap (an unbounded or streaming response is never held back).
"""

from __future__ import annotations

import base64
from typing import Any

import structlog

from agent.canonical import sha256_hex
from agent.capture.context import Commands

log = structlog.get_logger(__name__)

FETCH_TYPES = ("Fetch", "XHR")  # resource types intercepted at the Fetch response stage

_TEXT_MIME = (
    "text/",
    "json",
    "xml",
    "javascript",
    "ecmascript",
    "x-www-form-urlencoded",
    "svg",
    "css",
    "html",
    "csv",
    "graphql",
)

Body = tuple[bytes, bool]  # (bytes, was base64 on the wire)


def _texty(mime: str) -> bool:
    m = mime.lower()
    return any(t in m for t in _TEXT_MIME)


def _as_text(data: bytes, mime: str) -> str | None:
    """UTF-8 text, tolerating only a character cut in half by the cap; else None."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8", "strict")
        return None


def decode_body(res: dict[str, Any]) -> Body:
    """The bytes of a ``getResponseBody`` answer (``Network.`` or ``Fetch.``)."""
    b64 = bool(res.get("base64Encoded"))
    raw = str(res.get("body", ""))
    return (base64.b64decode(raw) if b64 else raw.encode("utf-8", "surrogatepass"), b64)


def set_post_data(payload: dict[str, Any], post: str, cap: int) -> None:
    """Fill a ``net.request`` payload's ``post_data*`` fields."""
    data = post.encode("utf-8", "surrogatepass")
    payload["post_data_size"] = len(data)
    payload["post_data_sha256"] = sha256_hex(data)
    if len(data) > cap:
        payload["post_data_truncated"] = True
        post = data[:cap].decode("utf-8", "ignore")
    payload["post_data"] = post


def set_body(payload: dict[str, Any], data: bytes, cap: int) -> None:
    """Fill a ``net.response`` payload's ``body*`` fields (``payload["mime"]`` is set)."""
    payload["body_size"] = len(data)
    payload["body_sha256"] = sha256_hex(data)
    payload["body_truncated"] = len(data) > cap
    text = _as_text(data[:cap], payload["mime"]) if _texty(payload["mime"]) else None
    if text is None:
        payload["body"] = base64.b64encode(data[:cap]).decode()
        payload["body_encoding"] = "base64"
    else:
        payload["body"] = text
        payload["body_encoding"] = "text"


def fetch_patterns() -> list[dict[str, str]]:
    """``Fetch.enable`` patterns: fetch/XHR responses, paused at the response stage."""
    return [
        {"urlPattern": "*", "resourceType": rt, "requestStage": "Response"} for rt in FETCH_TYPES
    ]


async def paused_body(cdp: Commands, p: dict[str, Any], session_id: str, cap: int) -> Body | None:
    """Take the body of a paused fetch/XHR response if it is bounded, then let it continue.

    The request is always continued, whatever happens: the page must never wait on us.
    """
    fid = p["requestId"]
    body = None
    try:
        status = p.get("responseStatusCode")
        headers = {h["name"].lower(): h["value"] for h in p.get("responseHeaders", [])}
        length = headers.get("content-length", "")
        wanted = (
            status is not None
            and not 300 <= int(status) < 400
            and length.isdigit()
            and int(length) <= cap
            and "event-stream" not in headers.get("content-type", "")
        )
        if wanted:
            res = await cdp.send(
                "Fetch.getResponseBody", {"requestId": fid}, session_id, timeout=10
            )
            body = decode_body(res)
    except Exception as exc:
        log.debug("capture.fetch_body_failed", error=str(exc)[:200])
    finally:
        cdp.fire(
            "Fetch.continueResponse"
            if p.get("responseStatusCode") is not None
            else "Fetch.continueRequest",
            {"requestId": fid},
            session_id,
        )
    return body
