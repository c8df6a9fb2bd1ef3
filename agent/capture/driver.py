"""Driving the recorded browser over the agent's own CDP pipe (nothing else can attach).

Scripts (the demo trader, benchmarks, tests) drive the recorded Chromium through this small
driver instead of Playwright: Playwright would need a connection of its own to the browser,
and the recorded browser has none to offer but the agent's pipe. Input is real browser input
(``Input.dispatchMouseEvent`` / ``Input.dispatchKeyEvent``, trusted events); queries run in a
private isolated world of the driver. Targets are found through the capture engine's
auto-attach registry, so popups, tabs and out-of-process iframes are reachable too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from agent.capture.cdp import CDPConnection
from agent.capture.driver_page import PageDriver
from agent.capture.driver_scope import poll
from agent.capture.state import Target, TargetRegistry
from agent.errors import CaptureError

log = structlog.get_logger(__name__)

DialogHandler = Callable[["Dialog"], Awaitable[None]]


@dataclass
class Dialog:
    """An open alert/confirm/prompt/beforeunload; answer it once."""

    type: str
    message: str
    default_value: str
    _conn: CDPConnection
    _session_id: str

    async def accept(self, prompt_text: str | None = None) -> None:
        """Press OK (typing ``prompt_text`` into a prompt first)."""
        params: dict[str, Any] = {"accept": True}
        if prompt_text is not None:
            params["promptText"] = prompt_text
        await self._conn.send("Page.handleJavaScriptDialog", params, self._session_id)

    async def dismiss(self) -> None:
        """Press Cancel."""
        await self._conn.send("Page.handleJavaScriptDialog", {"accept": False}, self._session_id)


@dataclass
class Download:
    """A finished download: the name the site suggested and the file on disk."""

    suggested_filename: str
    path: Path
    state: str


@dataclass
class Expectation:
    """What an ``expect_*`` block waits for: ``await exp.value`` after the block."""

    _fut: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def value(self) -> asyncio.Future[Any]:
        return self._fut


class BrowserDriver:
    """Drives every page of one recorded browser through the agent's CDP connection."""

    def __init__(
        self,
        conn: CDPConnection,
        registry: TargetRegistry,
        *,
        headless: bool,
        downloads_dir: Path,
    ) -> None:
        self.conn = conn
        self.registry = registry
        self.headless = headless
        self.downloads_dir = downloads_dir
        self._lifecycle: dict[str, set[str]] = {}  # loader id -> lifecycle events seen
        self._dialog_handlers: dict[str, DialogHandler] = {}  # page target id -> handler
        self._downloads: dict[str, str] = {}  # guid -> suggested name
        self._download_waiters: list[asyncio.Future[Download]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        conn.on_event(self._event)

    # -- pages --------------------------------------------------------------------------
    async def new_page(self, url: str = "about:blank", timeout: float = 20.0) -> PageDriver:
        """Open a tab (instrumented by capture before it runs) and return its driver."""
        res = await self.conn.send("Target.createTarget", {"url": url})
        target_id = str(res["targetId"])
        t = await poll(lambda: self.registry.find(target_id), timeout, f"tab {target_id} attached")
        # Navigating before the new renderer has finished starting can get it killed: wait
        # until its document runs (our recorder's world exists there).
        await poll(lambda: t.recorders or not t.alive, timeout, f"tab {target_id} running")
        return PageDriver(self, target_id)

    def page(self, target_id: str) -> PageDriver:
        """The driver of an attached page (a popup or tab opened by the page)."""
        return PageDriver(self, target_id)

    def target(self, target_id: str) -> Target:
        """The attached target with this id (error once it is gone)."""
        t = self.registry.find(target_id)
        if t is None:
            raise CaptureError(f"target {target_id} is gone")
        return t

    @contextlib.asynccontextmanager
    async def expect_page(
        self, opener: str | None = None, timeout: float = 10.0
    ) -> AsyncIterator[Expectation]:
        """A page opened while the block runs (by ``opener`` if given): ``await exp.value``."""
        before = {t.target_id for t in self.registry.all() if t.is_page}
        exp = Expectation()

        def new_page() -> str | None:
            for t in self.registry.all():
                fresh = t.is_page and t.target_id not in before
                if fresh and (opener is None or t.opener_id == opener):
                    return t.target_id
            return None

        async def wait() -> None:
            try:
                tid = await poll(new_page, timeout, "a new page")
                exp.value.set_result(PageDriver(self, tid))
            except CaptureError as exc:
                exp.value.set_exception(exc)

        yield exp
        await wait()

    # -- dialogs ------------------------------------------------------------------------
    def on_dialog(self, target_id: str, handler: DialogHandler | None) -> None:
        """Answer the dialogs of page ``target_id`` with ``handler`` (None: default policy).

        Without a handler a dialog is dismissed in a headless browser (nobody could answer
        it) and left to the user in a headful one.
        """
        if handler is None:
            self._dialog_handlers.pop(target_id, None)
        else:
            self._dialog_handlers[target_id] = handler

    def _dialog_opening(self, p: dict[str, Any], sid: str) -> None:
        t = self.registry.get(sid)
        dialog = Dialog(
            str(p.get("type", "")),
            str(p.get("message", "")),
            str(p.get("defaultPrompt", "")),
            self.conn,
            sid,
        )
        handler = self._dialog_handlers.get(t.page_id) if t is not None else None
        if handler is not None:
            self._spawn(handler(dialog))
        elif self.headless:
            self._spawn(dialog.dismiss())

    # -- downloads ------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def expect_download(self, timeout: float = 30.0) -> AsyncIterator[Expectation]:
        """A download started while the block runs, awaited until it finished."""
        exp = Expectation()
        fut: asyncio.Future[Download] = asyncio.get_running_loop().create_future()
        self._download_waiters.append(fut)
        yield exp
        try:
            exp.value.set_result(await asyncio.wait_for(fut, timeout))
        except TimeoutError:
            exp.value.set_exception(CaptureError(f"no download finished in {timeout}s"))
        finally:
            with contextlib.suppress(ValueError):
                self._download_waiters.remove(fut)

    def _download_progress(self, p: dict[str, Any]) -> None:
        state = str(p.get("state", ""))
        if state not in ("completed", "canceled"):
            return
        guid = str(p.get("guid", ""))
        name = self._downloads.pop(guid, "")
        path = Path(str(p.get("filePath") or (self.downloads_dir / guid)))
        for fut in self._download_waiters:
            if not fut.done():
                fut.set_result(Download(name, path, state))
                break

    # -- events ---------------------------------------------------------------------------
    def lifecycle_seen(self, loader_id: str, name: str) -> bool:
        """Whether the document of ``loader_id`` reached lifecycle event ``name``."""
        return name in self._lifecycle.get(loader_id, ())

    def _event(self, method: str, p: dict[str, Any], sid: str | None) -> None:
        if method == "Page.lifecycleEvent":
            seen = self._lifecycle.setdefault(str(p.get("loaderId", "")), set())
            seen.add(str(p.get("name", "")))
            if len(self._lifecycle) > 256:
                self._lifecycle.pop(next(iter(self._lifecycle)))
        elif method == "Page.javascriptDialogOpening" and sid is not None:
            self._dialog_opening(p, sid)
        elif method == "Browser.downloadWillBegin":
            self._downloads[str(p.get("guid", ""))] = str(p.get("suggestedFilename", ""))
        elif method == "Browser.downloadProgress":
            self._download_progress(p)

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await coro
            except Exception as exc:
                log.info("driver.dialog_failed", error=str(exc)[:200])

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
