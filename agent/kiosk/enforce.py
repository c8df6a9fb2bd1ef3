"""Kiosk enforcement on the agent's own CDP connection: the allowlist on every target.

:class:`KioskGate` is a capture gate (:mod:`agent.capture.gate`). On every page, popup, tab,
out-of-process iframe, worker and service worker, before it runs a script, ``Fetch`` pauses
every request at the request stage and the gate answers it at once (never awaiting anything):
allowed requests continue; a blocked document (top level or frame) is fulfilled with the
branded block page (status 403) under its own URL; a blocked subresource fails with
``BlockedByClient``. What never reaches ``Fetch`` (a ``file:``, ``chrome:``, ``data:`` or
``devtools:`` document; a new tab from a shortcut) is caught when it commits
(``Page.frameNavigated`` / ``Target.targetInfoChanged``): the frame is replaced by the block
page, or an extra tab closed. Every refusal is one ``kiosk.blocked`` event saying how it was
attempted, from the navigation request the renderer announced (``Page.frameRequestedNavigation``),
the redirect that led to it, or the kind of target it came from.
"""

from __future__ import annotations

import asyncio
import base64
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import structlog

from agent.capture.gate import is_request_stage
from agent.kiosk.allowlist import Scope
from agent.kiosk.blockpage import BLOCK_STATUS, block_page
from agent.kiosk.urls import scheme_of

if TYPE_CHECKING:
    from agent.capture.context import CaptureContext
    from agent.capture.state import Target
    from agent.kiosk.policy import KioskPolicy

log = structlog.get_logger(__name__)

# Page.frameRequestedNavigation reason -> how the attempt is recorded
_HOW = {
    "anchorClick": "link",
    "formSubmissionPost": "form-post",
    "formSubmissionGet": "form-get",
    "metaTagRefresh": "meta-refresh",
    "httpHeaderRefresh": "refresh-header",
    "scriptInitiated": "script",
    "reload": "reload",
    "historyNavigation": "history",
    "initialFrameNavigation": "iframe",
}
_NEW_TARGET = ("newTab", "newWindow")
_NEVER_FETCHED = ("file", "chrome", "data", "devtools", "chrome-untrusted", "view-source")
_REMEMBER = 256
_WORKERS = ("worker", "shared_worker", "service_worker")
_ALL_REQUESTS = [{"urlPattern": "*", "requestStage": "Request"}]
_CHROMIUM_REFUSALS = (
    ("Not allowed to navigate top frame to data URL: ", "data-url"),
    ("Not allowed to load local resource: ", "file"),
)


class KioskGate:
    """The allowlist, enforced on every target of one browser (one instance per launch)."""

    def __init__(self, ctx: CaptureContext, policy: KioskPolicy) -> None:
        self.ctx = ctx
        self.policy = policy
        self.allow = policy.allowlist
        self._pages: dict[str, str | None] = {}  # page target id -> opener id
        self._workers: dict[str, str] = {}  # worker target id -> its type
        self._opened: OrderedDict[str, None] = OrderedDict()  # URLs of window.open()
        self._requested: OrderedDict[str, tuple[str, str]] = OrderedDict()  # url -> reason, disp
        self._fulfilled: set[tuple[str, str]] = set()  # (frame id, url) showing our block page
        self._contexts: set[str] = set()
        self.blocked = 0

    # -- the capture gate interface ------------------------------------------------------
    def browser_setup(self) -> list[asyncio.Future[dict[str, Any]]]:
        """``Fetch`` on the browser target: every request of every target, paused before it
        is sent, including a tab the browser opens itself (a dropped link), whose document
        request starts before the tab can be attached."""
        return [self.ctx.cdp.send_nowait("Fetch.enable", {"patterns": _ALL_REQUESTS})]

    def fetch_patterns(self) -> list[dict[str, str]]:
        """Nothing per target: the browser-wide interception sees every request once."""
        return []

    def wants(self, target_type: str) -> bool:
        """Service workers stay attached when they are to be closed."""
        return target_type == "service_worker" and self.policy.service_workers == "block"

    def attach(
        self, session_id: str, info: dict[str, Any], parent_session: str | None
    ) -> list[asyncio.Future[dict[str, Any]]]:
        """Queue the gate's setup on a target that waits for the debugger."""
        send = self.ctx.cdp.send_nowait
        ttype = str(info.get("type", ""))
        if ttype == "service_worker":  # only asked for when service workers are blocked
            self._emit(
                str(info.get("url", "")),
                "service-worker",
                "subresource",
                "service workers are blocked",
                None,
                frame=None,
                extra={"caught": "attach"},
            )
            return [send("Target.closeTarget", {"targetId": info.get("targetId", "")})]
        futs = [send("Log.enable", None, session_id)]
        ctx_id = info.get("browserContextId")
        if ttype == "page" and ctx_id and ctx_id not in self._contexts:
            self._contexts.add(ctx_id)
            futs.append(send("Browser.setDownloadBehavior", self._downloads(str(ctx_id))))
        if ttype == "page":
            self.ctx.tasks.spawn(self._check_new_page(str(info.get("targetId", "")), info))
        return futs

    def _downloads(self, ctx_id: str) -> dict[str, Any]:
        params: dict[str, Any] = {"browserContextId": ctx_id, "eventsEnabled": True}
        if self.policy.downloads == "allow":
            return {
                **params,
                "behavior": "allowAndName",
                "downloadPath": str(self.ctx.downloads_dir),
            }
        return {**params, "behavior": "deny"}

    def event(self, method: str, params: dict[str, Any], session_id: str | None) -> None:
        """Answer request-stage pauses; watch navigations and new tabs."""
        if method == "Fetch.requestPaused" and session_id is None and is_request_stage(params):
            self._paused(params)
        elif method in ("Target.targetCreated", "Target.targetInfoChanged"):
            info = params.get("targetInfo", {})
            tid = str(info.get("targetId", ""))
            if info.get("type") == "page":
                self._pages[tid] = info.get("openerId")
            elif info.get("type") in _WORKERS:
                self._workers[tid] = str(info.get("type"))
        elif method == "Page.windowOpen":
            self._opened[str(params.get("url", ""))] = None
            while len(self._opened) > _REMEMBER:
                self._opened.popitem(last=False)
        elif method == "Page.frameRequestedNavigation":
            self._remember(params)
        elif method == "Page.frameNavigated" and session_id:
            self._committed(params.get("frame", {}), session_id)
        elif method == "Log.entryAdded" and session_id:
            self._refused_by_chromium(params.get("entry", {}), session_id)

    # -- Fetch: every request, before it is sent ------------------------------------------
    def _paused(self, p: dict[str, Any]) -> None:
        rid = p["requestId"]
        fire = self.ctx.cdp.fire
        try:
            req = p.get("request", {})
            url = str(req.get("url", "")) + str(req.get("urlFragment", ""))
            frame = str(p.get("frameId", ""))
            scope = self._scope(p, frame)
            decision = self.allow.decide(url, scope)
        except Exception:  # fail closed, and never leave the request paused
            log.exception("kiosk.decide_failed")
            fire("Fetch.failRequest", {"requestId": rid, "errorReason": "BlockedByClient"})
            return
        if decision.allowed:
            fire("Fetch.continueRequest", {"requestId": rid})
            return
        how = self._how(p, frame, scope, url)
        extra = {"method": req.get("method", "GET"), "resource_type": p.get("resourceType", "")}
        closing = scope == "top" and how in ("window.open", "drop") and self._other_page(frame)
        if scope == "subresource" or closing:
            fire("Fetch.failRequest", {"requestId": rid, "errorReason": "BlockedByClient"})
        else:
            self._fulfil_block(rid, url, frame)
        if closing:  # a popup or new tab whose first document is refused: closed
            extra["closed"] = True
            self.ctx.tasks.spawn(self.close_or_restart(frame))
        t = self.ctx.targets.find(frame) or self.ctx.targets.find(
            self.ctx.targets.page_of_frame(frame) or ""
        )
        self._emit(url, how, scope, decision.reason, t, frame=frame, extra=extra)

    def _other_page(self, target_id: str) -> bool:
        return any(t.is_page and t.target_id != target_id for t in self.ctx.targets.all())

    def _scope(self, p: dict[str, Any], frame: str) -> Scope:
        if p.get("resourceType") != "Document":
            return "subresource"
        t = self.ctx.targets.find(frame)
        return "top" if frame in self._pages or (t is not None and t.is_page) else "frame"

    def _how(self, p: dict[str, Any], frame: str, scope: Scope, url: str) -> str:
        if p.get("redirectedRequestId"):
            return "redirect"
        worker = self._workers.get(frame)
        if worker is not None:  # a worker's requests carry its target id as their frame
            return "service-worker" if worker == "service_worker" else "worker"
        if scope == "subresource":
            return "subresource"
        reason, disposition = self._requested.get(url, ("", ""))
        if reason == "anchorClick":
            return "link"
        if url in self._opened:
            return "window.open"  # window.open() or a target=_blank form/link
        if reason == "other":
            return "drop"  # Chromium's reason for a dropped link or file (no window.open)
        if reason and reason not in ("initialFrameNavigation", "other"):
            return _HOW.get(reason, reason)
        t = self.ctx.targets.find(frame)
        fresh = t is None or not t.frame_urls
        if scope == "top" and fresh and self._pages.get(frame):
            return "window.open"  # a popup's first document (window.open or target=_blank)
        if scope == "top" and fresh and t is None:
            return "new-tab"  # a tab the browser opened itself: a dropped link, a shortcut
        return "iframe" if scope == "frame" else "typed"

    def _fulfil_block(self, rid: str, url: str, frame_id: str) -> None:
        body = block_page(url, self.policy.brand).encode("utf-8")
        self._fulfilled.add((frame_id, url))
        self.ctx.cdp.fire(
            "Fetch.fulfillRequest",
            {
                "requestId": rid,
                "responseCode": BLOCK_STATUS,
                "responseHeaders": [
                    {"name": "Content-Type", "value": "text/html; charset=utf-8"},
                    {"name": "Cache-Control", "value": "no-store"},
                ],
                "body": base64.b64encode(body).decode("ascii"),
            },
        )

    def _remember(self, p: dict[str, Any]) -> None:
        url = str(p.get("url", ""))
        self._requested[url] = (str(p.get("reason", "")), str(p.get("disposition", "")))
        self._requested.move_to_end(url)
        while len(self._requested) > _REMEMBER:
            self._requested.popitem(last=False)

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
                self._emit(
                    url,
                    how,
                    "top",
                    "refused by Chromium",
                    self.ctx.targets.get(sid),
                    frame=None,
                    extra={"caught": "chromium"},
                )
                return

    # -- what never reaches Fetch: caught when it commits ----------------------------------
    def _committed(self, frame: dict[str, Any], sid: str) -> None:
        url = str(frame.get("url", "")) + str(frame.get("urlFragment", ""))
        fid = str(frame.get("id", ""))
        t = self.ctx.targets.get(sid)
        if t is None or (fid, url) in self._fulfilled:
            return
        top = t.is_page and not frame.get("parentId")
        scope: Scope = "top" if top else "frame"
        if (
            scheme_of(url) in ("http", "https", "chrome-error")
            or self.allow.decide(url, scope).allowed
        ):
            return
        reason, _disp = self._requested.get(url, ("", ""))
        how = "drop" if scheme_of(url) == "file" and not reason else _HOW.get(reason, "typed")
        if scheme_of(url) == "data" and not top:
            how = "iframe"
        self._emit(
            url,
            how,
            scope,
            f"scheme {scheme_of(url)} (caught at commit)",
            t,
            frame=fid,
            extra={"caught": "commit"},
        )
        self.ctx.tasks.spawn(self._replace(t, fid, url))

    async def _replace(self, t: Target, frame_id: str, url: str) -> None:
        """Show the block page in a frame that committed a document it must not show."""
        cdp, sid = self.ctx.cdp, t.session_id
        try:
            await cdp.send(
                "Page.navigate", {"url": "about:blank", "frameId": frame_id}, sid, timeout=10
            )
            html = block_page(url, self.policy.brand)
            await cdp.send(
                "Page.setDocumentContent", {"frameId": frame_id, "html": html}, sid, timeout=10
            )
        except Exception as exc:
            log.warning("kiosk.replace_failed", error=str(exc)[:200])

    async def _check_new_page(self, target_id: str, info: dict[str, Any]) -> None:
        """A tab the browser opened on a page that never reaches Fetch (Ctrl+T's new-tab
        page, a devtools window): closed when another tab is left, else sent to the start page."""
        await asyncio.sleep(0)
        url = str(info.get("url", ""))
        if not url or scheme_of(url) not in _NEVER_FETCHED:
            return
        t = self.ctx.targets.find(target_id)
        how = "new-tab" if "newtab" in url or "new-tab" in url else "shortcut"
        self._emit(
            url,
            how,
            "top",
            f"scheme {scheme_of(url)}",
            t,
            frame=None,
            extra={"caught": "new-target"},
        )
        await self.close_or_restart(target_id)

    async def close_or_restart(self, target_id: str) -> None:
        """Close a tab, or send the last one to the start page."""
        others = [x for x in self.ctx.targets.all() if x.is_page and x.target_id != target_id]
        try:
            if others:
                await self.ctx.cdp.send("Target.closeTarget", {"targetId": target_id}, timeout=10)
            else:
                t = self.ctx.targets.find(target_id)
                if t is not None:
                    await self.ctx.cdp.send(
                        "Page.navigate", {"url": self.policy.start_url}, t.session_id, timeout=10
                    )
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
        frame: Any,
        extra: dict[str, Any],
    ) -> None:
        self.blocked += 1
        payload = {
            "url": url[:2048],
            "how": how,
            "scope": scope,
            "reason": reason,
            "target_type": t.type if t is not None else "",
            **extra,
        }
        self.ctx.emitter.emit(
            "kiosk.blocked",
            payload,
            page=t.page_id if t else None,
            frame=str(frame) if frame else None,
        )


def kiosk_gate(policy: KioskPolicy) -> Any:
    """The gate factory ``CaptureSession(gate=...)`` takes, for ``policy``."""
    return lambda ctx: KioskGate(ctx, policy)
