"""The kiosk gate of one customer's browser: the allowlist, plus the start screen and the
operator's controls (:mod:`agent.kiosk.lobby`).

:class:`CustomerGate` answers the start screen's URL itself until the operator starts the
session (afterwards that URL is refused like any other that is not allowed, so the customer
cannot go back to the start screen), installs the controls' isolated world and binding on
every page and iframe, and turns what the controls report into signals the kiosk service
waits on: ``started``, ``ended`` and the idle clock (``last_activity``, ``activity``).

A supervisor's pause (:meth:`CustomerGate.pause`) holds on every page and iframe, also those
opened or navigated during it: each target gets a script run on each of its new documents
that pauses the controls there (the "please wait for assistance" screen, trusted input
stopped), and each page ``Input.setIgnoreInputEvents`` (the browser drops the input before
any page sees it). A Start that ``start_refusal`` refuses (``--require-supervisor`` with no
supervisor) does not start the session; its reason shows on the start screen and is recorded
(``kiosk.start_refused``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog

from agent.capture.gate import is_request_stage
from agent.kiosk.enforce import KioskGate
from agent.kiosk.lobby import CONTROL_BINDING, CONTROL_WORLD, LOBBY_URL, control_script, lobby_page

if TYPE_CHECKING:
    from agent.capture.context import CaptureContext
    from agent.capture.state import Target
    from agent.kiosk.policy import KioskPolicy

log = structlog.get_logger(__name__)

_PAUSE = "globalThis.__stKiosk.pause()"

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
        self.paused = False
        self.start_refusal: Callable[[], str | None] = lambda: None
        self._pause_scripts: dict[str, str] = {}  # CDP session id -> script identifier

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
            if self.paused:  # opened during a pause: paused from its first document
                futs.extend(self._pause_target(session_id, info.get("type") == "page"))
        return futs

    def event(self, method: str, params: dict[str, Any], session_id: str | None) -> None:
        """The start screen's request and the controls' messages; the rest to the allowlist."""
        if method == "Fetch.requestPaused" and session_id is None and self._lobby(params):
            return
        if method == "Runtime.bindingCalled" and params.get("name") == CONTROL_BINDING:
            self._control(params, session_id)
            return
        if method == "Page.frameNavigated" and self.paused and session_id:
            # A window reused by its first real document (a same-origin popup leaving its
            # initial about:blank) keeps its world, where no new-document script runs again.
            t = self.ctx.targets.get(session_id)
            if t is not None:
                self.ctx.tasks.spawn(self._everywhere(_PAUSE, top_only=False, targets=[t]))
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
        if what == "start" and t.is_page and not self.started.is_set():
            refused = self.start_refusal()
            if refused is not None:
                self._refuse_start(refused)
                return
            self.started.set()
        elif what == "end" and self.started.is_set():
            self.ended.set()
        if what in ("start", "end", "activity"):
            self.last_activity = time.monotonic()
            self.activity.set()

    def _refuse_start(self, reason: str) -> None:
        """Record a refused Start (held with the start screen's events: it opens the next
        session's record) and show ``reason`` on the start screen."""
        log.info("kiosk.start_refused", reason=reason)
        self.ctx.emitter.emit("kiosk.start_refused", {"reason": reason})
        self.ctx.tasks.spawn(self.note(reason))

    async def note(self, text: str) -> int:
        """Write ``text`` on the start screen (where it shows); return on how many pages."""
        return await self._everywhere(f"globalThis.__stKiosk.note({json.dumps(text)})")

    async def pause(self) -> int:
        """Pause every page and iframe (and those opened until :meth:`resume`); return on how
        many pages the "please wait for assistance" screen shows."""
        self.paused = True
        futs: list[asyncio.Future[dict[str, Any]]] = []
        for t in self.ctx.targets.all():
            if t.type in ("page", "iframe"):
                futs.extend(self._pause_target(t.session_id, t.is_page))
        for r in await asyncio.gather(*futs, return_exceptions=True):
            if isinstance(r, BaseException):  # a target going away: nothing left to pause
                log.info("kiosk.pause_failed", error=str(r)[:200])
        return await self._everywhere(_PAUSE, top_only=False)

    def _pause_target(self, sid: str, page: bool) -> list[asyncio.Future[dict[str, Any]]]:
        send = self.ctx.cdp.send_nowait
        params = {"source": _PAUSE, "worldName": CONTROL_WORLD, "runImmediately": True}
        added = send("Page.addScriptToEvaluateOnNewDocument", params, sid)
        added.add_done_callback(lambda f: self._added(sid, f))
        futs = [added]
        if page:
            futs.append(send("Input.setIgnoreInputEvents", {"ignore": True}, sid))
        return futs

    def _added(self, sid: str, fut: asyncio.Future[dict[str, Any]]) -> None:
        if not fut.cancelled() and fut.exception() is None:
            self._pause_scripts[sid] = str(fut.result().get("identifier", ""))

    async def resume(self) -> int:
        """Lift the pause everywhere; return on how many pages its screen was removed."""
        self.paused = False
        scripts, self._pause_scripts = self._pause_scripts, {}
        futs: list[asyncio.Future[dict[str, Any]]] = []
        send = self.ctx.cdp.send_nowait
        for t in self.ctx.targets.all():
            if t.session_id in scripts:
                remove = {"identifier": scripts[t.session_id]}
                futs.append(send("Page.removeScriptToEvaluateOnNewDocument", remove, t.session_id))
            if t.is_page:
                futs.append(send("Input.setIgnoreInputEvents", {"ignore": False}, t.session_id))
        for r in await asyncio.gather(*futs, return_exceptions=True):
            if isinstance(r, BaseException):
                log.info("kiosk.resume_failed", error=str(r)[:200])
        return await self._everywhere("globalThis.__stKiosk.resume()", top_only=False)

    async def show_idle_warning(self, seconds: int) -> int:
        """Show the idle countdown on every page; return on how many it shows."""
        return await self._everywhere(f"globalThis.__stKiosk.warn({int(seconds)})")

    async def hide_idle_warning(self) -> int:
        """Hide the idle countdown."""
        return await self._everywhere("globalThis.__stKiosk.hide(), true")

    async def _everywhere(
        self, expression: str, *, top_only: bool = True, targets: list[Target] | None = None
    ) -> int:
        """Evaluate ``expression`` in the controls' world of the top frame of every page
        (``top_only``; else of every frame of every page and iframe) of ``targets`` (default:
        all); return how many top frames of pages answered ``true``."""
        shown = 0
        for t in self.ctx.targets.all() if targets is None else targets:
            if top_only and not t.is_page:
                continue
            for ctx_id, (frame, name) in list(t.contexts.items()):
                if name != CONTROL_WORLD or (top_only and frame != t.target_id):
                    continue
                params = {"expression": expression, "contextId": ctx_id, "returnByValue": True}
                try:
                    answer = await self.ctx.cdp.send("Runtime.evaluate", params, t.session_id)
                except Exception as exc:  # a page going away: nothing to draw on
                    log.info("kiosk.overlay_failed", error=str(exc)[:200])
                    continue
                top = t.is_page and frame == t.target_id
                if top and answer.get("result", {}).get("value") is True:
                    shown += 1
        return shown


def customer_gate(
    policy: KioskPolicy,
    out: list[CustomerGate],
    start_refusal: Callable[[], str | None] | None = None,
) -> Callable[..., CustomerGate]:
    """The gate factory for ``CaptureSession(gate=...)``; each gate made is appended to
    ``out`` (the service reads its signals); ``start_refusal`` says why Start may not open
    a session now (None: it may)."""

    def make(ctx: CaptureContext) -> CustomerGate:
        gate = CustomerGate(ctx, policy)
        if start_refusal is not None:
            gate.start_refusal = start_refusal
        out.append(gate)
        return gate

    return make
