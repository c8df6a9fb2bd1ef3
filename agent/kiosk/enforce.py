"""Kiosk enforcement on the agent's own CDP connection: the allowlist on every target.

:class:`KioskGate` is a capture gate (:mod:`agent.capture.gate`). ``Fetch`` is enabled once
on the browser target, so every request of every page, popup, tab, iframe, worker and service
worker pauses at the request stage, including the document request of a tab the browser opens
by itself, which starts before that tab could be attached. The gate answers each pause at once
(it never awaits in between): allowed requests continue; a refused document is fulfilled with
the branded block page (status 403) under its own URL, or, for a popup or dropped-link tab,
failed and the tab closed; a refused subresource fails with ``BlockedByClient``.

What never reaches ``Fetch`` is caught elsewhere: a ``data:`` frame or another non-network
document when it commits (``Page.frameNavigated``: the frame is replaced by the block page);
a tab opened on Chromium's new-tab page (Ctrl+T, Ctrl+N) when it is attached (closed); the
top-level ``data:`` and ``file:`` navigations Chromium refuses by itself from its ``security``
log entries (recorded); a WebSocket handshake, refused by the proxy rules of
:func:`agent.kiosk.policy.proxy_args`, from ``Network.webSocketCreated`` (recorded). Each
refusal is one ``kiosk.blocked`` event naming how it was attempted (:mod:`agent.kiosk.attempts`).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog

from agent.capture.gate import is_request_stage
from agent.kiosk.allowlist import Decision, Scope
from agent.kiosk.attempts import REASONS, Attempts, Bounded
from agent.kiosk.blockpage import BLOCK_STATUS, block_page
from agent.kiosk.policy import proxy_args
from agent.kiosk.urls import scheme_of

if TYPE_CHECKING:
    from agent.capture.context import CaptureContext
    from agent.capture.state import Target
    from agent.kiosk.policy import KioskPolicy

log = structlog.get_logger(__name__)

_ALL_REQUESTS = [{"urlPattern": "*", "requestStage": "Request"}]
_NEW_TAB_SCHEMES = ("chrome", "chrome-untrusted", "devtools", "view-source")
_COMMIT_IGNORED = ("http", "https", "chrome-error")  # gated by Fetch / the browser's error page
_CHROMIUM_REFUSALS = (
    ("Not allowed to navigate top frame to data URL: ", "data-url"),
    ("Not allowed to load local resource: ", "file"),
)
_BLOCK_HEADERS = [
    {"name": "Content-Type", "value": "text/html; charset=utf-8"},
    {"name": "Cache-Control", "value": "no-store"},
]


class KioskGate:
    """The allowlist, enforced on every target of one browser (one instance per launch)."""

    def __init__(self, ctx: CaptureContext, policy: KioskPolicy) -> None:
        self.ctx = ctx
        self.policy = policy
        self.allow = policy.allowlist
        self.attempts = Attempts()
        self._fulfilled = Bounded()  # "frame id url" of frames showing our block page
        self._contexts: set[str] = set()
        self.blocked = 0

    # -- the capture gate interface ------------------------------------------------------
    def browser_setup(self) -> list[asyncio.Future[dict[str, Any]]]:
        """``Fetch`` on the browser target: every request of every target, paused before it
        is sent (one interception only: none per target, so nothing pauses twice)."""
        return [self.ctx.cdp.send_nowait("Fetch.enable", {"patterns": _ALL_REQUESTS})]

    def fetch_patterns(self) -> list[dict[str, str]]:
        """Nothing per target: the browser-wide interception sees every request once."""
        return []

    def attach(
        self, session_id: str, info: dict[str, Any], parent_session: str | None
    ) -> list[asyncio.Future[dict[str, Any]]]:
        """Queue the gate's setup on a target that waits for the debugger."""
        send = self.ctx.cdp.send_nowait
        ttype = str(info.get("type", ""))
        url = str(info.get("url", ""))
        futs = [send("Log.enable", None, session_id)]
        ctx_id = str(info.get("browserContextId") or "")
        if ttype == "page" and ctx_id and ctx_id not in self._contexts:
            self._contexts.add(ctx_id)
            futs.append(send("Browser.setDownloadBehavior", self._downloads(ctx_id)))
        if ttype == "page" and scheme_of(url) in _NEW_TAB_SCHEMES:
            t = self.ctx.targets.find(str(info.get("targetId", "")))
            self._emit(url, "new-tab", "top", f"scheme {scheme_of(url)}", t, caught="attach")
            self.ctx.tasks.spawn(self.close_or_restart(str(info.get("targetId", ""))))
        return futs

    def _downloads(self, ctx_id: str) -> dict[str, Any]:
        params: dict[str, Any] = {"browserContextId": ctx_id, "eventsEnabled": True}
        if self.policy.downloads == "allow":
            path = str(self.ctx.downloads_dir)
            return {**params, "behavior": "allowAndName", "downloadPath": path}
        return {**params, "behavior": "deny"}

    def event(self, method: str, params: dict[str, Any], session_id: str | None) -> None:
        """Answer request-stage pauses; watch targets, navigations and Chromium's refusals."""
        if method == "Fetch.requestPaused" and session_id is None and is_request_stage(params):
            self._paused(params)
            return
        self.attempts.observe(method, params)
        if method == "Page.frameNavigated" and session_id:
            self._committed(params.get("frame", {}), session_id)
        elif method == "Log.entryAdded" and session_id:
            self._refused_by_chromium(params.get("entry", {}), session_id)
        elif method == "Network.webSocketCreated" and session_id:
            self._websocket(str(params.get("url", "")), session_id)

    # -- Fetch: every request, before it is sent ------------------------------------------
    def _paused(self, p: dict[str, Any]) -> None:
        """Answer one paused request, whatever happens: a request is never left paused."""
        rid = p["requestId"]
        answered = False

        def answer(method: str, params: dict[str, Any]) -> None:
            nonlocal answered
            answered = True
            self.ctx.cdp.fire(method, {"requestId": rid, **params})

        try:
            self._decide(p, answer)
        except Exception:  # fail closed
            log.exception("kiosk.decide_failed")
            if not answered:
                answer("Fetch.failRequest", {"errorReason": "BlockedByClient"})

    def _decide(self, p: dict[str, Any], answer: Callable[[str, dict[str, Any]], None]) -> None:
        req = p.get("request", {})
        url = str(req.get("url", "")) + str(req.get("urlFragment", ""))
        frame = str(p.get("frameId", ""))
        t = self.ctx.targets.find(frame)
        scope: Scope = "subresource"
        if p.get("resourceType") == "Document":
            top = self.attempts.is_top(frame, t is not None and t.is_page)
            scope = "top" if top else "frame"
        decision = self.allow.decide(url, scope)
        if self.policy.service_workers == "block" and self.attempts.is_service_worker(frame):
            decision = Decision(False, "service workers are blocked")
        if decision.allowed:
            answer("Fetch.continueRequest", {})
            return
        fresh = t is None or not t.frame_urls
        how = self.attempts.how(p, scope, url, fresh)
        extra: dict[str, Any] = {"method": req.get("method", "GET")}
        extra["resource_type"] = p.get("resourceType", "")
        closing = scope == "top" and how in ("window.open", "drop") and self._other_page(frame)
        if scope == "subresource" or closing:
            answer("Fetch.failRequest", {"errorReason": "BlockedByClient"})
        else:
            self._fulfilled.put(f"{frame} {url}", None)
            body = base64.b64encode(block_page(url, self.policy.brand).encode("utf-8"))
            answer(
                "Fetch.fulfillRequest",
                {
                    "responseCode": BLOCK_STATUS,
                    "responseHeaders": _BLOCK_HEADERS,
                    "body": body.decode("ascii"),
                },
            )
        if closing:  # a popup or new tab whose first document is refused: closed
            extra["closed"] = True
            self.ctx.tasks.spawn(self.close_or_restart(frame))
        owner = t or self.ctx.targets.find(self.ctx.targets.page_of_frame(frame) or "")
        self._emit(url, how, scope, decision.reason, owner, frame=frame, extra=extra)

    def _other_page(self, target_id: str) -> bool:
        return any(t.is_page and t.target_id != target_id for t in self.ctx.targets.all())

    # -- what never reaches Fetch ------------------------------------------------------------
    def _refused_by_chromium(self, entry: dict[str, Any], sid: str) -> None:
        """Chromium's own refusal of a top-level ``data:`` or a ``file:`` navigation from a
        web page (no navigation event exists for those): recorded, nothing else to do. Page
        script cannot write ``security`` entries (its console messages are not Log entries)."""
        if entry.get("source") != "security":
            return
        text = str(entry.get("text", ""))
        for prefix, how in _CHROMIUM_REFUSALS:
            if text.startswith(prefix):
                url = text[len(prefix) :]
                if how == "file" and scheme_of(url) != "file":
                    how = "local-resource"
                t = self.ctx.targets.get(sid)
                self._emit(url, how, "top", "refused by Chromium", t, caught="chromium")
                return

    def _websocket(self, url: str, sid: str) -> None:
        """A WebSocket never reaches ``Fetch``: one to an origin the allowlist does not allow
        (as a subresource) is refused by the proxy rules (``policy.proxy_args``); recorded."""
        http = "http" + url[2:] if url.startswith(("ws:", "wss:")) else url
        decision = self.allow.decide(http, "subresource")
        if decision.allowed or not proxy_args(self.policy):
            return
        t = self.ctx.targets.get(sid)
        self._emit(url, "websocket", "subresource", decision.reason, t, caught="proxy")

    def _committed(self, frame: dict[str, Any], sid: str) -> None:
        """A document that bypassed Fetch committed (a ``data:`` frame): replace it."""
        url = str(frame.get("url", "")) + str(frame.get("urlFragment", ""))
        fid = str(frame.get("id", ""))
        t = self.ctx.targets.get(sid)
        if t is None or f"{fid} {url}" in self._fulfilled or scheme_of(url) in _COMMIT_IGNORED:
            return
        scope: Scope = "top" if t.is_page and not frame.get("parentId") else "frame"
        if self.allow.decide(url, scope).allowed:
            return
        reason = self.attempts.reason(url)
        how = REASONS.get(reason, "iframe" if scope == "frame" else "typed")
        why = f"scheme {scheme_of(url)} (caught at commit)"
        self._emit(url, how, scope, why, t, frame=fid, caught="commit")
        self.ctx.tasks.spawn(self._replace(t, fid, url))

    async def _replace(self, t: Target, frame_id: str, url: str) -> None:
        """Show the block page in a frame that committed a document it must not show."""
        cdp, sid = self.ctx.cdp, t.session_id
        try:
            blank = {"url": "about:blank", "frameId": frame_id}
            await cdp.send("Page.navigate", blank, sid, timeout=10)
            html = block_page(url, self.policy.brand)
            await cdp.send("Page.setDocumentContent", {"frameId": frame_id, "html": html}, sid)
        except Exception as exc:
            log.warning("kiosk.replace_failed", error=str(exc)[:200])

    async def close_or_restart(self, target_id: str) -> None:
        """Close a tab, or send the last one left to the start page."""
        try:
            if self._other_page(target_id):
                await self.ctx.cdp.send("Target.closeTarget", {"targetId": target_id}, timeout=10)
                return
            t = self.ctx.targets.find(target_id)
            if t is not None:
                start = {"url": self.policy.start_url}
                await self.ctx.cdp.send("Page.navigate", start, t.session_id, timeout=10)
        except Exception as exc:
            log.warning("kiosk.close_failed", error=str(exc)[:200])

    # -- events ---------------------------------------------------------------------------
    def _emit(
        self,
        url: str,
        how: str,
        scope: str,
        reason: str,
        t: Target | None,
        *,
        frame: str | None = None,
        caught: str = "fetch",
        extra: dict[str, Any] | None = None,
    ) -> None:
        """One ``kiosk.blocked`` event; ``caught`` says where (fetch, commit, attach, chromium,
        proxy)."""
        self.blocked += 1
        payload = {
            "url": url[:2048],
            "how": how,
            "scope": scope,
            "reason": reason,
            "caught": caught,
            "target_type": t.type if t is not None else "",
            **(extra or {}),
        }
        page = t.page_id if t is not None else None
        self.ctx.emitter.emit("kiosk.blocked", payload, page=page, frame=frame or None)


def kiosk_gate(policy: KioskPolicy) -> Callable[[CaptureContext], KioskGate]:
    """The gate factory ``CaptureSession(gate=...)`` takes, for ``policy``."""
    return lambda ctx: KioskGate(ctx, policy)
