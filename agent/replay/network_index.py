"""Network pairs for the replay timeline: one entry per request (or WebSocket), built from
its ``net.*`` records (request, response or failure, WebSocket open and frames)."""

from __future__ import annotations

from typing import Any

from agent.events import Record


def index_network(network: dict[str, dict[str, Any]], r: Record) -> None:
    """Fold one ``net.*`` record carrying a ``request_id`` into its entry of ``network``."""
    p = r.payload
    rid = str(p["request_id"])
    if r.kind.startswith("net.ws"):
        rid = "ws:" + rid
    n = network.setdefault(rid, {"request_id": rid, "page": r.page, "frame": r.frame, "seqs": []})
    n["seqs"].append(r.seq)
    if r.kind == "net.request":
        cause = p.get("cause") or {}
        n.update(
            method=p.get("method"),
            url=p.get("url"),
            seq=r.seq,
            t_utc_ns=r.t_utc_ns,
            resource_type=p.get("resource_type"),
            cause=cause.get("action_id") if isinstance(cause, dict) else None,
        )
    elif r.kind == "net.response":
        n.update(
            status=p.get("status"),
            mime=p.get("mime"),
            response_seq=r.seq,
            t_end_utc_ns=r.t_utc_ns,
            body_size=p.get("body_size"),
            duration_us=p.get("duration_us"),
        )
        n.setdefault("url", p.get("url"))
    elif r.kind == "net.failed":
        n.update(failed=p.get("error"), response_seq=r.seq, t_end_utc_ns=r.t_utc_ns)
    elif r.kind == "net.ws_open":
        n.update(method="WS", url=p.get("url"), seq=r.seq, t_utc_ns=r.t_utc_ns, frames=0)
    elif r.kind == "net.ws_frame":
        n["frames"] = int(n.get("frames", 0)) + 1
        cause = p.get("cause") or {}
        if isinstance(cause, dict) and cause.get("action_id"):
            n.setdefault("frame_causes", []).append([r.seq, cause["action_id"]])
