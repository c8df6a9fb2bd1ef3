"""WebSocket budget: received frames over the per-second budget are counted, never silent."""

from __future__ import annotations

import base64

from agent.capture.config import CaptureConfig
from agent.capture.websocket import WebSocketCapture

S = 1_000_000_000


def test_received_frames_over_budget_are_counted_and_reported_when_window_closes() -> None:
    """3 frames/s budget, 5 frames in one second: 3 kept, 2 counted in the next note."""
    ws = WebSocketCapture(CaptureConfig(ws_received_budget_frames_per_sec=3))
    ws.created("r1", "ws://x/feed", "P", None)
    kept = [
        ws.frame("r1", "received", {"opcode": 1, "payloadData": "t"}, S + i)[0] for i in range(5)
    ]
    assert sum(k is not None for k in kept) == 3
    frame, note = ws.frame("r1", "received", {"opcode": 1, "payloadData": "t"}, 2 * S + 1)
    assert frame is not None and note is not None
    assert note["skipped_frames"] == 2 and note["reason"] == "ws_received_budget"
    close, _ = ws.closed("r1", 3 * S)
    assert close["skipped_frames_total"] == 2


def test_sent_frames_are_never_budgeted_and_big_frames_are_truncated_with_hash() -> None:
    """Sent frames are always kept; payloads over the cap keep size and SHA-256."""
    ws = WebSocketCapture(CaptureConfig(ws_received_budget_frames_per_sec=0, ws_frame_cap_bytes=4))
    frame, _ = ws.frame("r", "sent", {"opcode": 1, "payloadData": "abcdefgh"}, S)
    assert frame is not None
    assert frame["data"] == "abcd" and frame["truncated"] is True and frame["size"] == 8
    b64 = base64.b64encode(b"\x00\x01").decode()
    frame, _ = ws.frame("r", "sent", {"opcode": 2, "payloadData": b64}, S)
    assert frame is not None and frame["encoding"] == "base64" and frame["size"] == 2
