"""The capture engine: one raw CDP connection, auto-attach to every target, event routing.

Every page, popup, tab and cross-origin iframe is attached while it waits for the debugger;
the setup commands are sent without awaiting, then ``Runtime.runIfWaitingForDebugger``, then
the answers are awaited: awaiting ``Page.enable`` first deadlocks a popup opened with
``target=_blank``, whose renderer waits for the debugger before it answers anything. The
recorder bundle is installed in the isolated world ``__sessiontape`` with a private binding;
what it sends arrives as ``Runtime.bindingCalled`` (see :mod:`agent.capture.recorders`).
Workers are attached the same way and get only the network domains
(:mod:`agent.capture.workers`).

The engine owns the shared state and hands the parts a :class:`CaptureContext`; CDP events
reach them through one table from method name to handler, built once.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import structlog

from agent.capture.assets import AssetStore
from agent.capture.block import Blocker
from agent.capture.bodies import fetch_patterns
from agent.capture.cause import CauseLinker
from agent.capture.cdp import CDPConnection
from agent.capture.closed_shadow import ClosedShadow
from agent.capture.config import CaptureConfig
from agent.capture.context import CaptureContext
from agent.capture.emitter import Emitter
from agent.capture.gate import GateFactory, is_request_stage
from agent.capture.health import Health
from agent.capture.network import NetworkCapture
from agent.capture.pages import PageCapture
from agent.capture.recorders import RecorderChannel
from agent.capture.state import WORLD, Target, TargetRegistry
from agent.capture.tasks import TaskSpawner
from agent.capture.tick import run_tick
from agent.capture.workers import WORKER_TYPES, WorkerAttach, network_params
from agent.clock import Clock

log = structlog.get_logger(__name__)

_INSTRUMENTED = ("page", "iframe")
_AUTO_ATTACH = {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True}
_CSSOM_EVENTS = ("CSS.styleSheetAdded", "CSS.styleSheetChanged", "DOM.adoptedStyleSheetsModified")

TargetHandler = Callable[[dict[str, Any], Target], None]
BrowserHandler = Callable[[dict[str, Any]], None]
SessionHandler = Callable[[dict[str, Any], str | None], None]


def recorder_source(
    cfg: CaptureConfig, binding: str, bundle: str, bundle_version: str, mask: dict[str, Any] | None
) -> str:
    """The script injected in every document: the recorder's configuration, then the bundle."""
    recorder_cfg = {
        "binding": binding,
        "flushMs": cfg.flush_ms,
        "heartbeatMs": cfg.heartbeat_ms,
        "keyframeMs": cfg.keyframe_seconds * 1000,
        "floodMutationsPerSec": cfg.flood_mutations_per_sec,
        "clipboardContent": cfg.clipboard_content,
        "bundleVersion": bundle_version,
        "indicator": cfg.notice(),
    }
    if mask is not None:
        recorder_cfg["mask"] = mask
    return "globalThis.__ST_CFG=" + orjson.dumps(recorder_cfg).decode() + ";\n" + bundle


def _viewport(cfg: CaptureConfig) -> dict[str, Any]:
    """``Emulation.setDeviceMetricsOverride`` of the configured viewport."""
    return {
        "width": cfg.viewport_width,
        "height": cfg.viewport_height,
        "deviceScaleFactor": 1,
        "mobile": False,
    }


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
        emulate_viewport: bool = True,
        gate: GateFactory | None = None,
    ) -> None:
        self.conn = conn
        self.emulate_viewport = emulate_viewport
        self.cfg = cfg
        self.emitter = emitter
        self.clock = clock
        self.binding = "_" + secrets.token_hex(12)
        self.source = recorder_source(cfg, self.binding, bundle, bundle_version, mask)
        self.registry = TargetRegistry()
        self.tasks = TaskSpawner()
        self.ctx = CaptureContext(
            cdp=conn,
            cfg=cfg,
            emitter=emitter,
            clock=clock,
            targets=self.registry,
            tasks=self.tasks,
            causes=CauseLinker(cfg.cause_window_ms),
            assets=AssetStore(home / "assets"),
            binding=self.binding,
            source=self.source,
            downloads_dir=downloads_dir,
        )
        self._contexts_seen: set[str] = set()
        self.pages_seen = 0
        self.all_pages_closed = asyncio.Event()  # the user closed every tab
        self.network = NetworkCapture(self.ctx)
        self.pages = PageCapture(self.ctx)
        self.health = Health(self.ctx)
        self.closed_shadow = ClosedShadow(self.ctx)
        self.recorders = RecorderChannel(self.ctx, self.health, self.closed_shadow)
        self.blocker = Blocker(self.ctx)
        self.workers = WorkerAttach(self.ctx)
        self.gate = gate(self.ctx) if gate is not None else None
        self._on_session: dict[str, SessionHandler] = {
            "Target.attachedToTarget": self._attached,
            # sent on the parent's session for iframes
            "Target.detachedFromTarget": lambda p, _sid: self._detached(p),
        }
        self._on_browser = self._browser_handlers()
        self._on_target = self._target_handlers()
        self._tick_task: asyncio.Task[None] | None = None
        self._viewport = _viewport(cfg)

    @property
    def targets(self) -> dict[str, Target]:
        """The attached targets by CDP session id."""
        return self.registry.by_session

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Subscribe to the browser target and auto-attach to everything from now on."""
        self.conn.on_event(self._dispatch)
        if self.gate is not None:
            self.conn.on_event(self.gate.event)
        await self.conn.send("Target.setDiscoverTargets", {"discover": True})
        if self.gate is not None:
            await asyncio.gather(*self.gate.browser_setup())
        await self.conn.send("Target.setAutoAttach", dict(_AUTO_ATTACH))
        self._tick_task = self.tasks.spawn(
            run_tick(self.network.held, self._tick_step, self.ctx.cfg.gap_silence_ms),
            name="capture-tick",
        )

    async def stop(self) -> None:
        """Stop ticking; close open gaps and flush held network events."""
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
        self.network.finish()
        self.health.close_all("capture_stopped")

    def _tick_step(self) -> None:
        """Release the held network events that are due; check the recorders' health."""
        self.network.release()
        self.health.check()

    # -- strict durability: block the recorded browser ------------------------------------
    @property
    def blocked_reason(self) -> str | None:
        """Why the browser is blocked (None when it is not)."""
        return self.blocker.reason

    async def set_blocked(self, blocked: bool, reason: str = "") -> None:
        """Block (or unblock) every page: input ignored by the browser, an interstitial shown.

        Used in ``journal.durability = "strict"`` while events cannot be made durable. The
        block is enforced by CDP ``Input.setIgnoreInputEvents`` (page JavaScript cannot lift
        it); the overlay only tells the user why. New pages attached meanwhile are blocked too.
        """
        await self.blocker.set_blocked(blocked, reason)

    # -- dispatch -----------------------------------------------------------------------
    def _browser_handlers(self) -> dict[str, BrowserHandler]:
        pages = self.pages
        return {
            "Target.targetInfoChanged": self._target_info_changed,
            "Target.targetCrashed": self._target_crashed,
            "Browser.downloadWillBegin": lambda p: pages.download_will_begin(p, None),
            "Browser.downloadProgress": pages.download_progress,
        }

    def _target_handlers(self) -> dict[str, TargetHandler]:
        pages, health = self.pages, self.health
        table: dict[str, TargetHandler] = {
            **self.network.handlers(),
            **self.recorders.handlers(),
            "Runtime.consoleAPICalled": pages.console,
            "Runtime.exceptionThrown": pages.exception,
            "Page.frameNavigated": self._frame_navigated,
            "Page.lifecycleEvent": pages.lifecycle,
            "Page.navigatedWithinDocument": pages.navigated_within_document,
            "Page.javascriptDialogOpening": pages.dialog_opening,
            "Page.javascriptDialogClosed": pages.dialog_closed,
            "Page.downloadWillBegin": pages.download_will_begin,
            "Inspector.targetCrashed": lambda _p, t: health.crashed(t, {}),
        }
        for method in _CSSOM_EVENTS:
            table[method] = partial(health.cssom, method)
        if self.gate is not None:  # request-stage pauses are the gate's to answer
            bodies = table["Fetch.requestPaused"]
            table["Fetch.requestPaused"] = lambda p, t: (
                None if is_request_stage(p) else bodies(p, t)
            )
        return table

    def _dispatch(self, method: str, p: dict[str, Any], sid: str | None) -> None:
        on_session = self._on_session.get(method)
        if on_session is not None:
            on_session(p, sid)
        elif sid is None:
            on_browser = self._on_browser.get(method)
            if on_browser is not None:
                on_browser(p)
        else:
            handler = self._on_target.get(method)
            t = self.registry.get(sid)
            if handler is not None and t is not None:
                handler(p, t)

    def _target_info_changed(self, p: dict[str, Any]) -> None:
        info = p.get("targetInfo", {})
        t = self.registry.find(info.get("targetId", ""))
        if t is not None and t.is_page:
            self.pages.title(t, str(info.get("title", "")))

    def _target_crashed(self, p: dict[str, Any]) -> None:
        t = self.registry.find(p.get("targetId", ""))
        if t is not None:
            self.health.crashed(t, p)

    def _frame_navigated(self, p: dict[str, Any], t: Target) -> None:
        self.pages.frame_navigated(p, t)
        fid = p.get("frame", {}).get("id", "")
        t.nav_default_ctx[fid] = t.default_ctx.get(fid)
        self.health.after_navigation(t, fid)

    # -- attach ---------------------------------------------------------------------------
    def _attached(self, p: dict[str, Any], parent_sid: str | None) -> None:
        """Instrument a target paused before its first script: the order below matters.

        Every setup command is queued without awaiting, then the target is resumed, and only
        then are the answers awaited (in a background task).
        """
        sid = p["sessionId"]
        info = p.get("targetInfo", {})
        ttype = info.get("type", "")
        if ttype in WORKER_TYPES:
            self.workers.attached(sid, info, parent_sid)
            return
        if ttype not in _INSTRUMENTED:
            # browser_ui, ...: let them run, and leave them alone.
            self.conn.fire("Runtime.runIfWaitingForDebugger", None, sid)
            if ttype == "browser_ui" or parent_sid is None:
                self.conn.fire("Target.detachFromTarget", {"sessionId": sid}, parent_sid)
            return
        t = self._register(sid, info, ttype, parent_sid)
        ctx_id = info.get("browserContextId")
        futs = self._send_setup(sid, ctx_id)
        if ttype == "page":
            futs.extend(self._emulate(sid))
        if self.gate is not None:
            futs.extend(self.gate.attach(sid, info, parent_sid))
        futs.append(self.conn.send_nowait("Runtime.runIfWaitingForDebugger", None, sid))
        if ttype == "page" and self.blocker.reason is not None:
            self.tasks.spawn(self.blocker.apply(t))
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
        self.tasks.spawn(self._await_setup(t, futs))

    def _register(
        self, sid: str, info: dict[str, Any], ttype: str, parent_sid: str | None
    ) -> Target:
        parent = self.registry.get(parent_sid or "")
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
        self.registry.add(t)
        return t

    def _emulate(self, sid: str) -> list[asyncio.Future[dict[str, Any]]]:
        """The configured viewport (headless only: a visible window's viewport follows the
        window, so that a resize reaches the page) and focus emulation (an unfocused window
        still gets focus events and typed keys) for a page, queued before it resumes so that
        its first document already has them."""
        futs = []
        if self.emulate_viewport:
            futs.append(
                self.conn.send_nowait("Emulation.setDeviceMetricsOverride", self._viewport, sid)
            )
        futs.append(
            self.conn.send_nowait("Emulation.setFocusEmulationEnabled", {"enabled": True}, sid)
        )
        return futs

    def _send_setup(
        self, sid: str, browser_context: str | None
    ) -> list[asyncio.Future[dict[str, Any]]]:
        """Queue the setup commands of a new target (not awaited: see ``_attached``)."""
        send, cfg = self.conn.send_nowait, self.cfg
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
            send("Network.enable", network_params(cfg.body_cap_bytes, cfg.asset_max_bytes), sid),
            send("Inspector.enable", None, sid),
        ]
        patterns = fetch_patterns() if cfg.capture_unread_bodies else []
        if self.gate is not None:
            patterns = self.gate.fetch_patterns() + patterns
        if patterns:
            futs.append(send("Fetch.enable", {"patterns": patterns}, sid))
        if cfg.cssom_trigger:
            futs.append(send("DOM.enable", None, sid))
            futs.append(send("CSS.enable", None, sid))
        if browser_context and browser_context not in self._contexts_seen:
            self._contexts_seen.add(browser_context)
            download = {
                "behavior": "allowAndName",
                "browserContextId": browser_context,
                "downloadPath": str(self.ctx.downloads_dir),
                "eventsEnabled": True,
            }
            futs.append(send("Browser.setDownloadBehavior", download))
        futs.append(send("Target.setAutoAttach", dict(_AUTO_ATTACH), sid))
        return futs

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
        t = self.registry.remove(p.get("sessionId", ""))
        if t is None:
            return
        t.alive = False
        self.health.close_page(t)
        if t.is_page:
            self.ctx.causes.forget(t.page_id)
            self.emitter.emit("page.closed", {"url": t.url}, page=t.page_id)
            if not self.registry.any_page():
                self.all_pages_closed.set()
