"""The network requests each action caused, from the capture's cause links.

The capture links a request to the user action that most plausibly triggered it
(``cause.action_id`` on ``net.request`` and on sent ``net.ws_frame`` records); the response or
failure that follows under the same ``request_id`` gives its outcome.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent.actions.model import CausedRequest
from agent.events import Record


class CausedRequests:
    """Fed the ``net.*`` records in order; answers "which requests did these action ids
    cause?"."""

    def __init__(self) -> None:
        self._requests: dict[str, dict[str, Any]] = {}
        self._caused: dict[str, list[str]] = {}  # action id -> request keys, in order
        self._ws_urls: dict[str, str] = {}

    def feed(self, r: Record) -> None:
        """Take one ``net.*`` record."""
        p = r.payload
        rid = str(p.get("request_id", ""))
        cause = p.get("cause")
        aid = str(cause.get("action_id") or "") if isinstance(cause, dict) else ""
        if r.kind == "net.request":
            self._requests[rid] = {"seq": r.seq, "method": p.get("method"), "url": p.get("url")}
            if aid:
                self._caused.setdefault(aid, []).append(rid)
        elif r.kind == "net.response" and rid in self._requests:
            status = p.get("status")
            self._requests[rid]["status"] = status if type(status) is int else None
        elif r.kind == "net.failed" and rid in self._requests:
            self._requests[rid]["failed"] = p.get("error") or p.get("error_text") or "failed"
        elif r.kind == "net.ws_open":
            self._ws_urls[rid] = str(p.get("url") or "")
        elif r.kind == "net.ws_frame" and aid and p.get("direction", "sent") == "sent":
            key = f"ws:{r.seq}"
            self._requests[key] = {"seq": r.seq, "method": "WS", "rid": rid, "ws": True}
            self._caused.setdefault(aid, []).append(key)

    def caused_by(self, aids: Iterable[str]) -> tuple[CausedRequest, ...]:
        """The requests caused by any of these action ids, in seq order."""
        out: list[CausedRequest] = []
        for aid in aids:
            for key in self._caused.get(aid, ()):
                q = self._requests[key]
                url = q.get("url") or self._ws_urls.get(str(q.get("rid")), "")
                out.append(
                    CausedRequest(
                        seq=int(q["seq"]),
                        method=str(q.get("method") or ""),
                        url=str(url),
                        status=q.get("status"),
                        failed=str(q.get("failed") or ""),
                        ws=bool(q.get("ws")),
                    )
                )
        return tuple(sorted(out, key=lambda q: q.seq))
