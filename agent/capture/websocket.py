"""WebSocket frames: sent frames always; received frames under a per-second budget.

Frames beyond ``ws_frame_cap_bytes`` are truncated (with the SHA-256 and length of the whole
payload). Received frames over the frames/bytes budget of the current one-second window are
counted, and the count is recorded as ``capture.degraded`` when the window closes: nothing is
skipped without a trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.canonical import sha256_hex
from agent.capture.config import CaptureConfig


@dataclass
class _Socket:
    url: str
    page: str | None  # None: a shared or service worker's socket
    frame: str | None
    window_start_ns: int = 0
    frames: int = 0
    bytes: int = 0
    skipped_frames: int = 0
    skipped_bytes: int = 0
    skipped_since_ns: int = 0
    total_skipped: int = 0
    received: int = 0  # received frames seen, kept or skipped


class WebSocketCapture:
    """Turns ``Network.webSocket*`` events into ``net.ws_*`` events with a budget."""

    def __init__(self, cfg: CaptureConfig) -> None:
        self._cfg = cfg
        self._sockets: dict[str, _Socket] = {}

    def created(self, rid: str, url: str, page: str | None, frame: str | None) -> dict[str, Any]:
        """A socket was created: the ``net.ws_open`` payload."""
        self._sockets[rid] = _Socket(url, page, frame)
        return {"request_id": rid, "url": url}

    def socket(self, rid: str) -> tuple[str | None, str | None, str] | None:
        """(page, frame, url) of a known socket."""
        s = self._sockets.get(rid)
        return (s.page, s.frame, s.url) if s else None

    def received_frames(self) -> int:
        """Received frames seen on every open socket so far, kept or over budget."""
        return sum(s.received for s in self._sockets.values())

    def frame(
        self, rid: str, direction: str, response: dict[str, Any], now_ns: int
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(frame payload or None if over budget, degraded payload for a closed window)."""
        s = self._sockets.get(rid)
        if s is None:
            s = self._sockets[rid] = _Socket("", "", None)
        opcode = int(response.get("opcode", 1))
        data = str(response.get("payloadData", ""))
        binary = opcode == 2  # CDP already gives binary payloads as base64
        if binary:
            size = len(data) * 3 // 4 - (
                2 if data.endswith("==") else 1 if data.endswith("=") else 0
            )
        else:
            size = len(data.encode("utf-8", "surrogatepass"))
        degraded = None
        if direction == "received":
            s.received += 1
            degraded = self._roll(s, rid, now_ns)
            over = (
                s.frames + 1 > self._cfg.ws_received_budget_frames_per_sec
                or s.bytes + size > self._cfg.ws_received_budget_bytes_per_sec
            )
            if over:
                if s.skipped_frames == 0:
                    s.skipped_since_ns = now_ns
                s.skipped_frames += 1
                s.skipped_bytes += size
                s.total_skipped += 1
                return None, degraded
            s.frames += 1
            s.bytes += size
        payload: dict[str, Any] = {
            "request_id": rid,
            "direction": direction,
            "opcode": opcode,
            "size": size,
        }
        if binary:
            payload["encoding"] = "base64"
        cap = self._cfg.ws_frame_cap_bytes
        if len(data) > cap:
            payload["truncated"] = True
            payload["sha256"] = sha256_hex(data.encode("utf-8", "surrogatepass"))
            data = data[:cap]
        payload["data"] = data
        return payload, degraded

    def _roll(self, s: _Socket, rid: str, now_ns: int) -> dict[str, Any] | None:
        if now_ns - s.window_start_ns < 1_000_000_000:
            return None
        out = self._skipped_note(s, rid, now_ns)
        s.window_start_ns = now_ns
        s.frames = s.bytes = 0
        return out

    def _skipped_note(self, s: _Socket, rid: str, now_ns: int) -> dict[str, Any] | None:
        if not s.skipped_frames:
            return None
        out = {
            "reason": "ws_received_budget",
            "request_id": rid,
            "url": s.url,
            "skipped_frames": s.skipped_frames,
            "skipped_bytes": s.skipped_bytes,
            "start": s.skipped_since_ns,
            "end": now_ns,
            "budget_frames_per_sec": self._cfg.ws_received_budget_frames_per_sec,
            "budget_bytes_per_sec": self._cfg.ws_received_budget_bytes_per_sec,
        }
        s.skipped_frames = s.skipped_bytes = 0
        return out

    def flush(self, now_ns: int) -> list[tuple[str | None, str | None, dict[str, Any]]]:
        """Degraded notes for every socket whose window has closed (page, frame, payload)."""
        out = []
        for rid, s in self._sockets.items():
            if s.skipped_frames and now_ns - s.window_start_ns >= 1_000_000_000:
                note = self._skipped_note(s, rid, now_ns)
                if note:
                    out.append((s.page, s.frame, note))
        return out

    def closed(self, rid: str, now_ns: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The ``net.ws_close`` payload and any pending skipped-frames note."""
        s = self._sockets.pop(rid, None)
        note = self._skipped_note(s, rid, now_ns) if s else None
        return {
            "request_id": rid,
            "url": s.url if s else "",
            "skipped_frames_total": s.total_skipped if s else 0,
        }, note
