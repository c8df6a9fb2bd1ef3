"""Finding a recorded element again, in real Chromium: the strategies in order (test id, id,
role + name, label, text, CSS path), inside frames, coordinates last, and nothing when a
description fits no element or several."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, async_playwright

from agent.actions.model import Target
from agent.redrive.locate import element_text, locate

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html><body>
<button data-testid="go-tid" id="go-id">Go</button>
<button id="send">Send order</button>
<button>Twin</button><button>Twin</button>
<label>Symbol <input name="symbol"></label>
<span class="note">Plain words</span>
<div class="grid"><em class="cell">x</em></div>
<iframe srcdoc="<button id='inner'>Inside</button>"></iframe>
</body></html>"""


def _in_page(check: Callable[[Page], Awaitable[None]]) -> None:
    async def main() -> None:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path="/usr/lib/chromium/chromium")
            try:
                page = await browser.new_page()
                await page.set_content(PAGE)
                await page.wait_for_function("document.querySelector('iframe').contentDocument"
                                             "?.getElementById('inner')")  # fmt: skip
                await check(page)
            finally:
                await browser.close()

    asyncio.run(main())


def test_each_strategy_in_order_and_the_last_resort() -> None:
    async def check(page: Page) -> None:
        async def how(t: Target) -> str | None:
            found = await locate(page, t)
            return found.strategy if found else None

        def button(**kw: str | float) -> Target:
            return Target(role="button", tag="button", **kw)  # type: ignore[arg-type]

        assert await how(button(test_id="go-tid", element_id="go-id")) == "test id"
        assert await how(button(test_id="gone", element_id="go-id")) == "id"
        assert await how(button(element_id="renamed", name="Send order")) == ("role + name")
        field = Target(role="textbox", tag="input", name="Symbol", element_id="sym-old")
        assert await how(field) == "role + name"
        assert await how(Target(tag="input", name="Symbol")) == "label"
        assert await how(Target(tag="span", name="Plain words")) == "text"
        assert await how(Target(tag="em", css="div.grid > em.cell")) == "css"
        assert await how(button(element_id="inner", name="Inside")) == "id"
        assert await how(button(name="Twin", x=5.0, y=5.0)) == "coordinates"
        assert await how(button(name="Twin")) is None
        found = await locate(page, button(element_id="send", name="Send"))
        assert found is not None and await element_text(page, found, Target()) == "Send order"

    _in_page(check)
