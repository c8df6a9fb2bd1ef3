"""The capture engine: one raw CDP connection, auto-attach to every target, event routing.

Every page, popup, tab and cross-origin iframe is attached while it waits for the debugger;
the setup commands are sent without awaiting, then ``Runtime.runIfWaitingForDebugger``, then
the answers are awaited (CHROMIUM.md: awaiting ``Page.enable`` first deadlocks popups). The
recorder bundle is installed in the isolated world ``__sessiontape`` with a private binding;
what it sends arrives as ``Runtime.bindingCalled`` and is turned into events here.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from pathlib import Path
from typing import Any

import orjson
import structlog

from agent.capture.assets import AssetStore
from agent.capture.cause import Action, CauseLinker
from agent.capture.cdp import CDPConnection
from agent.capture.config import CaptureConfig
from agent.capture.emitter import Emitter
from agent.capture.health import Health
from agent.capture.network import FETCH_TYPES, NetworkCapture
from agent.capture.pages import PageCapture
from agent.capture.recorder_messages import (
    BadMessage,
    is_user_action,
    parse_message,
    tamper_event,
)
from agent.capture.state import WORLD, Recorder, Target, is_our_world
from agent.clock import Clock
from agent.events import Event

log = structlog.get_logger(__name__)

_INSTRUMENTED = ("page", "iframe")


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


class CaptureEngine:
    """Instruments every target of one browser and turns what it sees into events."""

    def __init__(
        self,
        conn: CDPConnection,
        cfg: CaptureConfig,
        emitter: Emitter,
        clock: Clock,
        *,
        home: Path,
        bundle: str,
        bundle_version: str,
        downloads_dir: Path,
        mask: dict[str, Any] | None = None,
    ) -> None:
        self.conn = conn
        self.cfg = cfg
        self.emitter = emitter
        self.clock = clock
        self.world = WORLD
        self.binding = "_" + secrets.token_hex(12)
        self.downloads_dir = downloads_dir
        self.assets = AssetStore(home / "assets")
        self.causes = CauseLinker(cfg.cause_window_ms)
        self.targets: dict[str, Target] = {}  # by session id
        self.by_target_id: dict[str, Target] = {}
        self._contexts_seen: set[str] = set()
        self.pages_seen = 0
        self.all_pages_closed = asyncio.Event()  # the user closed every tab
        self.network = NetworkCapture(self)
        self.pages = PageCapture(self)
        self.health = Health(self)
        recorder_cfg = {
            "binding": self.binding,
            "flushMs": cfg.flush_ms,
            "heartbeatMs": cfg.heartbeat_ms,
            "keyframeMs": cfg.keyframe_seconds * 1000,
            "floodMutationsPerSec": cfg.flood_mutations_per_sec,
            "clipboardContent": cfg.clipboard_content,
            "bundleVersion": bundle_version,
        }
        if mask is not None:
            recorder_cfg["mask"] = mask
        self.source = "globalThis.__ST_CFG=" + orjson.dumps(recorder_cfg).decode() + ";\n" + bundle
        self._tick_task: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Subscribe to the browser target and auto-attach to everything from now on."""
        self.conn.on_event(self._dispatch)
        await self.conn.send("Target.setDiscoverTargets", {"discover": True})
        await self.conn.send(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
        )
        self._tick_task = asyncio.create_task(self._tick(), name="capture-tick")

    async def stop(self) -> None:
        """Stop ticking; close open gaps and flush held network events."""
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
        self.network.finish()
        self.health.close_all("capture_stopped")

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            try:
                self.network.release()
                self.health.check()
            except Exception:
                log.exception("capture.tick_failed")

    # -- strict durability: block the recorded browser ------------------------------------
    blocked_reason: str | None = None

    async def set_blocked(self, blocked: bool, reason: str = "") -> None:
        """Block (or unblock) every page: input ignored by the browser, an interstitial shown.

        Used in ``journal.durability = "strict"`` while events cannot be made durable. The
        block is enforced by CDP ``Input.setIgnoreInputEvents`` (page JavaScript cannot lift
        it); the overlay only tells the user why. New pages attached meanwhile are blocked too.
        """
        self.blocked_reason = reason if blocked else None
        self.emitter.emit(
            "capture.degraded",
            {"reason": "durability_block" if blocked else "durability_unblock", "detail": reason},
        )
        for t in list(self.targets.values()):
            if t.is_page and t.alive:
                await self._apply_block(t)

    async def _apply_block(self, t: Target) -> None:
        blocked = self.blocked_reason is not None
        js = (
            _OVERLAY_ON.replace("__REASON__", orjson.dumps(self.blocked_reason or "").decode())
            if blocked
            else _OVERLAY_OFF
        )
        with contextlib.suppress(Exception):
            await self.conn.send(
                "Input.setIgnoreInputEvents", {"ignore": blocked}, t.session_id, timeout=5
            )
            await self.conn.send("Runtime.evaluate", {"expression": js}, t.session_id, timeout=5)

    # -- helpers used by the parts --------------------------------------------------------
    def opener_of(self, page_id: str) -> str | None:
        t = self.by_target_id.get(page_id)
        return t.opener_id if t else None

    def page_of_frame(self, frame_id: str) -> str | None:
        for t in self.targets.values():
            if frame_id in t.frame_urls or t.target_id == frame_id:
                return t.page_id
        return None

    # -- dispatch -----------------------------------------------------------------------
    def _dispatch(self, method: str, p: dict[str, Any], sid: str | None) -> None:
        if method == "Target.attachedToTarget":
            self._attached(p, sid)
            return
        if method == "Target.detachedFromTarget":  # on the parent's session for iframes
            self._detached(p)
            return
        if sid is None:
            self._browser_event(method, p)
            return
        t = self.targets.get(sid)
        if t is None:
            return
        domain = method.split(".", 1)[0]
        if domain in ("Network", "Fetch"):
            self.network.handle(method, p, t)
        elif method == "Runtime.bindingCalled":
            if p.get("name") == self.binding:
                self._binding(p, t)
        elif method == "Runtime.executionContextCreated":
            self._context_created(p["context"], t)
        elif method == "Runtime.executionContextDestroyed":
            ctx_id = int(p.get("executionContextId", -1))
            t.contexts.pop(ctx_id, None)
            t.recorders.pop(ctx_id, None)
        elif method == "Runtime.executionContextsCleared":
            t.contexts.clear()
            t.recorders.clear()
        elif method == "Runtime.consoleAPICalled":
            self.pages.console(p, t)
        elif method == "Runtime.exceptionThrown":
            self.pages.exception(p, t)
        elif method == "Page.frameNavigated":
            self.pages.frame_navigated(p, t)
            fid = p.get("frame", {}).get("id", "")
            t.nav_default_ctx[fid] = t.default_ctx.get(fid)
            self.health.after_navigation(t, fid)
        elif method == "Page.lifecycleEvent":
            if (
                p.get("name") in ("DOMContentLoaded", "load")
                and t.is_page
                and p.get("frameId") == t.main_frame_id
            ):
                asyncio.ensure_future(self.pages.read_title(t))
        elif method == "Page.navigatedWithinDocument":
            self.pages.navigated_within_document(p, t)
        elif method == "Page.javascriptDialogOpening":
            self.pages.dialog_opening(p, t)
        elif method == "Page.javascriptDialogClosed":
            self.pages.dialog_closed(p, t)
        elif method == "Page.downloadWillBegin":
            self.pages.download_will_begin(p, t)
        elif method == "Inspector.targetCrashed":
            self.health.crashed(t, {})
        elif method in (
            "CSS.styleSheetAdded",
            "CSS.styleSheetChanged",
            "DOM.adoptedStyleSheetsModified",
        ):
            self.health.cssom(method, p, t)

    def _browser_event(self, method: str, p: dict[str, Any]) -> None:
        if method == "Target.targetInfoChanged":
            info = p.get("targetInfo", {})
            t = self.by_target_id.get(info.get("targetId", ""))
            if t is not None and t.is_page:
                self.pages.title(t, str(info.get("title", "")))
        elif method == "Target.targetCrashed":
            t = self.by_target_id.get(p.get("targetId", ""))
            if t is not None:
                self.health.crashed(t, p)
        elif method == "Browser.downloadWillBegin":
            self.pages.download_will_begin(p, None)
        elif method == "Browser.downloadProgress":
            self.pages.download_progress(p)

    # -- attach ---------------------------------------------------------------------------
    def _attached(self, p: dict[str, Any], parent_sid: str | None) -> None:
        sid = p["sessionId"]
        info = p.get("targetInfo", {})
        ttype = info.get("type", "")
        send = self.conn.send_nowait
        if ttype not in _INSTRUMENTED:
            # browser_ui, workers, ...: let them run, and leave them alone.
            self.conn.fire("Runtime.runIfWaitingForDebugger", None, sid)
            if ttype == "browser_ui" or parent_sid is None:
                self.conn.fire("Target.detachFromTarget", {"sessionId": sid}, parent_sid)
            return
        parent = self.targets.get(parent_sid or "")
        page_id = parent.page_id if (parent and ttype == "iframe") else info["targetId"]
        t = Target(
            sid,
            info["targetId"],
            ttype,
            page_id,
            url=info.get("url", ""),
            title=info.get("title", ""),
            opener_id=info.get("openerId"),
            attached_mono_ns=self.clock.mono_ns(),
        )
        self.targets[sid] = t
        self.by_target_id[t.target_id] = t
        futs = [
            send("Page.enable", None, sid),
            send("Page.setLifecycleEventsEnabled", {"enabled": True}, sid),
            send("Runtime.enable", None, sid),
            send("Runtime.addBinding", {"name": self.binding, "executionContextName": WORLD}, sid),
            send(
                "Page.addScriptToEvaluateOnNewDocument",
                {"source": self.source, "worldName": WORLD, "runImmediately": True},
                sid,
            ),
            send(
                "Network.enable",
                {
                    "maxPostDataSize": min(self.cfg.body_cap_bytes, 4 * 1024 * 1024),
                    "maxResourceBufferSize": max(
                        self.cfg.body_cap_bytes, self.cfg.asset_max_bytes, 16 * 1024 * 1024
                    ),
                    "maxTotalBufferSize": 256 * 1024 * 1024,
                },
                sid,
            ),
            send("Inspector.enable", None, sid),
        ]
        if self.cfg.capture_unread_bodies:
            futs.append(
                send(
                    "Fetch.enable",
                    {
                        "patterns": [
                            {"urlPattern": "*", "resourceType": rt, "requestStage": "Response"}
                            for rt in FETCH_TYPES
                        ]
                    },
                    sid,
                )
            )
        if self.cfg.cssom_trigger:
            futs.append(send("DOM.enable", None, sid))
            futs.append(send("CSS.enable", None, sid))
        ctx_id = info.get("browserContextId")
        if ctx_id and ctx_id not in self._contexts_seen:
            self._contexts_seen.add(ctx_id)
            futs.append(
                send(
                    "Browser.setDownloadBehavior",
                    {
                        "behavior": "allowAndName",
                        "browserContextId": ctx_id,
                        "downloadPath": str(self.downloads_dir),
                        "eventsEnabled": True,
                    },
                )
            )
        futs.append(
            send(
                "Target.setAutoAttach",
                {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
                sid,
            )
        )
        futs.append(send("Runtime.runIfWaitingForDebugger", None, sid))
        if ttype == "page" and self.blocked_reason is not None:
            asyncio.ensure_future(self._apply_block(t))
        if ttype == "page":
            self.pages_seen += 1
            self.emitter.emit(
                "page.created",
                {
                    "url": t.url,
                    "opener": t.opener_id,
                    "target_type": ttype,
                    "browser_context": ctx_id,
                },
                page=t.page_id,
            )
        asyncio.ensure_future(self._await_setup(t, futs))

    async def _await_setup(self, t: Target, futs: list[asyncio.Future[dict[str, Any]]]) -> None:
        results = await asyncio.gather(*futs, return_exceptions=True)
        failed = [str(r)[:200] for r in results if isinstance(r, BaseException)]
        if failed and t.alive:
            self.emitter.emit(
                "capture.degraded",
                {"reason": "setup_failed", "errors": failed[:5]},
                page=t.page_id,
                frame=t.target_id if t.type == "iframe" else None,
            )

    def _detached(self, p: dict[str, Any]) -> None:
        t = self.targets.pop(p.get("sessionId", ""), None)
        if t is None:
            return
        t.alive = False
        self.by_target_id.pop(t.target_id, None)
        self.health.close_page(t)
        if t.is_page:
            self.causes.forget(t.page_id)
            self.emitter.emit("page.closed", {"url": t.url}, page=t.page_id)
            if not any(x.is_page for x in self.targets.values()):
                self.all_pages_closed.set()

    # -- recorder contexts and messages ------------------------------------------------------
    def _context_created(self, ctx: dict[str, Any], t: Target) -> None:
        aux = ctx.get("auxData") or {}
        frame = str(aux.get("frameId", ""))
        name = str(ctx.get("name", ""))
        t.contexts[int(ctx["id"])] = (frame, name)
        if aux.get("isDefault"):
            t.default_ctx[frame] = int(ctx["id"])
        if is_our_world(name):
            t.recorders[int(ctx["id"])] = Recorder(
                int(ctx["id"]),
                frame,
                last_mono_ns=self.clock.mono_ns(),
                last_utc_ns=self.clock.utc_ns(),
            )

    def _count_batch(self, t: Target, rec: Recorder, n: int) -> None:
        """Match ``n`` to a recorder's counter; a hole in it is a gap of lost batches."""
        if n in rec.tracks:
            rec.tracks[rec.tracks.index(n)] = n + 1
            return
        if n == 0:  # a recorder (re)started in this context
            rec.tracks.append(1)
            return
        below = [x for x in rec.tracks if x < n]
        if below:
            expected = max(below)
            rec.tracks[rec.tracks.index(expected)] = n + 1
        else:
            expected = min(rec.tracks, default=0)
            rec.tracks.append(n + 1)
        self.health.batch_gap(t, rec, expected, n)

    def _binding(self, p: dict[str, Any], t: Target) -> None:
        ctx_id = int(p.get("executionContextId", -1))
        raw = str(p.get("payload", ""))
        rec = t.recorders.get(ctx_id)
        frame = rec.frame_id if rec else t.contexts.get(ctx_id, ("", ""))[0] or None
        utc, mono = self.emitter.stamp()
        if rec is None:
            rec = Recorder(ctx_id, frame or "")
            t.recorders[ctx_id] = rec
        rec.last_mono_ns, rec.last_utc_ns = mono, utc
        rec.messages += 1
        self.health.recorder_alive(t, rec.frame_id)
        try:
            msg = parse_message(raw)
        except BadMessage as exc:
            self.emitter.push(tamper_event(str(exc), len(raw), utc, mono, t.page_id, frame))
            return
        self._count_batch(t, rec, msg.n)
        if msg.rejected:
            self.emitter.push(
                tamper_event("; ".join(msg.rejected[:5]), len(raw), utc, mono, t.page_id, frame)
            )
        push = self.emitter.push
        size = len(raw) // max(1, len(msg.entries))
        for kind, t_ms, payload in msg.entries:
            t_utc = t_ms * 1_000_000
            age = max(0, utc - t_utc)
            if is_user_action(kind, payload):
                aid = self.causes.new_action_id()
                payload["action_id"] = aid
                self.causes.note(Action(t.page_id, frame, t_utc, kind, aid))
                if self.cfg.screenshots:
                    self.health.screenshot(t, aid)
            push(Event(kind, payload, t_utc, mono - age, t.page_id, frame), size)
