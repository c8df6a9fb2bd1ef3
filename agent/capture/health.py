"""Keeping every recorder alive, and turning every hole in capture into a ``capture.gap``.

* Watchdog: a live recorder that sends nothing for ``gap_silence_ms`` (it heartbeats every
  ``heartbeat_ms``) opens a gap ``recorder_silent`` and is re-injected; the gap is closed
  (one ``capture.gap`` event with start and end) by the next message from that frame.
* Renderer crash: ``page.crash`` + a gap ``renderer_crash``, then the page is reloaded.
* ``window.open`` of a same-origin URL reuses the about:blank window: init scripts do not run
  again, so after a navigation without a context of our world one is created by hand.
* CSSOM trigger: ``CSS.styleSheetChanged`` / ``DOM.adoptedStyleSheetsModified`` ask the
  recorder to rescan styles (changes an isolated world cannot observe).
* Optional screenshots at user actions.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from agent.capture.state import WORLD, Recorder, Target

if TYPE_CHECKING:
    from agent.capture.context import CaptureContext

log = structlog.get_logger(__name__)

ERROR_PAGE = "chrome-error://"  # the URL of the page Chromium shows when a navigation fails
_MAX_RECOVERIES = 4  # per frame between two messages (a document that never records)
_RESTART = (
    "(() => { const g = globalThis; if (typeof g.__st_restart === 'function') "
    "{ g.__st_restart(); return 'restarted'; } return 'absent'; })()"
)


@dataclass
class _Gap:
    page: str
    frame: str | None
    start_utc: int
    cause: str
    detail: dict[str, Any]


class Health:
    """Gap bookkeeping and recovery actions for one engine."""

    def __init__(self, ctx: CaptureContext) -> None:
        self.ctx = ctx
        self._open: dict[tuple[str, str | None], _Gap] = {}
        self._rescan_pending: set[tuple[str, str]] = set()
        self.reinjections = 0
        self._attempts: dict[tuple[str, str], int] = {}  # recoveries since the last message

    # -- gaps -----------------------------------------------------------------------------
    def open_gap(
        self, page: str, frame: str | None, start_utc: int, cause: str, **detail: Any
    ) -> None:
        """Remember that capture of (page, frame) stopped at ``start_utc``."""
        self._open.setdefault((page, frame), _Gap(page, frame, start_utc, cause, detail))

    def open_causes(self) -> list[str]:
        """The causes of the gaps open now (not yet ended, so not yet recorded)."""
        return [g.cause for g in self._open.values()]

    def _close(self, key: tuple[str, str | None], end_utc: int | None = None) -> None:
        gap = self._open.pop(key, None)
        if gap is None:
            return
        end = end_utc if end_utc is not None else self.ctx.clock.utc_ns()
        self.ctx.emitter.emit(
            "capture.gap",
            {"start": gap.start_utc, "end": end, "cause": gap.cause, **gap.detail},
            page=gap.page,
            frame=gap.frame,
        )

    def recorder_alive(self, t: Target, frame: str) -> None:
        """A message arrived from (page, frame): close the gaps it ends."""
        if not self._open:
            return
        self._attempts.pop((t.session_id, frame), None)
        for key in ((t.page_id, frame), (t.page_id, None)):
            if key in self._open:
                self._close(key)
        t.crashed = False

    def close_page(self, t: Target) -> None:
        """The page/frame target went away: its gaps end now."""
        for key in [
            k
            for k, g in self._open.items()
            if g.page == t.page_id and (t.is_page or g.frame in t.frame_urls)
        ]:
            self._close(key)

    def close_all(self, reason: str) -> None:
        """At stop: every open gap ends now."""
        for key in list(self._open):
            self._open[key].detail.setdefault("closed_by", reason)
            self._close(key)

    def batch_gap(self, t: Target, rec: Recorder, expected: int, n: int) -> None:
        """The recorder's batch counter skipped: batches were lost between page and agent."""
        self.ctx.emitter.emit(
            "capture.gap",
            {
                "start": rec.last_utc_ns,
                "end": self.ctx.clock.utc_ns(),
                "cause": "batch_lost",
                "expected_n": expected,
                "got_n": n,
            },
            page=t.page_id,
            frame=rec.frame_id,
        )

    # -- watchdog ------------------------------------------------------------------------
    def check(self) -> None:
        """Called every tick: open a gap and re-inject where a recorder fell silent."""
        now = self.ctx.clock.mono_ns()
        limit = self.ctx.cfg.gap_silence_ms * 1_000_000
        for t in self.ctx.targets.all():
            if not t.alive or t.crashed or t.dialog_open:
                continue
            for rec in list(t.recorders.values()):
                if rec.retired or now - rec.last_mono_ns <= limit:
                    continue
                if rec.messages == 0:
                    # Never started: only a top frame must have a recorder (same-origin child
                    # frames are recorded by their parent; about:blank may never start one),
                    # and a slow page gets until DOMContentLoaded plus some.
                    top = rec.frame_id in (t.main_frame_id, t.target_id)
                    url = t.frame_urls.get(rec.frame_id, "")
                    if (
                        not top
                        or not url.startswith(("http:", "https:", "file:"))
                        or now - rec.last_mono_ns <= 3 * limit
                    ):
                        continue
                self.open_gap(
                    t.page_id,
                    rec.frame_id,
                    rec.last_utc_ns,
                    "recorder_silent",
                    silence_ms=self.ctx.cfg.gap_silence_ms,
                )
                rec.last_mono_ns = now  # retry the recovery once per silence period
                key = (t.session_id, rec.frame_id)
                self._attempts[key] = self._attempts.get(key, 0) + 1
                if self._attempts[key] <= _MAX_RECOVERIES:  # then leave the gap open
                    self.ctx.tasks.spawn(self.reinject(t, rec))

    async def reinject(self, t: Target, rec: Recorder) -> None:
        """Replace a silent recorder - unless the page itself is hung or paused.

        A frame whose event loop does not turn (paused in a debugger, hung) runs no script,
        ours included: the gap stays open until it runs again. Otherwise the recorder was broken
        (its timers cleared, its world's built-ins broken, an exception): first ask it to
        restart (``__st_restart``); if it stays silent, start a fresh recorder in a new
        isolated world (new globals and built-ins, so nothing left in the old one can
        interfere) that the same private binding is added to.
        """
        conn, sid = self.ctx.cdp, t.session_id
        try:
            # Runs only if the frame's event loop turns (a paused or hung page never answers);
            # evaluated in our world, whose globals page scripts cannot replace.
            await conn.send(
                "Runtime.evaluate",
                {
                    "expression": "new Promise(r => setTimeout(r, 0))",
                    "awaitPromise": True,
                    "contextId": rec.context_id,
                },
                sid,
                timeout=1.0,
            )
            if rec.restarts == 0:  # first try: the recorder re-arms itself
                rec.restarts += 1
                res = await conn.send(
                    "Runtime.evaluate",
                    {"expression": _RESTART, "contextId": rec.context_id, "returnByValue": True},
                    sid,
                    timeout=1.0,
                )
                if res.get("result", {}).get("value") == "restarted":
                    self._injected(t, rec.frame_id, "restart")
                    return
            self.reinjections += 1
            world = f"{WORLD}_r{self.reinjections}"
            rec.retired = True
            await conn.send(
                "Runtime.addBinding", {"name": self.ctx.binding, "executionContextName": world}, sid
            )
            made = await conn.send(
                "Page.createIsolatedWorld",
                {"frameId": rec.frame_id, "worldName": world},
                sid,
                timeout=5,
            )
            await conn.send(
                "Runtime.evaluate",
                {"expression": self.ctx.source, "contextId": made["executionContextId"]},
                sid,
                timeout=5,
            )
            self._injected(t, rec.frame_id, "new_world")
        except Exception as exc:
            log.info("capture.reinject_skipped", error=str(exc)[:200])

    def _injected(self, t: Target, frame: str, how: str) -> None:
        self.ctx.emitter.emit("capture.injected", {"how": how}, page=t.page_id, frame=frame)

    def after_navigation(self, t: Target, frame_id: str) -> None:
        """Ensure our world exists in a frame that just committed a document."""
        self.ctx.tasks.spawn(self._ensure_world(t, frame_id))

    async def _ensure_world(self, t: Target, frame_id: str) -> None:
        # A new document gets fresh contexts (a new main world, ours with the init script)
        # around its commit - unless the window was reused (window.open / target=_blank of a
        # same-origin URL from the initial about:blank): then no context is created, the init
        # script does not run again, and the bundle is evaluated by hand (it guards double
        # runs per document).
        url = t.frame_urls.get(frame_id, "")
        top = frame_id in (t.main_frame_id, t.target_id)  # child frames: parent records them
        if not t.alive or not top or not url.startswith(("http:", "https:", "file:")):
            return
        before = t.nav_default_ctx.get(frame_id)
        for step in range(10):
            await asyncio.sleep(0.1)
            if not t.alive or t.default_ctx.get(frame_id) != before:
                return  # fresh contexts: the init script runs in this document
            ctx = t.world_context(frame_id)
            if ctx is not None and step >= 1:
                break
        try:
            if ctx is not None:
                # The recorder marks each document it records (in our world only).
                res = await self.ctx.cdp.send(
                    "Runtime.evaluate",
                    {
                        "expression": "document.__st_recorder === true",
                        "contextId": ctx,
                        "returnByValue": True,
                    },
                    t.session_id,
                    timeout=5,
                )
                if res.get("result", {}).get("value") is True:
                    return
            else:
                made = await self.ctx.cdp.send(
                    "Page.createIsolatedWorld",
                    {"frameId": frame_id, "worldName": WORLD},
                    t.session_id,
                    timeout=5,
                )
                ctx = int(made["executionContextId"])
            await self.ctx.cdp.send(
                "Runtime.evaluate",
                {"expression": self.ctx.source, "contextId": ctx},
                t.session_id,
                timeout=5,
            )
            self._injected(t, frame_id, "window_reuse")
        except Exception as exc:
            log.info("capture.ensure_world_failed", error=str(exc)[:200])

    # -- crashes --------------------------------------------------------------------------
    def crashed(self, t: Target, p: dict[str, Any]) -> None:
        """The renderer of ``t`` died: record it, open a gap, and reload the page."""
        if t.crashed:
            return
        if t.url.startswith(ERROR_PAGE):
            # The page shows Chromium's network error page: its renderer goes away when the
            # error page is replaced; the failed load itself is a ``page.load_failed``.
            log.info("capture.error_page_renderer_gone", url=t.url)
            return
        t.crashed = True
        now = self.ctx.clock.utc_ns()
        last = max((r.last_utc_ns for r in t.recorders.values()), default=now)
        t.recorders.clear()
        t.contexts.clear()
        self.ctx.emitter.emit(
            "page.crash",
            {"url": t.url, "status": p.get("status", ""), "error_code": int(p.get("errorCode", 0))},
            page=t.page_id,
        )
        self.open_gap(t.page_id, None, last, "renderer_crash")
        if t.is_page and t.url:
            self.ctx.tasks.spawn(self._reload(t))

    async def _reload(self, t: Target) -> None:
        await asyncio.sleep(0.2)
        try:
            await self.ctx.cdp.send("Page.navigate", {"url": t.url}, t.session_id, timeout=15)
        except Exception as exc:
            log.info("capture.reload_failed", error=str(exc)[:200])

    # -- CSSOM trigger ----------------------------------------------------------------------
    def cssom(self, method: str, p: dict[str, Any], t: Target) -> None:
        """Ask the recorder to rescan stylesheets after a CSSOM-only change."""
        if method == "CSS.styleSheetAdded":
            hdr = p.get("header", {})
            t.sheet_frames[hdr.get("styleSheetId", "")] = hdr.get("frameId", "")
            if not hdr.get("isConstructed"):
                return
            # A constructed sheet is about to be adopted (DOM.adoptedStyleSheetsModified is
            # only sent for nodes the DOM agent was asked about).
            frames = [hdr.get("frameId", "")]
        elif method == "CSS.styleSheetChanged":
            frame = t.sheet_frames.get(p.get("styleSheetId", ""))
            frames = [frame] if frame else list({r.frame_id for r in t.recorders.values()})
        else:
            frames = list({r.frame_id for r in t.recorders.values()})
        for fr in frames:
            key = (t.session_id, fr)
            if key not in self._rescan_pending:
                self._rescan_pending.add(key)
                asyncio.get_running_loop().call_later(0.05, self._rescan, t, fr)

    def _rescan(self, t: Target, frame: str) -> None:
        self._rescan_pending.discard((t.session_id, frame))
        ctx = t.world_context(frame)
        if ctx is None or not t.alive:
            return
        self.ctx.cdp.fire(
            "Runtime.evaluate",
            {
                "expression": "typeof globalThis.__st_rescanStyles === 'function' && "
                "globalThis.__st_rescanStyles()",
                "contextId": ctx,
            },
            t.session_id,
        )

    # -- screenshots -----------------------------------------------------------------------
    def screenshot(self, t: Target, action_id: str) -> None:
        """A reduced-size JPEG of the page at a user action, stored as an asset."""
        if t.is_page:
            self.ctx.tasks.spawn(self._screenshot(t, action_id))

    async def _screenshot(self, t: Target, action_id: str) -> None:
        try:
            m = await self.ctx.cdp.send("Page.getLayoutMetrics", None, t.session_id, timeout=5)
            vp = m.get("cssLayoutViewport", {})
            w, h = int(vp.get("clientWidth", 0)), int(vp.get("clientHeight", 0))
            if not w or not h:
                return
            scale = min(1.0, self.ctx.cfg.screenshot_width / w)
            res = await self.ctx.cdp.send(
                "Page.captureScreenshot",
                {
                    "format": "jpeg",
                    "quality": 60,
                    "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": scale},
                },
                t.session_id,
                timeout=10,
            )
            data = base64.b64decode(res["data"])
            digest, _ = await asyncio.to_thread(self.ctx.assets.put, data)
        except Exception as exc:
            log.info("capture.screenshot_failed", error=str(exc)[:200])
            return
        self.ctx.emitter.emit(
            "page.screenshot",
            {
                "sha256": digest,
                "mime": "image/jpeg",
                "size": len(data),
                "action_id": action_id,
                "width": int(w * scale),
                "height": int(h * scale),
            },
            page=t.page_id,
        )
