"""HTTP request/response pairs, redirects, failures and WebSocket frames, as ``net.*`` events.

Each request is paired with its response by CDP request id; the response is emitted once its
body is known (see :mod:`agent.capture.bodies`), stored as an asset when it is a stylesheet,
font or image. Every ``net.*`` event goes through :class:`agent.capture.held.HeldEvents`, so
the user action that caused a request is known when its ``cause`` is linked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.capture.assets import ASSET_TYPES
from agent.capture.bodies import Body, decode_body, paused_body, set_body, set_post_data
from agent.capture.cause import initiator_of
from agent.capture.held import HeldEvents
from agent.capture.websocket import WebSocketCapture
from agent.capture.workers import WORKER_TYPES, owning_page, worker_ref
from agent.events import Event

if TYPE_CHECKING:
    from agent.capture.context import CaptureContext
    from agent.capture.state import Target

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

Handler = Callable[[dict[str, Any], "Target"], None]


@dataclass
class _Req:
    rid: str
    page: str | None
    frame: str | None
    url: str
    resource_type: str
    start_ts: float
    opener: str | None
    response: dict[str, Any] | None = None
    raw_response_headers: dict[str, Any] | None = None
    fetch_body: Body | None = None
    request_event: Event | None = None
    done: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _us(ms: float) -> int:
    return int(round(ms * 1000))


class NetworkCapture:
    """Per-engine network state, fed with ``Network.*``/``Fetch.*`` events (see ``handlers``)."""

    def __init__(self, ctx: CaptureContext) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.ws = WebSocketCapture(ctx.cfg)
        self.held = HeldEvents(ctx)
        self._reqs: dict[str, _Req] = {}

    def handlers(self) -> dict[str, Handler]:
        """The CDP events this part handles, by method name."""
        return {
            "Network.requestWillBeSent": self._request_will_be_sent,
            "Network.requestWillBeSentExtraInfo": self._request_extra_info,
            "Network.responseReceived": self._response_received,
            "Network.responseReceivedExtraInfo": self._response_extra_info,
            "Network.loadingFinished": self._loading_finished,
            "Network.loadingFailed": self._loading_failed,
            "Fetch.requestPaused": self._request_paused,
            "Network.webSocketCreated": self._ws_created,
            "Network.webSocketFrameSent": self._ws_frame_sent,
            "Network.webSocketFrameReceived": self._ws_frame_received,
            "Network.webSocketFrameError": self._ws_frame_error,
            "Network.webSocketClosed": self._ws_closed,
        }

    def release(self, force: bool = False) -> None:
        """Emit every held event whose delay has passed (all of them when ``force``)."""
        self.held.release(force)
        for page, frame, note in self.ws.flush(self.ctx.clock.utc_ns()):
            self.ctx.emitter.emit("capture.degraded", note, page=page, frame=frame)

    def finish(self) -> None:
        """At stop: responses still waiting for a body are emitted as incomplete."""
        for req in list(self._reqs.values()):
            if req.response is not None and not req.done:
                self._emit_response(req, None, "capture stopped before the body completed")
        self._reqs.clear()
        self.release(force=True)

    # -- requests -------------------------------------------------------------------------
    def _request_will_be_sent(self, p: dict[str, Any], t: Target) -> None:
        rid = p["requestId"]
        req_info = p.get("request", {})
        frame = p.get("frameId")
        page = owning_page(t)
        old = self._reqs.get(rid)
        redirect = p.get("redirectResponse")
        if redirect is not None:
            self._redirected(rid, old, redirect, req_info.get("url", ""), page, frame)
        wall = p.get("wallTime")
        t_utc = int(wall * 1_000_000_000) if isinstance(wall, int | float) else None
        payload: dict[str, Any] = {
            "request_id": rid,
            "method": req_info.get("method", ""),
            "url": req_info.get("url", ""),
            "headers": req_info.get("headers", {}),
            "resource_type": p.get("type", "Other"),
            "initiator": initiator_of(p.get("initiator", {})),
        }
        if t.type in WORKER_TYPES:
            payload["worker"] = worker_ref(t)
        if redirect is not None:
            payload["redirected_from"] = old.url if old else redirect.get("url", "")
        if req_info.get("hasPostData"):
            post = req_info.get("postData")
            if post is None:
                self.ctx.tasks.spawn(self._post_data(rid, t, payload))
            else:
                set_post_data(payload, post, self.cfg.body_cap_bytes)
        req = _Req(
            rid,
            page,
            frame,
            payload["url"],
            payload["resource_type"],
            float(p.get("timestamp", 0.0)),
            self.ctx.targets.opener_of(page) if page is not None else None,
        )
        if old is not None:
            req.extra = old.extra
        elif "worker" in payload:  # the response names the worker too
            req.extra["worker"] = payload["worker"]
        self._reqs[rid] = req
        req.request_event = self.held.queue("net.request", payload, page, frame, t_utc, link=True)

    def _redirected(
        self,
        rid: str,
        old: _Req | None,
        redirect: dict[str, Any],
        to: str,
        page: str | None,
        frame: str | None,
    ) -> None:
        self.held.queue(
            "net.redirect",
            {
                "request_id": rid,
                "from": old.url if old else redirect.get("url", ""),
                "to": to,
                "status": int(redirect.get("status", 0)),
                "headers": redirect.get("headers", {}),
            },
            page,
            frame,
        )

    async def _post_data(self, rid: str, t: Target, payload: dict[str, Any]) -> None:
        try:
            res = await self.ctx.cdp.send(
                "Network.getRequestPostData", {"requestId": rid}, t.session_id, timeout=10
            )
            set_post_data(payload, str(res.get("postData", "")), self.cfg.body_cap_bytes)
        except Exception as exc:
            payload["post_data_error"] = str(exc)[:200]

    def _request_extra_info(self, p: dict[str, Any], t: Target) -> None:
        req = self._reqs.get(p["requestId"])
        if req is not None and req.request_event is not None:
            # Raw headers as sent (cookies included); the mask stage redacts what it must.
            req.request_event.payload["raw_headers"] = p.get("headers", {})

    def _response_received(self, p: dict[str, Any], t: Target) -> None:
        req = self._reqs.get(p["requestId"])
        if req is None:
            return
        req.response = p.get("response", {})
        if req.fetch_body is not None:  # taken at the Fetch stage: the page may never read it
            self._emit_response(req, req.fetch_body, None)

    def _response_extra_info(self, p: dict[str, Any], t: Target) -> None:
        req = self._reqs.get(p["requestId"])
        if req is not None:
            req.raw_response_headers = p.get("headers", {})

    def _loading_finished(self, p: dict[str, Any], t: Target) -> None:
        req = self._reqs.get(p["requestId"])
        if req is None or req.done:
            self._reqs.pop(p["requestId"], None)
            return
        req.extra["encoded_size"] = int(p.get("encodedDataLength", 0))
        req.extra["duration_us"] = max(
            0, int((float(p.get("timestamp", 0)) - req.start_ts) * 1_000_000)
        )
        self.ctx.tasks.spawn(self._body_then_emit(req, t))

    async def _body_then_emit(self, req: _Req, t: Target) -> None:
        body: Body | None = None
        error = None
        try:
            res = await self.ctx.cdp.send(
                "Network.getResponseBody", {"requestId": req.rid}, t.session_id, timeout=30
            )
            body = decode_body(res)
        except Exception as exc:
            error = str(exc)[:200]
        if not req.done:
            await self._emit_response_async(req, body, error)
        self._reqs.pop(req.rid, None)

    def _loading_failed(self, p: dict[str, Any], t: Target) -> None:
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
        self.held.queue(
            "net.failed", payload, req.page if req else owning_page(t), req.frame if req else None
        )
        if (
            payload["resource_type"] == "Document"
            and not payload["canceled"]
            and t.is_page
            and req is not None
            and req.frame == t.target_id  # a page's main frame has the page's target id
        ):
            self.ctx.emitter.emit(
                "page.load_failed",
                {"url": req.url, "error": payload["error"]},
                page=t.page_id,
                frame=req.frame,
            )

    # -- Fetch stage: bodies the page may never read -----------------------------------
    def _request_paused(self, p: dict[str, Any], t: Target) -> None:
        self.ctx.tasks.spawn(self._paused(p, t))

    async def _paused(self, p: dict[str, Any], t: Target) -> None:
        body = await paused_body(self.ctx.cdp, p, t.session_id, self.cfg.body_cap_bytes)
        req = self._reqs.get(p.get("networkId", ""))
        if body is not None and req is not None:
            req.fetch_body = body

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

    async def _emit_response_async(self, req: _Req, body: Body | None, error: str | None) -> None:
        if (
            body is not None
            and self.cfg.assets
            and req.resource_type in ASSET_TYPES
            and len(body[0]) <= self.cfg.asset_max_bytes
        ):
            r = req.response or {}
            try:
                digest, _new = await asyncio.to_thread(self.ctx.assets.put, body[0])
            except OSError as exc:
                error = f"asset store failed: {exc}"
            else:
                self.held.queue(
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
        body: Body | None,
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
            set_body(payload, body[0], self.cfg.body_cap_bytes)
        else:
            payload["body"] = None
            payload["body_error"] = error or "no body"
        self.held.queue("net.response", payload, req.page, req.frame)

    # -- WebSockets -------------------------------------------------------------------
    def _ws_created(self, p: dict[str, Any], t: Target) -> None:
        frame = None
        payload = self.ws.created(p["requestId"], p.get("url", ""), owning_page(t), frame)
        payload["initiator"] = initiator_of(p.get("initiator", {}))
        self.held.queue("net.ws_open", payload, owning_page(t), frame)

    def _ws_frame(self, p: dict[str, Any], t: Target, direction: str) -> None:
        now = self.ctx.clock.utc_ns()
        frame_payload, note = self.ws.frame(p["requestId"], direction, p.get("response", {}), now)
        if note is not None:
            self.ctx.emitter.emit("capture.degraded", note, page=owning_page(t))
        if frame_payload is not None:
            self.held.queue(
                "net.ws_frame", frame_payload, owning_page(t), None, now, link=direction == "sent"
            )

    def _ws_frame_sent(self, p: dict[str, Any], t: Target) -> None:
        self._ws_frame(p, t, "sent")

    def _ws_frame_received(self, p: dict[str, Any], t: Target) -> None:
        self._ws_frame(p, t, "received")

    def _ws_frame_error(self, p: dict[str, Any], t: Target) -> None:
        self.held.queue(
            "net.failed",
            {
                "request_id": p["requestId"],
                "url": "",
                "error": p.get("errorMessage", ""),
                "websocket": True,
            },
            owning_page(t),
            None,
        )

    def _ws_closed(self, p: dict[str, Any], t: Target) -> None:
        payload, note = self.ws.closed(p["requestId"], self.ctx.clock.utc_ns())
        if note is not None:
            self.ctx.emitter.emit("capture.degraded", note, page=owning_page(t))
        self.held.queue("net.ws_close", payload, owning_page(t), None)
