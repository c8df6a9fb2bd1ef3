"""Page-level facts: navigations, titles, dialogs and their answers, console, downloads."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from agent.capture.state import WORLD

if TYPE_CHECKING:
    from agent.capture.context import CaptureContext
    from agent.capture.state import Target

log = structlog.get_logger(__name__)

_MAX_CONSOLE_ARG = 2000
_TRANSITION_TRIES = 8  # about 1.8 s in all


def _remote_object_text(obj: dict[str, Any]) -> str:
    if "value" in obj:
        v = obj["value"]
        return v if isinstance(v, str) else str(v)
    if "unserializableValue" in obj:
        return str(obj["unserializableValue"])
    return str(obj.get("description", obj.get("type", "")))


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class PageCapture:
    """Turns ``Page.*``, console and ``Browser.download*`` events into events."""

    def __init__(self, ctx: CaptureContext) -> None:
        self.ctx = ctx
        self._downloads: dict[str, dict[str, Any]] = {}
        self._dialogs: dict[str, dict[str, Any]] = {}

    def frame_navigated(self, p: dict[str, Any], t: Target) -> None:
        """A frame committed a new document.

        A main-frame navigation also carries ``transition``: how the browser says it was
        started (``typed`` in the address bar, ``auto_bookmark``, ``link``, ``reload``,
        ``form_submit``, ``auto_toplevel`` for the agent's own start pages...), read from the
        current entry of the tab's navigation history; the event keeps the time of the commit.
        """
        fr = p.get("frame", {})
        fid = fr.get("id", "")
        url = fr.get("url", "") + fr.get("urlFragment", "")
        is_main = not fr.get("parentId")
        t.frame_urls[fid] = url
        if is_main and t.is_page:
            t.main_frame_id = fid
            t.url = url
        payload = {
            "url": url,
            "main_frame": is_main and t.is_page,
            "type": p.get("type", "Navigation"),
            "mime": fr.get("mimeType", ""),
            "parent_frame": fr.get("parentId"),
        }
        if is_main and t.is_page:
            at = self.ctx.clock.utc_ns()
            self.ctx.tasks.spawn(self._emit_with_transition(payload, t, fid, at))
            return
        self.ctx.emitter.emit("page.navigate", payload, page=t.page_id, frame=fid)

    async def _emit_with_transition(
        self, payload: dict[str, Any], t: Target, fid: str, at_utc_ns: int
    ) -> None:
        transition = None
        try:
            transition = await self._transition(t, payload["url"])
        finally:  # recorded even when capture stops meanwhile (then without a transition)
            payload["transition"] = transition
            self.ctx.emitter.emit(
                "page.navigate", payload, page=t.page_id, frame=fid, t_utc_ns=at_utc_ns
            )

    async def _transition(self, t: Target, url: str) -> str | None:
        """The transition type of the tab's current history entry once it is ``url`` (the
        browser may commit the entry a moment after the renderer reports the navigation);
        None when the tab is gone or never shows it."""
        for attempt in range(_TRANSITION_TRIES):
            try:
                res = await self.ctx.cdp.send(
                    "Page.getNavigationHistory", None, t.session_id, timeout=5
                )
            except Exception:  # e.g. "not attached to an active page" for a moment: retried
                res = {}
            entries = res.get("entries") or []
            index = int(res.get("currentIndex", -1))
            if 0 <= index < len(entries) and entries[index].get("url") == url:
                return str(entries[index].get("transitionType", "")) or None
            if not t.alive:
                return None
            await asyncio.sleep(0.05 * (attempt + 1))
        return None

    def navigated_within_document(self, p: dict[str, Any], t: Target) -> None:
        """History API or fragment navigation."""
        self.ctx.emitter.emit(
            "page.navigate",
            {
                "url": p.get("url", ""),
                "same_document": True,
                "main_frame": p.get("frameId") == t.main_frame_id,
            },
            page=t.page_id,
            frame=p.get("frameId"),
        )

    def title(self, t: Target, title: str) -> None:
        """The target's title changed (recorded without the recording notice's prefix)."""
        prefix = self.ctx.cfg.title_prefix()
        if prefix and title.startswith(prefix):
            title = title[len(prefix) :]
        if title != t.title:
            t.title = title
            if title == "about:blank" or (t.url and t.url.split("://", 1)[-1] == title):
                return  # Chromium's placeholder for a page without a <title>
            self.ctx.emitter.emit("page.title", {"title": title, "url": t.url}, page=t.page_id)

    def lifecycle(self, p: dict[str, Any], t: Target) -> None:
        """A page's main frame reached DOMContentLoaded or load: read its title."""
        if (
            p.get("name") in ("DOMContentLoaded", "load")
            and t.is_page
            and p.get("frameId") == t.main_frame_id
        ):
            self.ctx.tasks.spawn(self.read_title(t))

    async def read_title(self, t: Target) -> None:
        """Read ``document.title`` from our world (title changes are not always announced)."""
        ctx = t.world_context(t.main_frame_id or "")
        if ctx is None:
            return
        try:
            res = await self.ctx.cdp.send(
                "Runtime.evaluate",
                {"expression": "document.title", "contextId": ctx, "returnByValue": True},
                t.session_id,
                timeout=5,
            )
        except Exception:
            return
        value = res.get("result", {}).get("value")
        if isinstance(value, str) and value:
            self.title(t, value)

    def dialog_opening(self, p: dict[str, Any], t: Target) -> None:
        """alert/confirm/prompt/beforeunload appeared (the page is blocked until answered)."""
        t.dialog_open = True
        info = {
            "type": p.get("type", ""),
            "message": p.get("message", ""),
            "url": p.get("url", ""),
            "default_prompt": p.get("defaultPrompt", ""),
        }
        self._dialogs[t.session_id] = {**info, "opened_utc_ns": self.ctx.clock.utc_ns()}
        self.ctx.emitter.emit(
            "page.dialog", {**info, "phase": "opened"}, page=t.page_id, frame=p.get("frameId")
        )

    def dialog_closed(self, p: dict[str, Any], t: Target) -> None:
        """The dialog was answered: accepted or not, and the prompt text."""
        t.dialog_open = False
        for rec in t.recorders.values():  # the page was blocked on purpose: not a gap
            rec.last_mono_ns = self.ctx.clock.mono_ns()
        opened = self._dialogs.pop(t.session_id, {})
        self.ctx.emitter.emit(
            "page.dialog",
            {
                **{k: v for k, v in opened.items() if k != "opened_utc_ns"},
                "phase": "closed",
                "accepted": bool(p.get("result")),
                "user_input": p.get("userInput", ""),
                "opened_utc_ns": opened.get("opened_utc_ns"),
            },
            page=t.page_id,
            frame=p.get("frameId"),
        )

    def console(self, p: dict[str, Any], t: Target) -> None:
        """console.* from page scripts (our own world's output is not the page's)."""
        ctx = t.contexts.get(int(p.get("executionContextId", -1)))
        if ctx is not None and ctx[1] != "" and ctx[1] == WORLD:
            return
        args = [_remote_object_text(a)[:_MAX_CONSOLE_ARG] for a in p.get("args", [])[:20]]
        frame = ctx[0] if ctx else None
        payload: dict[str, Any] = {"level": p.get("type", "log"), "text": " ".join(args)}
        top = (p.get("stackTrace") or {}).get("callFrames") or []
        if top:
            payload["source"] = {
                "url": top[0].get("url", ""),
                "line": int(top[0].get("lineNumber", 0)),
            }
        self.ctx.emitter.emit("page.console", payload, page=t.page_id, frame=frame)

    def exception(self, p: dict[str, Any], t: Target) -> None:
        """An uncaught exception in a page script."""
        d = p.get("exceptionDetails", {})
        exc = d.get("exception") or {}
        text = str(exc.get("description") or d.get("text", ""))[:_MAX_CONSOLE_ARG]
        ctx = t.contexts.get(int(d.get("executionContextId", -1)))
        self.ctx.emitter.emit(
            "page.console",
            {
                "level": "exception",
                "text": text,
                "source": {"url": d.get("url", ""), "line": int(d.get("lineNumber", 0))},
            },
            page=t.page_id,
            frame=ctx[0] if ctx else None,
        )

    # -- downloads (browser-level events) ----------------------------------------------
    def download_will_begin(self, p: dict[str, Any], t: Target | None) -> None:
        """Remember the name and URL of a download about to start."""
        self._downloads[p["guid"]] = {
            "url": p.get("url", ""),
            "name": p.get("suggestedFilename", ""),
            "page": t.page_id if t else self.ctx.targets.page_of_frame(p.get("frameId", "")),
            "frame": p.get("frameId"),
        }

    def download_progress(self, p: dict[str, Any]) -> None:
        """On completion (or cancel) hash the file and record name, size and SHA-256."""
        state = p.get("state")
        if state not in ("completed", "canceled"):
            return
        info = self._downloads.pop(p["guid"], None)
        if info is None:
            return
        self.ctx.tasks.spawn(self._finish_download(p["guid"], state, info, p))

    async def _finish_download(
        self, guid: str, state: str, info: dict[str, Any], p: dict[str, Any]
    ) -> None:
        payload: dict[str, Any] = {
            "name": info["name"],
            "url": info["url"],
            "state": state,
            "size": int(p.get("receivedBytes", 0)),
        }
        if state == "completed":
            path = Path(str(p.get("filePath") or (self.ctx.downloads_dir / guid)))
            try:
                payload["sha256"] = await asyncio.to_thread(_sha256_file, path)
                payload["size"] = path.stat().st_size
            except OSError as exc:
                payload["sha256"] = None
                payload["error"] = f"cannot read the downloaded file: {exc.strerror}"
        self.ctx.emitter.emit("page.download", payload, page=info["page"], frame=info["frame"])
