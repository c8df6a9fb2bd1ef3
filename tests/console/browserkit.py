"""Real Chromium (Playwright) for the console tests: a module-wide browser, a fresh context
per test, and signing in through the sign-in form."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.console.app_firm import PASSWORD
from tests.replay.helpers import CHROMIUM


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900})
    yield ctx
    ctx.close()


def sign_in_page(ctx: BrowserContext, url: str, name: str) -> Page:
    """A page of ``ctx`` signed in as local account ``name``."""
    page = ctx.new_page()
    page.goto(url + "/")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_selector("#who")
    assert name in page.inner_text("#who")
    return page
