"""Strict durability: block the recorded browser while its events cannot be made durable.

The block is enforced by CDP ``Input.setIgnoreInputEvents`` (page JavaScript cannot lift it);
an overlay only tells the user why. Pages attached while blocked are blocked too.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from agent.capture.context import CaptureContext
    from agent.capture.state import Target

_OVERLAY_ON = """(() => { let d = document.getElementById('__sessiontape_block');
if (!d) { d = document.createElement('div'); d.id = '__sessiontape_block';
d.style.cssText = 'position:fixed;inset:0;z-index:2147483647;background:rgba(20,20,20,.85);'
 + 'color:#fff;font:20px sans-serif;display:flex;align-items:center;justify-content:center;'
 + 'text-align:center;padding:2em';
(document.body || document.documentElement).appendChild(d); }
d.textContent = 'Recording is paused: this session cannot be recorded right now, so the '
 + 'browser is blocked as compliance policy requires. It resumes automatically. (' + __REASON__
 + ')'; })()"""
_OVERLAY_OFF = """(() => { const d = document.getElementById('__sessiontape_block');
if (d) d.remove(); })()"""


class Blocker:
    """Whether the browser is blocked, and the commands that (un)block one page."""

    def __init__(self, ctx: CaptureContext) -> None:
        self.ctx = ctx
        self.reason: str | None = None  # None: not blocked

    async def set_blocked(self, blocked: bool, reason: str = "") -> None:
        """Block (or unblock) every page: input ignored by the browser, an interstitial shown."""
        self.reason = reason if blocked else None
        self.ctx.emitter.emit(
            "capture.degraded",
            {"reason": "durability_block" if blocked else "durability_unblock", "detail": reason},
        )
        for t in self.ctx.targets.all():
            if t.is_page and t.alive:
                await self.apply(t)

    async def apply(self, t: Target) -> None:
        """Bring one page in line with the current state (blocked or not)."""
        blocked = self.reason is not None
        js = (
            _OVERLAY_ON.replace("__REASON__", orjson.dumps(self.reason or "").decode())
            if blocked
            else _OVERLAY_OFF
        )
        with contextlib.suppress(Exception):
            await self.ctx.cdp.send(
                "Input.setIgnoreInputEvents", {"ignore": blocked}, t.session_id, timeout=5
            )
            await self.ctx.cdp.send("Runtime.evaluate", {"expression": js}, t.session_id, timeout=5)
