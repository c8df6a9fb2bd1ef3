"""Dedicated, shared and service workers: their network traffic, recorded like a page's.

A worker is attached while it waits for the debugger (the browser target's auto-attach brings
service and shared workers; a page's brings its dedicated workers). ``Network.enable`` (and
``Fetch.enable`` at the response stage, for bodies the worker never reads) is queued on the
worker's session before ``Runtime.runIfWaitingForDebugger``, so its first request - a service
worker's fetch at install - is already seen. The worker becomes a :class:`Target` of its own
type; its ``net.*`` events carry ``worker`` (target id, type, script URL) and belong to the
page that owns a dedicated worker, to no page for a shared or service worker.

Chromium attaches a service worker once from the browser target and again from each page in
its scope: only the browser target's session records shared and service workers (it outlives
any page); the other sessions are resumed and detached, so each request is recorded once.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import structlog

from agent.capture.bodies import fetch_patterns
from agent.capture.state import Target

if TYPE_CHECKING:
    from agent.capture.context import CaptureContext

log = structlog.get_logger(__name__)

WORKER_TYPES = ("worker", "shared_worker", "service_worker")


def network_params(body_cap_bytes: int, asset_max_bytes: int) -> dict[str, Any]:
    """``Network.enable`` buffers: post data and bodies up to the caps capture keeps."""
    return {
        "maxPostDataSize": min(body_cap_bytes, 4 * 1024 * 1024),
        "maxResourceBufferSize": max(body_cap_bytes, asset_max_bytes, 16 * 1024 * 1024),
        "maxTotalBufferSize": 256 * 1024 * 1024,
    }


def worker_ref(t: Target) -> dict[str, Any]:
    """The ``worker`` field of a worker's ``net.*`` events."""
    return {"id": t.target_id, "type": t.type, "url": t.url}


def owning_page(t: Target) -> str | None:
    """The page an event of ``t`` belongs to: none for a shared or service worker."""
    return None if t.type in ("shared_worker", "service_worker") else t.page_id


class WorkerAttach:
    """Instruments each worker target before it runs its first line."""

    def __init__(self, ctx: CaptureContext) -> None:
        self.ctx = ctx

    def attached(self, sid: str, info: dict[str, Any], parent_sid: str | None) -> Target | None:
        """Set up and resume the worker paused on ``sid`` (None: a duplicate, detached)."""
        cdp, cfg = self.ctx.cdp, self.ctx.cfg
        tid = str(info.get("targetId", ""))
        ttype = str(info.get("type", ""))
        from_a_page = ttype != "worker" and parent_sid is not None
        if from_a_page or self.ctx.targets.find(tid) is not None:
            cdp.fire("Runtime.runIfWaitingForDebugger", None, sid)
            cdp.fire("Target.detachFromTarget", {"sessionId": sid}, parent_sid)
            return None
        parent = self.ctx.targets.get(parent_sid or "")
        dedicated = ttype == "worker" and parent is not None
        t = Target(
            sid,
            tid,
            ttype,
            parent.page_id if dedicated and parent is not None else tid,
            url=str(info.get("url", "")),
            attached_mono_ns=self.ctx.clock.mono_ns(),
        )
        self.ctx.targets.add(t)
        send = cdp.send_nowait
        params = network_params(cfg.body_cap_bytes, cfg.asset_max_bytes)
        futs = [send("Network.enable", params, sid)]
        if cfg.capture_unread_bodies:
            futs.append(send("Fetch.enable", {"patterns": fetch_patterns()}, sid))
        futs.append(send("Runtime.runIfWaitingForDebugger", None, sid))
        self.ctx.tasks.spawn(self._await_setup(t, futs))
        return t

    async def _await_setup(self, t: Target, futs: list[asyncio.Future[dict[str, Any]]]) -> None:
        results = await asyncio.gather(*futs, return_exceptions=True)
        failed = [str(r)[:200] for r in results if isinstance(r, BaseException)]
        if failed and t.alive:
            self.ctx.emitter.emit(
                "capture.degraded",
                {"reason": "setup_failed", "errors": failed[:5], "worker": worker_ref(t)},
                page=owning_page(t),
            )
