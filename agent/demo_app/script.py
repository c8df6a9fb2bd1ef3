"""The scripted trader session: drives the demo app like a trader would.

It drives the recorded browser through the capture agent's own driver
(:class:`agent.capture.driver_page.PageDriver`: trusted mouse and key input over the agent's
CDP pipe), because a recorded browser accepts no other client.

``run_trader_script()`` returns one :class:`ScriptStep` per user action, in order, with the
UTC time at which the script saw it done. Tests compare these steps with the journal
("every scripted action appears in the journal in order"); steps of kind ``observe`` are
pauses and produce no input event.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from agent.capture.driver import Dialog
from agent.capture.driver_page import PageDriver
from agent.capture.driver_scope import Scope
from agent.clock import Clock, SystemClock
from agent.demo_app.data import DEMO_SECRETS
from agent.demo_app.server import DemoApp

__all__ = ["DEMO_SECRETS", "INPUT_KINDS", "ScriptStep", "StepKind", "run_trader_script"]

StepKind = Literal[
    "navigate",
    "type",
    "click",
    "select",
    "scroll",
    "observe",
    "dialog",
    "popup",
    "download",
    "resize",
]
Frame = Literal["main", "popup", "widget"]

#: Step kinds that are user input (a recorder must journal each of them).
INPUT_KINDS: frozenset[str] = frozenset({"type", "click", "select", "scroll", "resize"})

#: Viewport the script resizes to at the end.
FINAL_VIEWPORT = (1024, 700)


@dataclass(frozen=True, slots=True)
class ScriptStep:
    """One scripted action: what was done, where, with which typed value, and when."""

    name: str
    kind: StepKind
    selector: str | None
    value: str | None
    t_utc_ns: int
    frame: Frame = "main"


class _Driver:
    """Runs the steps with the pacing of a normal or a fast session and records them."""

    def __init__(self, page: PageDriver, clock: Clock, fast: bool) -> None:
        self.page = page
        self.clock = clock
        self.fast = fast
        self.steps: list[ScriptStep] = []
        self.key_delay_ms = 0 if fast else 25
        self.think_s = 0.05 if fast else 0.4

    def done(
        self,
        name: str,
        kind: StepKind,
        selector: str | None,
        value: str | None,
        frame: Frame = "main",
    ) -> None:
        self.steps.append(ScriptStep(name, kind, selector, value, self.clock.utc_ns(), frame))

    async def think(self, normal_s: float | None = None, fast_s: float | None = None) -> None:
        """Pause like a person between actions."""
        s = fast_s if self.fast else normal_s
        await asyncio.sleep(self.think_s if s is None else s)

    async def type(self, name: str, selector: str, value: str) -> None:
        """Click the field, select what is there, and type ``value`` key by key."""
        await self.page.click(selector)
        await self.page.press("Control+A")
        for ch in value:
            await self.page.press(ch)
            if self.key_delay_ms:
                await asyncio.sleep(self.key_delay_ms / 1000)
        self.done(name, "type", selector, value)
        await self.think()

    async def click(self, name: str, selector: str) -> None:
        await self.page.click(selector)
        self.done(name, "click", selector, None)
        await self.think()

    async def select(self, name: str, selector: str, value: str) -> None:
        await self.page.select_option(selector, value)
        self.done(name, "select", selector, value)
        await self.think()

    async def wait_text(self, selector: str, text: str, frame: Scope | None = None) -> None:
        await (frame or self.page).wait_for_selector(selector, has_text=text, timeout=10)


async def _sign_in(d: _Driver, page: PageDriver, app: DemoApp, blotter_query: str | None) -> None:
    """Sign in."""
    await page.goto(app.url)
    d.done("open login page", "navigate", None, app.url)
    await d.type("type username", "#username", DEMO_SECRETS["username"])
    await d.type("type password", "#password", DEMO_SECRETS["password"])
    await page.click("#login-submit")
    await page.wait_for_url("**/app")
    d.done("submit login", "click", "#login-submit", None)
    if blotter_query:
        await page.goto(f"{app.url}app?{blotter_query}")
        d.done("open app with blotter query", "navigate", None, page.url)


async def _watch_and_scroll(d: _Driver, page: PageDriver) -> None:
    """Watch the blotter tick, then scroll it down and back up."""
    await page.wait_for_selector("#ws-status", has_text="live", timeout=10)
    await d.think(4.0, 1.0)
    d.done("watch blotter", "observe", "#blotter", None)
    await page.hover("#blotter-wrap")
    for name, dy in (("scroll blotter down", 900), ("scroll blotter up", -400)):
        await page.mouse.wheel(0, dy)
        await d.think(0.8, 0.3)
        d.done(name, "scroll", "#blotter-wrap", str(dy))


async def _order_over_ws(d: _Driver) -> None:
    """An order over the WebSocket."""
    await d.type("type symbol", "#symbol", "MSFT")
    await d.select("choose side buy", "#side", "BUY")
    await d.type("type quantity", "#quantity", "100")
    await d.type("type price", "#price", "412.50")
    await d.type("type order account", "#order-account", DEMO_SECRETS["ws_account"])
    await d.click("send order over WebSocket", "#send-ws")
    await d.wait_text("#orders-list li[data-channel=ws]", "MSFT")


async def _order_over_rest(d: _Driver) -> None:
    """An order over REST."""
    await d.type("type symbol", "#symbol", "AAPL")
    await d.select("choose side sell", "#side", "SELL")
    await d.type("type quantity", "#quantity", "250")
    await d.type("type price", "#price", "187.25")
    await d.type("type order account", "#order-account", DEMO_SECRETS["rest_account"])
    await d.click("send order over REST", "#send-rest")
    await d.wait_text("#orders-list li[data-channel=rest]", "AAPL")


async def _look_up_client(d: _Driver) -> None:
    """Look up a client."""
    await d.type("type client name", "#client-name", "Jane Q. Sample")
    await d.type("type SSN", "#ssn", DEMO_SECRETS["ssn"])
    await d.type("type lookup account", "#lookup-account", DEMO_SECRETS["account"])
    await d.type("type notes", "#notes", DEMO_SECRETS["notes"])
    await d.type("type supervisor PIN", "#pin", DEMO_SECRETS["pin"])
    await d.click("submit lookup", "#lookup-submit")
    await d.wait_text("#lookup-result .lookup-account", DEMO_SECRETS["account"])


async def _click_widget(d: _Driver, page: PageDriver) -> None:
    """Click into the cross-origin widget."""
    widget = page.frame("#widget-frame")
    await widget.click("#widget-refresh")
    d.done("refresh news widget", "click", "#widget-refresh", None, "widget")
    await d.wait_text("#widget-clicks", "1", widget)
    await d.think()


async def _big_order_in_popup(d: _Driver, page: PageDriver) -> None:
    """A big order confirmed in a popup window."""
    await d.type("type big quantity", "#quantity", "50000")
    async with page.expect_popup() as popup_info:
        await page.click("#confirm-big")
    d.done("open big-order confirmation", "click", "#confirm-big", None)
    popup: PageDriver = await popup_info.value
    await popup.wait_for_load_state("domcontentloaded")
    d.done("confirmation popup opened", "popup", None, popup.url, "popup")
    await d.think()
    await popup.click("#confirm-btn")
    await popup.wait_for_close()
    d.done("confirm big order", "click", "#confirm-btn", None, "popup")
    await d.wait_text("#orders-list li[data-channel=popup]", "50000")
    await d.think()


async def _cancel_all(d: _Driver, page: PageDriver) -> None:
    """Cancel all, accepting the confirm() dialog."""
    dialogs: list[str] = []

    async def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.on_dialog(accept)
    try:
        await page.click("#cancel-all")
        d.done("cancel all orders", "click", "#cancel-all", None)
        await d.wait_text("#status-msg", "Cancelled")
    finally:
        page.on_dialog(None)
    d.done("accept cancel-all dialog", "dialog", None, dialogs[0] if dialogs else None)
    await d.think()


async def _download_report(d: _Driver, page: PageDriver) -> None:
    """Download the report."""
    async with page.expect_download() as download_info:
        await page.click("#download-report")
        d.done("click download report", "click", "#download-report", None)
    download = await download_info.value
    d.done("report downloaded", "download", None, download.suggested_filename)
    await d.think()


async def _resize_and_watch(d: _Driver, page: PageDriver) -> None:
    """Resize the window, and watch a little longer."""
    await page.set_viewport_size(*FINAL_VIEWPORT)
    size = f"{FINAL_VIEWPORT[0]}x{FINAL_VIEWPORT[1]}"
    await d.wait_text("#viewport", size)
    d.done("resize viewport", "resize", None, size)
    await d.think(2.0, 0.5)
    d.done("watch blotter again", "observe", "#blotter", None)


async def run_trader_script(
    page: PageDriver,
    app: DemoApp,
    *,
    fast: bool = False,
    clock: Clock | None = None,
    blotter_query: str | None = None,
) -> list[ScriptStep]:
    """Drive one trader session against ``app`` in ``page``; returns the steps done, in order.

    About 25-35 s normally, 8-15 s with ``fast=True`` (on an idle 2-core machine).
    ``blotter_query`` (e.g. ``"cells=1000&interval_ms=50"``) reopens /app with that query
    after the login, for benchmarks. Raises ``CaptureError`` if the app misbehaves (an
    element that never appears, a popup that never opens).
    """
    d = _Driver(page, clock or SystemClock(), fast)
    await _sign_in(d, page, app, blotter_query)
    await _watch_and_scroll(d, page)
    await _order_over_ws(d)
    await _order_over_rest(d)
    await _look_up_client(d)
    await _click_widget(d, page)
    await _big_order_in_popup(d, page)
    await _cancel_all(d, page)
    await _download_report(d, page)
    await _resize_and_watch(d, page)
    return d.steps
