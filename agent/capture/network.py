"""HTTP request/response pairs, bodies, redirects, failures, WebSocket frames and assets.

Network events are held back for a short delay (one recorder flush plus a margin) and then
released in arrival order, so that the click which caused a request - reported by the
recorder in its next batch - is known when the request's ``cause`` is linked.

Bodies: ``Network.getResponseBody`` after ``loadingFinished``; for fetch/XHR responses the
page may never read (``loadingFinished`` never fires for them) the body is taken at the
``Fetch`` response stage instead, when its ``Content-Length`` is known and within the cap
(an unbounded or streaming response is never held back).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from agent.capture.assets import ASSET_TYPES
from agent.capture.websocket import WebSocketCapture
from agent.events import Event

if TYPE_CHECKING:
    from agent.capture.engine import CaptureEngine
    from agent.capture.state import Target

log = structlog.get_logger(__name__)

FETCH_TYPES = ("Fetch", "XHR")
_TIMING_KEYS = (
    "dnsStart",
    "dnsEnd",
    "connectStart",
    "connectEnd",
    "sslStart",
    "sslEnd",
    "sendStart",
    "sendEnd",
    "receiveHeadersStart",
    "receiveHeadersEnd",
)


@dataclass
class _Req:
    rid: str
    page: str
    frame: str | None
    url: str
    resource_type: str
    start_ts: float
    opener: str | None
    response: dict[str, Any] | None = None
    raw_response_headers: dict[str, Any] | None = None
    fetch_body: tuple[bytes, bool] | None = None  # (bytes, was base64)
    request_event: Event | None = None
    done: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


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


def _us(ms: float) -> int:
    return int(round(ms * 1000))


def _initiator(init: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": init.get("type", "other")}
    if init.get("url"):
        out["url"] = init["url"]
    stack = init.get("stack")
    frames: list[dict[str, Any]] = []
    while isinstance(stack, dict) and len(frames) < 8:
        for cf in stack.get("callFrames", [])[: 8 - len(frames)]:
            frames.append(
                {
                    "fn": cf.get("functionName", ""),
                    "url": cf.get("url", ""),
                    "line": int(cf.get("lineNumber", 0)),
                }
            )
        stack = stack.get("parent")
    if frames:
        out["stack"] = frames
    return out


class NetworkCapture:
    """Per-engine network state; fed by ``handle`` with ``Network.*``/``Fetch.*`` events."""

    def __init__(self, engine: CaptureEngine) -> None:
        self.e = engine
        self.cfg = engine.cfg
        self.ws = WebSocketCapture(engine.cfg)
        self._reqs: dict[str, _Req] = {}
        self._out: deque[tuple[int, Event, bool]] = deque()
        self.delay_ns = (engine.cfg.flush_ms + 250) * 1_000_000

    # -- the delayed, ordered output ------------------------------------------------------
    def _queue(
        self,
        kind: str,
        payload: dict[str, Any],
        page: str,
        frame: str | None,
        t_utc_ns: int | None = None,
        link: bool = False,
    ) -> Event:
        utc, mono = self.e.emitter.stamp(t_utc_ns)
        ev = Event(kind=kind, payload=payload, t_utc_ns=utc, t_mono_ns=mono, page=page, frame=frame)
        self._out.append((self.e.clock.mono_ns() + self.delay_ns, ev, link))
        return ev

    def release(self, force: bool = False) -> None:
        """Emit every held event whose delay has passed (all of them when ``force``)."""
        now = self.e.clock.mono_ns()
        while self._out and (force or self._out[0][0] <= now):
            _, ev, link = self._out.popleft()
            if link and ev.page is not None:
                opener = self.e.opener_of(ev.page)
                act = self.e.causes.link(ev.page, ev.frame, ev.t_utc_ns, opener)
                ev.payload["cause"] = act.ref() if act else None
            self.e.emitter.push(ev)
        for page, frame, note in self.ws.flush(self.e.clock.utc_ns()):
            self.e.emitter.emit("capture.degraded", note, page=page, frame=frame)

    def finish(self) -> None:
        """At stop: responses still waiting for a body are emitted as incomplete."""
        for req in list(self._reqs.values()):
            if req.response is not None and not req.done:
                self._emit_response(req, None, "capture stopped before the body completed")
        self._reqs.clear()
        self.release(force=True)

    # -- dispatch ------------------------------------------------------------------------
    def handle(self, method: str, p: dict[str, Any], t: Target) -> None:
        """Route one ``Network.*`` or ``Fetch.*`` event."""
        name = method.split(".", 1)[1]
        fn = getattr(self, "_on_" + name, None)
        if fn is not None:
            fn(p, t)

    def _on_requestWillBeSent(self, p: dict[str, Any], t: Target) -> None:  # noqa: N802
        rid = p["requestId"]
        req_info = p.get("request", {})
        frame = p.get("frameId")
        old = self._reqs.get(rid)
        redirect = p.get("redirectResponse")
        if redirect is not None:
            self._queue(
                "net.redirect",
                {
                    "request_id": rid,
                    "from": old.url if old else redirect.get("url", ""),
                    "to": req_info.get("url", ""),
                    "status": int(redirect.get("status", 0)),
                    "headers": redirect.get("headers", {}),
                },
                t.page_id,
                frame,
            )
        wall = p.get("wallTime")
        t_utc = int(wall * 1_000_000_000) if isinstance(wall, int | float) else None
        payload: dict[str, Any] = {
            "request_id": rid,
            "method": req_info.get("method", ""),
            "url": req_info.get("url", ""),
            "headers": req_info.get("headers", {}),
            "resource_type": p.get("type", "Other"),
            "initiator": _initiator(p.get("initiator", {})),
        }
        if redirect is not None:
            payload["redirected_from"] = old.url if old else redirect.get("url", "")
        if req_info.get("hasPostData"):
            post = req_info.get("postData")
            if post is None:
                asyncio.ensure_future(self._post_data(rid, t, payload))
            else:
                self._set_post(payload, post)
        req = _Req(
            rid,
            t.page_id,
            frame,
            payload["url"],
            payload["resource_type"],
            float(p.get("timestamp", 0.0)),
            self.e.opener_of(t.page_id),
        )
        if old is not None:
            req.extra = old.extra
        self._reqs[rid] = req
        req.request_event = self._queue("net.request", payload, t.page_id, frame, t_utc, link=True)

    def _set_post(self, payload: dict[str, Any], post: str) -> None:
        data = post.encode("utf-8", "surrogatepass")
        payload["post_data_size"] = len(data)
        payload["post_data_sha256"] = hashlib.sha256(data).hexdigest()
        if len(data) > self.cfg.body_cap_bytes:
            payload["post_data_truncated"] = True
            post = data[: self.cfg.body_cap_bytes].decode("utf-8", "ignore")
        payload["post_data"] = post

    async def _post_data(self, rid: str, t: Target, payload: dict[str, Any]) -> None:
        try:
            res = await self.e.conn.send(
                "Network.getRequestPostData", {"requestId": rid}, t.session_id, timeout=10
            )
            self._set_post(payload, str(res.get("postData", "")))
        except Exception as exc:
            payload["post_data_error"] = str(exc)[:200]

    def _on_requestWillBeSentExtraInfo(self, p: dict[str, Any], t: Target) -> None:  # noqa: N802
        req = self._reqs.get(p["requestId"])
        if req is not None and req.request_event is not None:
            # Raw headers as sent (cookies included); the mask stage redacts what it must.
            req.request_event.payload["raw_headers"] = p.get("headers", {})

    def _on_responseReceived(self, p: dict[str, Any], t: Target) -> None:  # noqa: N802
        req = self._reqs.get(p["requestId"])
        if req is None:
            return
        req.response = p.get("response", {})
        if req.fetch_body is not None:  # taken at the Fetch stage: the page may never read it
            self._emit_response(req, req.fetch_body, None)

    def _on_responseReceivedExtraInfo(self, p: dict[str, Any], t: Target) -> None:  # noqa: N802
        req = self._reqs.get(p["requestId"])
        if req is not None:
            req.raw_response_headers = p.get("headers", {})

    def _on_loadingFinished(self, p: dict[str, Any], t: Target) -> None:  # noqa: N802
        req = self._reqs.get(p["requestId"])
        if req is None or req.done:
            self._reqs.pop(p["requestId"], None)
            return
        req.extra["encoded_size"] = int(p.get("encodedDataLength", 0))
        req.extra["duration_us"] = max(
            0, int((float(p.get("timestamp", 0)) - req.start_ts) * 1_000_000)
        )
        asyncio.ensure_future(self._body_then_emit(req, t))

    async def _body_then_emit(self, req: _Req, t: Target) -> None:
        body: tuple[bytes, bool] | None = None
        error = None
        try:
            res = await self.e.conn.send(
                "Network.getResponseBody", {"requestId": req.rid}, t.session_id, timeout=30
            )
            b64 = bool(res.get("base64Encoded"))
            raw = str(res.get("body", ""))
            body = (base64.b64decode(raw) if b64 else raw.encode("utf-8", "surrogatepass"), b64)
        except Exception as exc:
            error = str(exc)[:200]
        if not req.done:
            await self._emit_response_async(req, body, error)
        self._reqs.pop(req.rid, None)

    def _on_loadingFailed(self, p: dict[str, Any], t: Target) -> None:  # noqa: N802
        req = self._reqs.pop(p["requestId"], None)
        payload = {
            "request_id": p["requestId"],
            "url": req.url if req else "",
            "error": p.get("errorText", ""),
            "canceled": bool(p.get("canceled")),
            "blocked_reason": p.get("blockedReason"),
            "resource_type": p.get("type", "Other"),
        }
        if req is not None and req.response is not None and not req.done:
            payload["status"] = int(req.response.get("status", 0))
        self._queue(
            "net.failed", payload, req.page if req else t.page_id, req.frame if req else None
        )

    # -- Fetch stage: bodies the page may never read -----------------------------------
    def _on_requestPaused(self, p: dict[str, Any], t: Target) -> None:  # noqa: N802
        asyncio.ensure_future(self._paused(p, t))

    async def _paused(self, p: dict[str, Any], t: Target) -> None:
        fid = p["requestId"]
        try:
            status = p.get("responseStatusCode")
            headers = {h["name"].lower(): h["value"] for h in p.get("responseHeaders", [])}
            length = headers.get("content-length", "")
            wanted = (
                status is not None
                and not 300 <= int(status) < 400
                and length.isdigit()
                and int(length) <= self.cfg.body_cap_bytes
                and "event-stream" not in headers.get("content-type", "")
            )
            if wanted:
                res = await self.e.conn.send(
                    "Fetch.getResponseBody", {"requestId": fid}, t.session_id, timeout=10
                )
                b64 = bool(res.get("base64Encoded"))
                raw = str(res.get("body", ""))
                data = base64.b64decode(raw) if b64 else raw.encode("utf-8", "surrogatepass")
                req = self._reqs.get(p.get("networkId", ""))
                if req is not None:
                    req.fetch_body = (data, b64)
        except Exception as exc:
            log.debug("capture.fetch_body_failed", error=str(exc)[:200])
        finally:
            # Never leave the page waiting on us.
            self.e.conn.fire(
                "Fetch.continueResponse"
                if p.get("responseStatusCode") is not None
                else "Fetch.continueRequest",
                {"requestId": fid},
                t.session_id,
            )

    # -- responses ------------------------------------------------------------------------
    def _response_payload(self, req: _Req) -> dict[str, Any]:
        r = req.response or {}
        payload: dict[str, Any] = {
            "request_id": req.rid,
            "url": r.get("url", req.url),
            "status": int(r.get("status", 0)),
            "status_text": r.get("statusText", ""),
            "headers": r.get("headers", {}),
            "mime": r.get("mimeType", ""),
            "protocol": r.get("protocol", ""),
            "remote_ip": r.get("remoteIPAddress", ""),
            "from_cache": bool(r.get("fromDiskCache") or r.get("fromPrefetchCache")),
            "resource_type": req.resource_type,
        }
        if req.raw_response_headers is not None:
            payload["raw_headers"] = req.raw_response_headers
        timing = r.get("timing")
        if isinstance(timing, dict):
            payload["timing_us"] = {
                k: _us(float(timing[k]))
                for k in _TIMING_KEYS
                if isinstance(timing.get(k), int | float)
            }
        payload.update(req.extra)
        return payload

    async def _emit_response_async(
        self, req: _Req, body: tuple[bytes, bool] | None, error: str | None
    ) -> None:
        if (
            body is not None
            and self.cfg.assets
            and req.resource_type in ASSET_TYPES
            and len(body[0]) <= self.cfg.asset_max_bytes
        ):
            r = req.response or {}
            try:
                digest, _new = await asyncio.to_thread(self.e.assets.put, body[0])
            except OSError as exc:
                error = f"asset store failed: {exc}"
            else:
                self._queue(
                    "net.asset",
                    {
                        "sha256": digest,
                        "url": r.get("url", req.url),
                        "mime": r.get("mimeType", ""),
                        "size": len(body[0]),
                        "request_id": req.rid,
                    },
                    req.page,
                    req.frame,
                )
                self._emit_response(req, None, None, asset=digest, size=len(body[0]))
                return
        self._emit_response(req, body, error)

    def _emit_response(
        self,
        req: _Req,
        body: tuple[bytes, bool] | None,
        error: str | None,
        *,
        asset: str | None = None,
        size: int | None = None,
    ) -> None:
        req.done = True
        payload = self._response_payload(req)
        if asset is not None:
            payload["body_sha256"] = asset
            payload["body_size"] = size
            payload["asset"] = asset
        elif body is not None:
            data, _b64 = body
            payload["body_size"] = len(data)
            payload["body_sha256"] = hashlib.sha256(data).hexdigest()
            cap = self.cfg.body_cap_bytes
            payload["body_truncated"] = len(data) > cap
            text = _as_text(data[:cap], payload["mime"]) if _texty(payload["mime"]) else None
            if text is None:
                payload["body"] = base64.b64encode(data[:cap]).decode()
                payload["body_encoding"] = "base64"
            else:
                payload["body"] = text
                payload["body_encoding"] = "text"
        else:
            payload["body"] = None
            payload["body_error"] = error or "no body"
        self._queue("net.response", payload, req.page, req.frame)

    # -- WebSockets -------------------------------------------------------------------
    def _on_webSocketCreated(self, p: dict[str, Any], t: Target) -> None:  # noqa: N802
        frame = None
        payload = self.ws.created(p["requestId"], p.get("url", ""), t.page_id, frame)
        payload["initiator"] = _initiator(p.get("initiator", {}))
        self._queue("net.ws_open", payload, t.page_id, frame)

    def _ws_frame(self, p: dict[str, Any], t: Target, direction: str) -> None:
        now = self.e.clock.utc_ns()
        frame_payload, note = self.ws.frame(p["requestId"], direction, p.get("response", {}), now)
        if note is not None:
            self.e.emitter.emit("capture.degraded", note, page=t.page_id)
        if frame_payload is not None:
            self._queue(
                "net.ws_frame", frame_payload, t.page_id, None, now, link=direction == "sent"
            )

    def _on_webSocketFrameSent(self, p: dict[str, Any], t: Target) -> None:  # noqa: N802
        self._ws_frame(p, t, "sent")

    def _on_webSocketFrameReceived(self, p: dict[str, Any], t: Target) -> None:  # noqa: N802
        self._ws_frame(p, t, "received")

    def _on_webSocketFrameError(self, p: dict[str, Any], t: Target) -> None:  # noqa: N802
        self._queue(
            "net.failed",
            {
                "request_id": p["requestId"],
                "url": "",
                "error": p.get("errorMessage", ""),
                "websocket": True,
            },
            t.page_id,
            None,
        )

    def _on_webSocketClosed(self, p: dict[str, Any], t: Target) -> None:  # noqa: N802
        payload, note = self.ws.closed(p["requestId"], self.e.clock.utc_ns())
        if note is not None:
            self.e.emitter.emit("capture.degraded", note, page=t.page_id)
        self._queue("net.ws_close", payload, t.page_id, None)
