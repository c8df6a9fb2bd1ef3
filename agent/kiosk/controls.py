"""The kiosk gate of one customer's browser: the allowlist, plus the start screen and the
operator's controls (:mod:`agent.kiosk.lobby`).

:class:`CustomerGate` answers the start screen's URL itself until the operator starts the
session (afterwards that URL is refused like any other that is not allowed, so the customer
cannot go back to the start screen), installs the controls' isolated world and binding on
every page and iframe, and turns what the controls report into signals the kiosk service
waits on: ``started``, ``ended`` and the idle clock (``last_activity``, ``activity``).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog

from agent.capture.gate import is_request_stage
from agent.kiosk.enforce import KioskGate
from agent.kiosk.lobby import CONTROL_BINDING, CONTROL_WORLD, LOBBY_URL, control_script, lobby_page

if TYPE_CHECKING:
    from agent.capture.context import CaptureContext
    from agent.kiosk.policy import KioskPolicy

log = structlog.get_logger(__name__)

_LOBBY_HEADERS = [
    {"name": "Content-Type", "value": "text/html; charset=utf-8"},
    {"name": "Cache-Control", "value": "no-store"},
]


class CustomerGate(KioskGate):
    """The allowlist with the start screen and the operator's controls (one per browser)."""

    def __init__(self, ctx: CaptureContext, policy: KioskPolicy) -> None:
        super().__init__(ctx, policy)
        self.started = asyncio.Event()
        self.ended = asyncio.Event()
        self.activity = asyncio.Event()
        self.last_activity = time.monotonic()

    def attach(
        self, session_id: str, info: dict[str, Any], parent_session: str | None
    ) -> list[asyncio.Future[dict[str, Any]]]:
        """The allowlist's setup, then the controls' binding and script (pages and iframes)."""
        futs = super().attach(session_id, info, parent_session)
        if info.get("type") in ("page", "iframe"):
            send = self.ctx.cdp.send_nowait
            binding = {"name": CONTROL_BINDING, "executionContextName": CONTROL_WORLD}
            script = {"source": control_script(), "worldName": CONTROL_WORLD}
            futs.append(send("Runtime.addBinding", binding, session_id))
            futs.append(
                send(
                    "Page.addScriptToEvaluateOnNewDocument",
                    {**script, "runImmediately": True},
                    session_id,
                )
            )
        return futs

    def event(self, method: str, params: dict[str, Any], session_id: str | None) -> None:
        """The start screen's request and the controls' messages; the rest to the allowlist."""
        if method == "Fetch.requestPaused" and session_id is None and self._lobby(params):
            return
        if method == "Runtime.bindingCalled" and params.get("name") == CONTROL_BINDING:
            self._control(params, session_id)
            return
        super().event(method, params, session_id)

    def _lobby(self, p: dict[str, Any]) -> bool:
        """Serve the start screen to a top-level page until the session starts."""
        if not is_request_stage(p) or self.started.is_set():
            return False
        url = str(p.get("request", {}).get("url", ""))
        t = self.ctx.targets.find(str(p.get("frameId", "")))
        if url != LOBBY_URL or p.get("resourceType") != "Document" or t is None or not t.is_page:
            return False
        body = base64.b64encode(lobby_page(self.policy.brand).encode("utf-8")).decode("ascii")
        params = {"responseCode": 200, "responseHeaders": _LOBBY_HEADERS, "body": body}
        self.ctx.cdp.fire("Fetch.fulfillRequest", {"requestId": p["requestId"], **params})
        return True

    def _control(self, p: dict[str, Any], session_id: str | None) -> None:
        t = self.ctx.targets.get(session_id or "")
        ctx_id = int(p.get("executionContextId", -1))
        if t is None or t.contexts.get(ctx_id, ("", ""))[1] != CONTROL_WORLD:
            return  # only our own world can call it; anything else is ignored
        what = str(p.get("payload", ""))
        if what == "start" and t.is_page:
            self.started.set()
        elif what == "end" and self.started.is_set():
            self.ended.set()
        if what in ("start", "end", "activity"):
            self.last_activity = time.monotonic()
            self.activity.set()

    async def show_idle_warning(self, seconds: int) -> int:
        """Show the idle countdown on every page; return on how many it shows."""
        return await self._everywhere(f"globalThis.__stKiosk.warn({int(seconds)})")

    async def hide_idle_warning(self) -> int:
        """Hide the idle countdown."""
        return await self._everywhere("globalThis.__stKiosk.hide(), true")

    async def _everywhere(self, expression: str) -> int:
        shown = 0
        for t in self.ctx.targets.all():
            if not t.is_page:
                continue
            for ctx_id, (frame, name) in list(t.contexts.items()):
                if name != CONTROL_WORLD or frame != t.target_id:
                    continue
                params = {"expression": expression, "contextId": ctx_id, "returnByValue": True}
                try:
                    answer = await self.ctx.cdp.send("Runtime.evaluate", params, t.session_id)
                except Exception as exc:  # a page going away: nothing to draw on
                    log.info("kiosk.overlay_failed", error=str(exc)[:200])
                    continue
                if answer.get("result", {}).get("value") is True:
                    shown += 1
        return shown


def customer_gate(policy: KioskPolicy, out: list[CustomerGate]) -> Callable[..., CustomerGate]:
    """The gate factory for ``CaptureSession(gate=...)``; each gate made is appended to
    ``out`` (the service reads its signals)."""

    def make(ctx: CaptureContext) -> CustomerGate:
        gate = CustomerGate(ctx, policy)
        out.append(gate)
        return gate

    return make
