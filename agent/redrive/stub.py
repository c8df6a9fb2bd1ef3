"""``--stub-network``: the re-driven front end's API requests answered from the recording,
so a front-end build can be tested without its backend and without side effects.

Scope: requests to the target origins (``--base-url`` and each ``--map`` target). The front
end's own files - a GET for a document, stylesheet, script, image, font, media or the page's
icon whose recorded answer was such a file (or that the recording never saw) - still come from the
target: that is the build under test, served by any static server. They are not served
from the recording because the recording is masked (a secret in a page or a script was
replaced by ``[redacted]``) and archives only some assets. Everything else is answered from
the recorded response - status, the headers that matter, the captured body - matched by
method, path and query, then by method and path, each in recorded order (the last one
answers again once all are used: a poll). A response whose body was cut at the capture cap
is answered with what was captured and listed in ``partial``. A request the recording has no
answer for - and a download, whose body is never recorded - is aborted and listed in
``unmatched``. A WebSocket to a target origin is
answered from its recorded frames: on open, the frames the server pushed before the page
sent anything; after the page's n-th message, the frames that followed the recorded n-th
message, minus the periodic pushes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Request, Route, WebSocketRoute

from agent.events import Record
from agent.redrive.plan import Rewriter, origin_of

FRONTEND_TYPES = frozenset({"document", "stylesheet", "script", "image", "font", "media"})
_FRONTEND_MIME = ("text/html", "text/css", "javascript", "image/", "font/", "audio/", "video/")
_KEPT_HEADERS = frozenset(
    {"content-type", "location", "content-disposition", "cache-control", "content-language"}
)
OPEN_FRAMES = 5
"""At most this many recorded server frames are sent when a stubbed WebSocket opens."""


def frontend_request(request: Request) -> bool:
    """Whether the browser loads this as one of the front end's files: by its resource type,
    or the icon the browser fetches for a page (type ``other``, asking for an image), which a
    recording may lack (the browser fetches it when it likes)."""
    if request.resource_type in FRONTEND_TYPES:
        return True
    accept = request.headers.get("accept", "")
    return request.resource_type == "other" and accept.startswith("image/")


@dataclass
class Exchange:
    """One recorded request and the answer it got."""

    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes | None  # None: no body was captured
    truncated: bool = False
    mime: str = ""

    @property
    def frontend(self) -> bool:
        """Whether the answer was one of the front end's own files."""
        return any(m in self.mime for m in _FRONTEND_MIME)


@dataclass
class Socket:
    """A recorded WebSocket: its URL and its frames in order (``sent``: by the page)."""

    url: str
    frames: list[tuple[bool, str]] = field(default_factory=list)


def _body(p: dict[str, object]) -> bytes | None:
    body = p.get("body")
    if not isinstance(body, str):
        return None
    return base64.b64decode(body) if p.get("body_encoding") == "base64" else body.encode()


def _headers(raw: object) -> dict[str, str]:
    h = raw if isinstance(raw, dict) else {}
    return {str(k): str(v) for k, v in h.items() if str(k).lower() in _KEPT_HEADERS}


def recorded_exchanges(records: list[Record]) -> list[Exchange]:
    """Every recorded request with its answer (a redirect hop is an answer), in order."""
    pending: dict[str, list[tuple[str, str]]] = {}  # request id -> (method, url) not answered
    out: list[Exchange] = []
    for r in records:
        p = r.payload
        rid = str(p.get("request_id") or "")
        if r.kind == "net.request":
            pending.setdefault(rid, []).append((str(p.get("method")), str(p.get("url"))))
        elif r.kind in ("net.redirect", "net.response") and pending.get(rid):
            method, url = pending[rid].pop(0)
            status, headers = int(str(p.get("status") or 0)), _headers(p.get("headers"))
            if r.kind == "net.redirect":
                out.append(Exchange(method, url, status or 302, headers, b""))
                continue
            body, cut, mime = _body(p), bool(p.get("body_truncated")), str(p.get("mime") or "")
            out.append(Exchange(method, url, status or 200, headers, body, cut, mime))
    return out


def recorded_sockets(records: list[Record]) -> list[Socket]:
    """Every recorded WebSocket with its text frames."""
    by_id: dict[str, Socket] = {}
    for r in records:
        rid = str(r.payload.get("request_id") or "")
        if r.kind == "net.ws_open":
            by_id[rid] = Socket(str(r.payload.get("url")))
        elif r.kind == "net.ws_frame" and rid in by_id and isinstance(r.payload.get("data"), str):
            sent = r.payload.get("direction") == "sent"
            by_id[rid].frames.append((sent, str(r.payload["data"])))
    return list(by_id.values())


def _http(url: str) -> str:
    """A WebSocket URL under its page origin's scheme (``ws:`` as ``http:``)."""
    for ws, http in (("ws://", "http://"), ("wss://", "https://")):
        if url.startswith(ws):
            return http + url[len(ws) :]
    return url


def _path_query(url: str) -> tuple[str, str]:
    u = urlsplit(url)
    return u.path or "/", u.query


def _frame_type(data: str) -> str:
    """What kind of message a frame is: its JSON ``type``, else its first 24 characters."""
    try:
        msg = json.loads(data)
    except ValueError:
        return data[:24]
    return str(msg.get("type")) if isinstance(msg, dict) else data[:24]


def socket_replies(sock: Socket) -> tuple[list[str], list[list[str]]]:
    """The frames to send when the socket opens, and after each message the page sends."""
    first_sent = next((i for i, (s, _d) in enumerate(sock.frames) if s), len(sock.frames))
    pushed = [d for s, d in sock.frames[:first_sent] if not s]
    periodic = {_frame_type(d) for d in pushed}
    replies: list[list[str]] = []
    for s, d in sock.frames[first_sent:]:
        if s:
            replies.append([])
        elif _frame_type(d) not in periodic:
            replies[-1].append(d)
    return pushed[:OPEN_FRAMES], replies


class Stub:
    """Answers a context's requests to the target origins from the recording."""

    def __init__(
        self, records: list[Record], rewrite: Rewriter, on_ws_sent: Callable[[str], None]
    ) -> None:
        self.exchanges = recorded_exchanges(records)
        self.sockets = recorded_sockets(records)
        self.downloads = {  # a download's body is not recorded: it cannot be answered
            str(r.payload.get("url")) for r in records if r.kind == "page.download"
        }
        # target origin -> the recorded origin it stands for
        self.targets = {origin_of(to): src for src, to in rewrite.origins.items()}
        self.unmatched: list[str] = []  # "GET /path?query", in the order they were aborted
        self.partial: list[str] = []  # answered with a body cut at the capture cap
        self._used: set[int] = set()
        self._on_ws_sent = on_ws_sent

    async def install(self, context: BrowserContext) -> None:
        """Route the context's requests and WebSockets through the stub."""
        await context.route("**/*", self._route)
        await context.route_web_socket(
            lambda url: origin_of(_http(url)) in self.targets, self._socket
        )

    def _source(self, url: str) -> str:
        """The recorded URL a re-drive URL stands for."""
        o = origin_of(url)
        return self.targets[o] + url[len(o) :]

    def match(self, method: str, url: str, *, take: bool = True) -> Exchange | None:
        """The recorded answer: same path and query first, then same path; in order; the
        last one again when all are used."""
        path, query = _path_query(url)
        same = [
            (i, e)
            for i, e in enumerate(self.exchanges)
            if e.method == method and _path_query(e.url)[0] == path
        ]
        exact = [(i, e) for i, e in same if _path_query(e.url)[1] == query]
        for group in (exact, same):
            free = [(i, e) for i, e in group if i not in self._used]
            if free or group:
                i, e = free[0] if free else group[-1]
                if take:
                    self._used.add(i)
                return e
        return None

    async def _route(self, route: Route, request: Request) -> None:
        if origin_of(request.url) not in self.targets:
            await route.fallback()
            return
        src = self._source(request.url)
        if request.method == "GET" and frontend_request(request):
            seen = self.match("GET", src, take=False)
            if seen is None and src not in self.downloads or seen is not None and seen.frontend:
                await route.fallback()  # the build under test serves its own files
                return
        e = self.match(request.method, src)
        what = f"{request.method} {urlsplit(request.url).path}"
        if urlsplit(request.url).query:
            what += f"?{urlsplit(request.url).query}"
        if e is None:
            self.unmatched.append(what)
            await route.abort()
            return
        if e.truncated or e.body is None:
            self.partial.append(what)
        headers = {
            k: self._target(v) if k.lower() == "location" else v for k, v in e.headers.items()
        }
        await route.fulfill(status=e.status, headers=headers, body=e.body or b"")

    def _target(self, location: str) -> str:
        """A recorded absolute Location moved to its target origin (relative ones stay)."""
        o = origin_of(location)
        for to, src in self.targets.items():
            if o == src:
                return to + location[len(o) :]
        return location

    async def _socket(self, ws: WebSocketRoute) -> None:
        src = self._source(_http(ws.url))
        path, query = _path_query(src)
        sock = next((s for s in self.sockets if _path_query(s.url) == (path, query)), None)
        sock = sock or next((s for s in self.sockets if _path_query(s.url)[0] == path), None)
        if sock is None:
            self.unmatched.append(f"WS {path}")
            await ws.close()
            return
        on_open, replies = socket_replies(sock)
        sent = 0

        def message(_data: str | bytes) -> None:
            nonlocal sent
            self._on_ws_sent(path)
            for d in replies[sent] if sent < len(replies) else []:
                ws.send(d)
            sent += 1

        ws.on_message(message)
        for d in on_open:
            ws.send(d)
