"""A top-level page (tab or popup) of the recorded browser, and raw mouse input on it."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

from agent.capture.driver_scope import Scope, poll
from agent.errors import CaptureError

if TYPE_CHECKING:
    from agent.capture.driver import BrowserDriver, DialogHandler


class Mouse:
    """Raw mouse input on a page, at page coordinates (the last position is remembered)."""

    def __init__(self, page: PageDriver) -> None:
        self._page = page
        self.x = 0.0
        self.y = 0.0

    async def move(self, x: float, y: float) -> None:
        self.x, self.y = x, y
        await self._page.mouse_event("mouseMoved", x, y)

    async def click(self, x: float, y: float) -> None:
        await self.move(x, y)
        await self._page.mouse_event("mousePressed", x, y, button="left", buttons=1, clickCount=1)
        await self._page.mouse_event("mouseReleased", x, y, button="left", buttons=0, clickCount=1)

    async def wheel(self, delta_x: float, delta_y: float) -> None:
        """A wheel turn where the mouse is."""
        await self._page.mouse_event("mouseWheel", self.x, self.y, deltaX=delta_x, deltaY=delta_y)


class PageDriver(Scope):
    """A top-level page (tab or popup) of the recorded browser."""

    def __init__(self, driver: BrowserDriver, target_id: str) -> None:
        super().__init__(driver, target_id)
        self.target_id = target_id
        self.mouse = Mouse(self)

    @property
    def url(self) -> str:
        """The URL of the page's current document."""
        t = self.driver.registry.find(self.target_id)
        return t.url if t is not None else ""

    @property
    def session_id(self) -> str:
        """The agent's CDP session of this page (for raw commands of the agent itself)."""
        return self.page_session

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """A raw CDP command on this page's session."""
        return await self.driver.conn.send(method, params, self.page_session)

    async def hover(self, selector: str) -> None:
        x, y = await self.centre(selector)
        await self.mouse.move(x, y)

    async def goto(
        self,
        url: str,
        *,
        wait_until: str = "load",
        timeout: float = 30.0,
        transition: str | None = None,
    ) -> None:
        """Navigate and wait for ``load`` or ``domcontentloaded`` of the new document
        (``transition``: the CDP transition type the browser records, default ``typed``)."""
        params = {"url": url} if transition is None else {"url": url, "transitionType": transition}
        res = await self.send("Page.navigate", params)
        if res.get("errorText"):
            raise CaptureError(f"navigate {url}: {res['errorText']}")
        loader = res.get("loaderId")
        if not loader:
            return  # same-document navigation
        name = "DOMContentLoaded" if wait_until == "domcontentloaded" else "load"
        await poll(
            lambda: self.driver.lifecycle_seen(str(loader), name), timeout, f"{name} of {url}"
        )

    async def wait_for_url(self, pattern: str, *, timeout: float = 10.0) -> None:
        """Wait until the page's URL matches the glob ``pattern`` (``**/app``)."""
        await poll(lambda: fnmatch.fnmatchcase(self.url, pattern), timeout, f"URL {pattern}")

    async def wait_for_load_state(self, state: str = "load", *, timeout: float = 10.0) -> None:
        """Wait until the page left ``about:blank`` and its document reached ``state``."""
        ok = ("interactive", "complete") if state == "domcontentloaded" else ("complete",)
        js = "[location.href, document.readyState]"

        async def check() -> bool:
            try:
                href, ready = await self.evaluate(js)
            except CaptureError:
                return False
            return bool(href != "about:blank" and ready in ok)

        await self._poll_async(check, timeout, f"{state} of the page")

    async def wait_for_close(self, *, timeout: float = 10.0) -> None:
        """Wait until the page is closed."""
        await poll(
            lambda: self.driver.registry.find(self.target_id) is None, timeout, "page closed"
        )

    async def set_viewport_size(self, width: int, height: int) -> None:
        """Emulate a viewport of ``width`` x ``height`` CSS pixels (a resize for the page)."""
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def on_dialog(self, handler: DialogHandler | None) -> None:
        """Answer this page's dialogs with ``handler`` (None: back to the default)."""
        self.driver.on_dialog(self.target_id, handler)

    def expect_popup(self, timeout: float = 10.0) -> Any:
        """``async with page.expect_popup() as exp: ...; popup = await exp.value``."""
        return self.driver.expect_page(opener=self.target_id, timeout=timeout)

    def expect_download(self, timeout: float = 30.0) -> Any:
        """``async with page.expect_download() as exp: ...; dl = await exp.value``."""
        return self.driver.expect_download(timeout=timeout)

    async def close(self) -> None:
        """Close the page (as the user closing the tab)."""
        await self.driver.conn.send("Target.closeTarget", {"targetId": self.target_id})


__all__ = ["Mouse", "PageDriver"]
