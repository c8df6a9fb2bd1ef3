"""The static fixture pages in tests/fixtures/pages do what their README says, in real Chromium.

They are served from the demo app (``/fixtures/``) so same-origin frames, popups and the
echo endpoints work; each must set ``window.__fixtureDone`` and end in the expected state.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from agent.demo_app import DEMO_SECRETS, DemoApp, running_demo_app

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
CHROMIUM = "/usr/lib/chromium/chromium"

pytestmark = pytest.mark.browser

Check = Callable[[DemoApp, BrowserContext, Page], Awaitable[None]]


class Harness:
    """One event loop, demo app and browser shared by the module (a launch costs seconds)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.app_cm = running_demo_app(fixtures_dir=PAGES)
        self.app: DemoApp = self.loop.run_until_complete(self.app_cm.__aenter__())
        self.pw = self.loop.run_until_complete(async_playwright().start())
        self.browser: Browser = self.loop.run_until_complete(
            self.pw.chromium.launch(executable_path=CHROMIUM, args=["--disable-quic"])
        )

    def close(self) -> None:
        self.loop.run_until_complete(self.browser.close())
        self.loop.run_until_complete(self.pw.stop())
        self.loop.run_until_complete(self.app_cm.__aexit__(None, None, None))
        self.loop.close()

    def run(self, name: str, check: Check) -> None:
        """Open /fixtures/<name> in a fresh context, wait for __fixtureDone, run ``check``."""

        async def main() -> None:
            context = await self.browser.new_context()
            try:
                page = await context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                await page.goto(f"{self.app.url}fixtures/{name}")
                await page.wait_for_function("window.__fixtureDone === true", timeout=8_000)
                await check(self.app, context, page)
                assert errors == []
            finally:
                await context.close()

        self.loop.run_until_complete(main())


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    h = Harness()
    try:
        yield h
    finally:
        h.close()


def test_fixture_readme_documents_every_fx_page() -> None:
    """Each fx_*.html is described in tests/fixtures/pages/README.md."""
    readme = (PAGES / "README.md").read_text(encoding="utf-8")
    names = sorted(p.name for p in PAGES.glob("fx_*.html"))
    assert len(names) == 13
    for name in names:
        assert f"`{name}`" in readme, name


def test_fx_iframes_builds_nested_srcdoc_and_script_filled_frames(harness: Harness) -> None:
    """Top, level 1, level 2, srcdoc and the script-filled about:blank frame all exist."""

    async def check(app: DemoApp, context: BrowserContext, page: Page) -> None:
        assert len(page.frames) == 5
        assert await page.text_content("#text") == "changed at level 0 | all frames done"
        level2 = page.frame_locator("#child-frame").frame_locator("#child-frame")
        assert await level2.locator("#text").text_content() == "changed at level 2"
        dyn = page.frame_locator("#dynamic-frame").locator("#dyn-text")
        assert await dyn.text_content() == "dynamic frame changed"

    harness.run("fx_iframes.html", check)


def test_fx_popup_opens_a_same_origin_popup_and_a_script_written_blank_popup(
    harness: Harness,
) -> None:
    """Two popups open on their own; the target=_blank link opens a third page."""

    async def check(app: DemoApp, context: BrowserContext, page: Page) -> None:
        assert await page.evaluate("window.__fixtureBlocked") is None
        urls = sorted(p.url.rsplit("/", 1)[-1] for p in context.pages)
        assert urls == ["about:blank", "fx_popup.html", "fx_popup.html?child=auto"]
        async with context.expect_page() as new_page:
            await page.click("#blank-link")
        tab = await new_page.value
        await tab.wait_for_function("window.__fixtureDone === true")
        assert await tab.text_content("#status") == "child blank changed"

    harness.run("fx_popup.html", check)


def test_fx_shadow_late_attached_and_nested_roots_end_changed(harness: Harness) -> None:
    """The late root, the constructor root and its nested root hold the final texts."""

    async def check(app: DemoApp, context: BrowserContext, page: Page) -> None:
        got = await page.evaluate("""() => {
            const card = document.getElementById('card').shadowRoot;
            return [document.getElementById('late-host').shadowRoot
                        .getElementById('late-inner').textContent,
                    card.getElementById('card-text').textContent,
                    card.getElementById('badge').shadowRoot
                        .getElementById('badge-text').textContent,
                    document.getElementById('closed-host').shadowRoot];
        }""")
        assert got == ["late shadow changed", "shadow text changed", "badge changed", None]

    harness.run("fx_shadow.html", check)


def test_fx_closed_shadow_roots_stay_closed_and_end_changed(harness: Harness) -> None:
    """The three custom elements hold closed roots (no shadowRoot for page script) whose
    texts ended changed."""

    async def check(app: DemoApp, context: BrowserContext, page: Page) -> None:
        hosts = await page.evaluate(
            "['vault', 'late'].map((id) => document.getElementById(id).shadowRoot)"
            ".concat([document.querySelector('fx-added').shadowRoot])"
        )
        assert hosts == [None, None, None]
        expect = await page.evaluate("window.__fixtureExpect")
        got = await page.evaluate("window.__fixtureRoots()")
        assert got == [expect["vault"], expect["late"], expect["added"]]

    harness.run("fx_closed_shadow.html", check)


def test_fx_cssom_computed_styles_match_the_pages_expectations(harness: Harness) -> None:
    """After the five CSSOM-only steps, computed styles equal window.__fixtureExpect."""

    async def check(app: DemoApp, context: BrowserContext, page: Page) -> None:
        expect: dict[str, dict[str, str]] = await page.evaluate("window.__fixtureExpect")
        assert len(expect) == 5
        for selector, props in expect.items():
            for prop, value in props.items():
                got = await page.eval_on_selector(
                    selector, "(el, p) => getComputedStyle(el)[p]", prop
                )
                assert got == value, (selector, prop)

    harness.run("fx_cssom.html", check)


def test_fx_values_controls_hold_the_programmatic_values(harness: Harness) -> None:
    """Property writes (value, checked, select.value) are in place, the latest one wins."""

    async def check(app: DemoApp, context: BrowserContext, page: Page) -> None:
        got = await page.evaluate("""() => {
            const $ = id => document.getElementById(id);
            return {text: $('text').value, check: $('check').checked,
                    radioA: $('radio-a').checked, radioB: $('radio-b').checked,
                    sel: $('sel').value, area: $('area').value, num: $('num').value,
                    pw: $('pw').value};
        }""")
        assert got == await page.evaluate("window.__fixtureExpect")
        assert await page.get_attribute("#text", "value") == "initial"

    harness.run("fx_values.html", check)


def test_fx_svg_canvas_keeps_drawing_after_done(harness: Harness) -> None:
    """The canvas and the SVG keep changing every 200 ms after __fixtureDone."""

    async def check(app: DemoApp, context: BrowserContext, page: Page) -> None:
        first: int = await page.evaluate("window.__fixtureFrames")
        await page.wait_for_function(f"window.__fixtureFrames >= {first + 2}", timeout=3_000)
        label = await page.text_content("#svg-label")
        assert label is not None and re.fullmatch(r"frame \d+", label)
        assert int(label.split()[1]) >= first + 2

    harness.run("fx_svg_canvas.html", check)


def test_fx_canvas_webgl_ends_on_its_last_step_in_a_non_preserved_buffer(
    harness: Harness,
) -> None:
    """WebGL works, the last step is 10, and the buffer is not preserved: read in a later
    task the canvas is blank although the screen shows the step's clear colour."""

    async def check(app: DemoApp, context: BrowserContext, page: Page) -> None:
        assert await page.evaluate("window.__fixtureGl") is True
        expect = await page.evaluate("window.__fixtureExpect")
        assert expect["step"] == 10
        blank = await page.evaluate(
            "new Promise((r) => setTimeout(() => { const c = document.getElementById('gl');"
            " const o = document.createElement('canvas'); o.width = c.width;"
            " o.height = c.height; r(c.toDataURL() === o.toDataURL()); }, 100))"
        )
        assert blank is True
        assert await page.text_content("#frame") == "step 10"

    harness.run("fx_canvas_webgl.html", check)


def test_fx_canvas_2d_stops_on_frame_40(harness: Harness) -> None:
    """The 2D animation draws 40 frames and stops there."""

    async def check(app: DemoApp, context: BrowserContext, page: Page) -> None:
        assert await page.evaluate("window.__fixtureFrames") == 40

    harness.run("fx_canvas_2d.html", check)


def test_fx_tamper_reports_its_tampering_and_keeps_mutating(harness: Harness) -> None:
    """Both tamper rounds are reported and the counter keeps moving afterwards."""

    async def check(app: DemoApp, context: BrowserContext, page: Page) -> None:
        report: dict[str, Any] = await page.evaluate("window.__tamperReport")
        assert "JSON.stringify" in report["before"]
        assert "addEventListener = no-op" in report["after"]
        # Plain Chromium under Playwright exposes nothing non-standard to the page.
        assert report["called"] == []
        before = int(await page.text_content("#counter") or "0")
        await page.wait_for_function(
            f"Number(document.getElementById('counter').textContent) > {before + 2}"
        )

    harness.run("fx_tamper.html", check)


def test_fx_secrets_carries_every_demo_secret_and_sends_them_over_xhr_and_ws(
    harness: Harness,
) -> None:
    """The file holds the DEMO_SECRETS; the echo server saw SSN in query, body and header."""
    html = (PAGES / "fx_secrets.html").read_text(encoding="utf-8")
    for key in (
        "username",
        "password",
        "ssn",
        "account",
        "ws_account",
        "hidden_account",
        "card",
        "pin",
        "notes",
        "bearer_token",
        "api_key",
    ):
        assert DEMO_SECRETS[key] in html, key

    async def check(app: DemoApp, context: BrowserContext, page: Page) -> None:
        assert await page.text_content("#net-status") == "xhr ok, ws ok"
        [xhr] = [e for e in app.echoes if "body" in e]
        assert xhr["query"] == {"ssn": DEMO_SECRETS["ssn"], "account": DEMO_SECRETS["account"]}
        assert DEMO_SECRETS["ssn"] in xhr["body"]
        assert xhr["headers"]["X-Client-Ssn"] == DEMO_SECRETS["ssn"]
        assert xhr["headers"]["X-Api-Key"] == DEMO_SECRETS["api_key"]
        [ws] = [e["ws"] for e in app.echoes if "ws" in e]
        assert DEMO_SECRETS["ws_account"] in ws
        assert await page.input_value("#password") == DEMO_SECRETS["password"]

    harness.run("fx_secrets.html", check)
