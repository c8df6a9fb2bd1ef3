"""A document (a page's main frame or one of its frames) driven with trusted input over the
agent's CDP pipe.

Selectors are resolved in the driver's own isolated world (page JavaScript cannot see it);
clicks scroll the element into view and press the mouse at its centre, in the coordinates of
the top-level page (a frame adds the offset of its ``<iframe>``), so the browser delivers a
real, trusted click, also into an out-of-process iframe. Keys are ``Input.dispatchKeyEvent``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from agent.capture.cdp import CDPCommandError
from agent.capture.keyboard import key_events
from agent.errors import CaptureError

if TYPE_CHECKING:
    from agent.capture.driver import BrowserDriver
    from agent.capture.state import Target

T = TypeVar("T")
DRIVER_WORLD = "__st_driver"
_STEP_S = 0.02

_FIND_JS = """function (sel, text) {
  for (const el of document.querySelectorAll(sel)) {
    if (text === null || (el.textContent || '').includes(text)) return el;
  }
  return null;
}"""
_CENTRE_JS = """function (sel) {
  const el = document.querySelector(sel);
  if (!el) return null;
  el.scrollIntoView({block: 'center', inline: 'center', behavior: 'instant'});
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return null;
  return [r.left + r.width / 2, r.top + r.height / 2];
}"""
_FRAME_OFFSET_JS = """function (sel) {
  const el = document.querySelector(sel);
  if (!el) return null;
  const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
  return [r.left + el.clientLeft + parseFloat(cs.paddingLeft),
          r.top + el.clientTop + parseFloat(cs.paddingTop)];
}"""
_SELECT_JS = """function (sel, value) {
  const el = document.querySelector(sel);
  if (!el) return false;
  el.focus();
  el.value = value;
  el.dispatchEvent(new Event('input', {bubbles: true}));
  el.dispatchEvent(new Event('change', {bubbles: true}));
  return el.value === value;
}"""


async def poll(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """``check()`` until it returns something other than None/False; error after ``timeout``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        got = check()
        if got is not None and got is not False:
            return got
        if loop.time() > end:
            raise CaptureError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(_STEP_S)


class Scope:
    """A document to act in: a page's main frame, or a frame inside it."""

    def __init__(self, driver: BrowserDriver, page_target: str) -> None:
        self.driver = driver
        self.page_target = page_target
        self._worlds: dict[tuple[str, str], int] = {}

    # -- where this scope lives (overridden by frames) --------------------------------------
    async def location(self) -> tuple[str, str]:
        """(CDP session id, frame id) of this scope's document."""
        t = self.driver.target(self.page_target)
        return t.session_id, await self._main_frame(t)

    async def offset(self) -> tuple[float, float]:
        """Where this scope's viewport starts, in top-level page coordinates."""
        return 0.0, 0.0

    async def _main_frame(self, t: Target) -> str:
        if t.main_frame_id:
            return t.main_frame_id
        tree = await self.driver.conn.send("Page.getFrameTree", None, t.session_id)
        return str(tree["frameTree"]["frame"]["id"])

    @property
    def page_session(self) -> str:
        return self.driver.target(self.page_target).session_id

    # -- isolated-world calls -----------------------------------------------------------
    async def _world(self, sid: str, frame: str) -> int:
        t = self.driver.registry.get(sid)
        ctx = self._worlds.get((sid, frame))
        if ctx is not None and t is not None and ctx in t.contexts:
            return ctx
        res = await self.driver.conn.send(
            "Page.createIsolatedWorld", {"frameId": frame, "worldName": DRIVER_WORLD}, sid
        )
        ctx = int(res["executionContextId"])
        self._worlds[(sid, frame)] = ctx
        return ctx

    async def call(self, function: str, *args: Any, by_value: bool = True) -> Any:
        """Call ``function(*args)`` in the driver's isolated world of this scope."""
        sid, frame = await self.location()
        for attempt in range(3):
            ctx = await self._world(sid, frame)
            try:
                res = await self.driver.conn.send(
                    "Runtime.callFunctionOn",
                    {
                        "functionDeclaration": function,
                        "arguments": [{"value": a} for a in args],
                        "executionContextId": ctx,
                        "returnByValue": by_value,
                        "awaitPromise": True,
                    },
                    sid,
                )
            except CDPCommandError:  # the document changed under us: a new world next time
                self._worlds.pop((sid, frame), None)
                if attempt == 2:
                    raise
                sid, frame = await self.location()
                continue
            if "exceptionDetails" in res:
                raise CaptureError(f"driver script failed: {exception_text(res)}")
            return res["result"] if not by_value else res["result"].get("value")
        return None

    async def _try_call(self, function: str, *args: Any) -> Any:
        try:
            return await self.call(function, *args)
        except CaptureError:
            return None

    # -- waiting --------------------------------------------------------------------------
    async def wait_for_selector(
        self, selector: str, *, has_text: str | None = None, timeout: float = 10.0
    ) -> None:
        """Wait until an element matching ``selector`` (containing ``has_text``) exists."""
        js = "function (s, t) { return (" + _FIND_JS + ")(s, t) !== null; }"
        what = f"{selector}" + (f" with text {has_text!r}" if has_text else "")
        await self._poll_async(lambda: self._try_call(js, selector, has_text), timeout, what)

    async def _poll_async(self, check: Callable[[], Any], timeout: float, what: str) -> Any:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            got = await check()
            if got:
                return got
            if loop.time() > end:
                raise CaptureError(f"timed out after {timeout}s waiting for {what}")
            await asyncio.sleep(_STEP_S)

    async def inner_text(self, selector: str) -> str:
        """The element's ``innerText``."""
        await self.wait_for_selector(selector)
        js = "function (s) { return document.querySelector(s).innerText; }"
        return str(await self.call(js, selector))

    # -- input ------------------------------------------------------------------------------
    async def centre(self, selector: str, timeout: float = 10.0) -> tuple[float, float]:
        """The centre of the (visible) element, scrolled into view, in page coordinates."""
        xy = await self._poll_async(
            lambda: self._try_call(_CENTRE_JS, selector), timeout, f"{selector} visible"
        )
        ox, oy = await self.offset()
        return float(xy[0]) + ox, float(xy[1]) + oy

    async def mouse_event(self, kind: str, x: float, y: float, **extra: Any) -> None:
        """One ``Input.dispatchMouseEvent`` on the top-level page."""
        params = {"type": kind, "x": x, "y": y, **extra}
        await self.driver.conn.send("Input.dispatchMouseEvent", params, self.page_session)

    async def click(self, selector: str, *, timeout: float = 10.0) -> None:
        """A trusted left click at the centre of the element."""
        x, y = await self.centre(selector, timeout)
        await self.mouse_event("mouseMoved", x, y)
        await self.mouse_event("mousePressed", x, y, button="left", buttons=1, clickCount=1)
        await self.mouse_event("mouseReleased", x, y, button="left", buttons=0, clickCount=1)

    async def hover(self, selector: str) -> None:
        """Move the mouse over the element's centre."""
        x, y = await self.centre(selector)
        await self.mouse_event("mouseMoved", x, y)

    async def press(self, key: str) -> None:
        """Press a key or a chord such as ``Control+A`` in the focused element."""
        for params in key_events(key):
            await self.driver.conn.send("Input.dispatchKeyEvent", params, self.page_session)

    async def type(self, selector: str, text: str, *, delay_ms: int = 0) -> None:
        """Click the field and type ``text`` key by key (one key event pair per character)."""
        await self.click(selector)
        for ch in text:
            await self.press(ch)
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000)

    async def focus(self, selector: str) -> None:
        """Give the element the keyboard focus (no click)."""
        await self.wait_for_selector(selector)
        await self.call("function (s) { document.querySelector(s).focus(); }", selector)

    async def fill(self, selector: str, text: str) -> None:
        """Focus the field, select what it holds and replace it with ``text`` at once."""
        await self.focus(selector)
        await self.press("Control+A")
        if text:
            await self.driver.conn.send("Input.insertText", {"text": text}, self.page_session)
        else:
            await self.press("Delete")

    async def select_option(self, selector: str, value: str) -> None:
        """Choose the option with ``value`` (input and change events, as a user's pick)."""
        await self.wait_for_selector(selector)
        if not await self.call(_SELECT_JS, selector, value):
            raise CaptureError(f"{selector} has no option {value!r}")

    # -- main-world evaluation ----------------------------------------------------------
    async def evaluate(self, expression: str, arg: Any = None) -> Any:
        """Evaluate ``expression`` in the page's own world; a function is called with ``arg``."""
        sid, frame = await self.location()
        t = self.driver.registry.get(sid)
        params: dict[str, Any] = {"expression": expression, "awaitPromise": True}
        ctx = t.default_ctx.get(frame) if t is not None else None
        if ctx is not None:
            params["contextId"] = ctx
        res = await self.driver.conn.send("Runtime.evaluate", params, sid)
        if "exceptionDetails" in res:
            raise CaptureError(f"evaluate failed: {exception_text(res)}")
        obj = res["result"]
        if obj.get("type") == "function":
            res = await self.driver.conn.send(
                "Runtime.callFunctionOn",
                {
                    "functionDeclaration": "function (f, a) { return f(a); }",
                    "objectId": obj["objectId"],
                    "arguments": [{"objectId": obj["objectId"]}, {"value": arg}],
                    "returnByValue": True,
                    "awaitPromise": True,
                },
                sid,
            )
            if "exceptionDetails" in res:
                raise CaptureError(f"evaluate failed: {exception_text(res)}")
            return res["result"].get("value")
        if "objectId" in obj:
            val = await self.driver.conn.send(
                "Runtime.callFunctionOn",
                {
                    "functionDeclaration": "function () { return this; }",
                    "objectId": obj["objectId"],
                    "returnByValue": True,
                },
                sid,
            )
            return val["result"].get("value")
        return obj.get("value")

    async def wait_for_function(self, expression: str, *, timeout: float = 10.0) -> Any:
        """Wait until ``expression`` is truthy in the page's own world."""

        async def check() -> Any:
            try:
                return await self.evaluate(expression)
            except CaptureError:
                return None

        return await self._poll_async(check, timeout, expression)

    async def wait_for_timeout(self, ms: float) -> None:
        """Sleep ``ms`` milliseconds (pacing of a script)."""
        await asyncio.sleep(ms / 1000)

    def frame(self, selector: str) -> FrameDriver:
        """The document inside the ``<iframe>`` matching ``selector`` in this scope."""
        return FrameDriver(self, selector)


class FrameDriver(Scope):
    """The document of an ``<iframe>``: same-process or out-of-process (its own target)."""

    def __init__(self, parent: Scope, selector: str) -> None:
        super().__init__(parent.driver, parent.page_target)
        self.parent = parent
        self.selector = selector

    async def location(self) -> tuple[str, str]:
        """The iframe's frame id (``DOM.describeNode``); its own session if out-of-process."""
        el = await self.parent._poll_async(lambda: self._element(), 10.0, f"iframe {self.selector}")
        psid, _ = await self.parent.location()
        node = await self.driver.conn.send("DOM.describeNode", {"objectId": el}, psid)
        frame_id = str(node["node"].get("frameId", ""))
        if not frame_id:
            raise CaptureError(f"{self.selector} is not a frame")
        oopif = self.driver.registry.find(frame_id)
        if oopif is not None:
            return oopif.session_id, frame_id
        return psid, frame_id

    async def _element(self) -> str | None:
        try:
            obj = await self.parent.call(_FIND_JS, self.selector, None, by_value=False)
        except CaptureError:
            return None
        return str(obj["objectId"]) if obj and obj.get("objectId") else None

    async def offset(self) -> tuple[float, float]:
        """The iframe's content box in top-level page coordinates."""
        px, py = await self.parent.offset()
        xy = await self.parent.call(_FRAME_OFFSET_JS, self.selector)
        if not xy:
            raise CaptureError(f"iframe {self.selector} is gone")
        return px + float(xy[0]), py + float(xy[1])


def exception_text(res: dict[str, Any]) -> str:
    det = res.get("exceptionDetails", {})
    exc = det.get("exception", {})
    return str(exc.get("description") or det.get("text", "exception"))[:300]


__all__ = ["DRIVER_WORLD", "FrameDriver", "Scope", "exception_text", "poll"]
