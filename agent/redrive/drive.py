"""Re-executing a plan in real headless Chromium (through Playwright: the re-driven browser
is not a recorded one) and comparing each step with the recording.

Each step: find the element (:mod:`agent.redrive.locate`), do the action, then wait - for the
requests the original action caused (by method and path) to complete, and for the DOM to
settle (no element added or removed for :data:`QUIET_MS`, at most :data:`SETTLE_CAP_MS`) -
never a fixed sleep. Then compare: the step ran, each expected request's status class, the
acted-on element's text, new console errors, the dialog's message, the download's digest;
and (:mod:`agent.redrive.checks`) the JSON shape of each response, the screen against the
rendered original moment, the element's place and its region's text change.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from agent.errors import UsageError
from agent.redrive.checks import PIXEL_THRESHOLD, Checks
from agent.redrive.locate import Found, element_text, locate
from agent.redrive.observe import Answer, Observer, download_sha256
from agent.redrive.pace import pause_s
from agent.redrive.plan import Expected, Plan, Rewriter, Step, normalize_error, path_of
from agent.redrive.result import SKIPPED, StepResult
from agent.redrive.stub import Stub
from agent.redrive.text import normalize
from agent.redrive.values import fill_value

if TYPE_CHECKING:  # evidence imports the pipeline, which a plain re-drive never needs
    pass

QUIET_MS = 150
SETTLE_CAP_MS = 1500

_SETTLE_JS = """([quiet, cap]) => new Promise(done => {
  let timer = null;
  const obs = new MutationObserver(ms => {
    const elementsMoved = ms.some(m => [...m.addedNodes, ...m.removedNodes]
      .some(n => n.nodeType === 1));
    if (elementsMoved) { clearTimeout(timer); timer = setTimeout(finish, quiet); }
  });
  const finish = () => { obs.disconnect(); done(true); };
  obs.observe(document, {childList: true, subtree: true});
  timer = setTimeout(finish, quiet);
  setTimeout(finish, cap);
})"""

_POPUP_READY_JS = "location.href !== 'about:blank' && document.readyState === 'complete'"

_SCROLL_PAGE_JS = "([x, y]) => { scrollTo(x, y); return [scrollX, scrollY]; }"
_SCROLL_ELEMENT_JS = "(e, [x, y]) => { e.scrollTo(x, y); return [e.scrollLeft, e.scrollTop]; }"

_CLICK_TEXT_VERBS = frozenset({"click", "dblclick", "contextmenu"})
_FIELD_TAGS = frozenset({"input", "textarea", "select"})


@dataclass
class Options:
    """How to re-drive: where, with which masked values, how long to wait."""

    base_url: str
    maps: list[str] = field(default_factory=list)
    fill: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 10.0
    executable: str = ""
    headless: bool = True
    speed: str = "asap"  # "recorded": keep the recorded gaps between steps
    stub_network: bool = False  # answer API requests from the recorded responses
    ignore: list[str] = field(default_factory=list)  # --ignore: regexes or @times/@numbers
    pixel_threshold: float = PIXEL_THRESHOLD  # share of pixels; above it the screen differs
    screens: bool = True  # compare screenshots with the rendered original moments

    def modes(self) -> dict[str, Any]:
        """The options the report and the evidence session name."""
        return {"speed": self.speed, "stub_network": self.stub_network, "maps": self.maps}


def _answers(plan: Plan) -> list[tuple[str, Answer]]:
    """The recorded answer to each recorded dialog, by its message."""
    return [
        (str(a.detail.get("message") or ""), Answer(bool(a.detail.get("accepted")), a.value))
        for a in (s.action for s in plan.steps)
        if a.verb == "dialog"
    ]


def _combo(c: str) -> str:
    """The recorded ``Ctrl+Shift+K`` as Playwright's ``Control+Shift+K``."""
    return "+".join("Control" if p == "Ctrl" else p for p in c.split("+"))


class Driver:
    """One re-drive of a plan in one browser context."""

    def __init__(
        self,
        plan: Plan,
        opts: Options,
        context: BrowserContext,
        rewrite: Rewriter,
        checks: Checks,
    ) -> None:
        self.plan = plan
        self.checks = checks
        self._found: Found | None = None
        self.opts = opts
        self.rewrite = rewrite
        self.obs = Observer(context, _answers(plan))
        self.context = context
        self.pages: dict[str | None, Page] = {}
        self._claimed_pages = 0
        self._dialogs_done: list[str] = []  # messages of the dialog steps so far
        self._unexpected_seen = 0
        self._downloads_done = 0
        self._unmatched_seen = 0
        self._partial_seen = 0
        self._errors_seen = 0
        self.stub: Stub | None = None
        self.on_step: Callable[[StepResult], Awaitable[None]] | None = None

    async def run(self) -> list[StepResult]:
        """Every step, in order (paced by ``--speed``)."""
        if self.opts.stub_network:
            self.stub = Stub(self.plan.records, self.rewrite, self.obs.ws_sent)
            await self.stub.install(self.context)
        results: list[StepResult] = []
        start, prev_t, took = 0, None, 0.0
        for step in self.plan.steps:
            if not step.follows:
                t = step.action.t_utc_ns
                await asyncio.sleep(pause_s(self.opts.speed, prev_t, t, took))
                start, prev_t = len(self.obs.seen), t
            res = await self._step(step, start)
            took = res.duration_ms / 1000
            self._stubbed(res)
            if self.on_step is not None:
                await self.on_step(res)
            results.append(res)
        return results

    def _stubbed(self, res: StepResult) -> None:
        """The stub's unmatched (aborted) and partly captured answers since the step before."""
        if self.stub is None:
            return
        res.unmatched += self.stub.unmatched[self._unmatched_seen :]
        res.partial += self.stub.partial[self._partial_seen :]
        self._unmatched_seen = len(self.stub.unmatched)
        self._partial_seen = len(self.stub.partial)

    async def _step(self, step: Step, start: int) -> StepResult:
        a = step.action
        res = StepResult(step.index, a.seq, a.verb, a.text, follows=step.follows)
        t0 = time.monotonic()
        self._found = None
        try:
            ran = step.follows or await self._act(step, res)
        except PlaywrightError as exc:
            res.diverge(f"{a.verb} failed: {str(exc).splitlines()[0]}")
            ran = False
        if ran:
            await self._await_requests(step, start, res)
            await self._settle(a.page)
        self._new_errors(res)
        if ran:
            await self.checks.screen(step, self.pages.get(a.page), self._found, res)
        res.duration_ms = int((time.monotonic() - t0) * 1000)
        return res

    # --- acting -------------------------------------------------------------------------
    def _page(self, page_id: str | None) -> Page:
        if page_id in self.pages:
            return self.pages[page_id]
        if not self.pages:
            raise UsageError("the re-drive has no page yet")
        return next(iter(self.pages.values()))  # a page the plan never opened: the first

    async def _act(self, step: Step, res: StepResult) -> bool:
        """Do the step's action; False when it could not be done (already a divergence)."""
        a = step.action
        if a.verb == "navigate":
            await self._navigate(step)
            return True
        if a.verb == "popup":
            return await self._popup(step, res)
        if a.verb == "dialog":
            return await self._dialog(step, res)
        if a.verb == "download":
            return await self._download(step, res)
        if a.verb == "scroll":
            return await self._scroll(step, res)
        if a.verb == "upload":
            res.status = "skipped"
            res.divergences.append("uploads are not repeated")
            return False
        page = self._page(a.page)
        found = await locate(page, a.target)
        if found is None:
            res.diverge(f"element not found by any strategy ({a.target.css or a.text})")
            return False
        res.strategy = found.strategy
        self._found = found
        await self.checks.before(found)
        return await self._on_element(step, page, found, res)

    async def _navigate(self, step: Step) -> None:
        a = step.action
        if a.page not in self.pages:
            page = self.obs.pages[0] if self.obs.pages else await self.context.new_page()
            self.pages[a.page] = page
            self._claimed_pages = max(self._claimed_pages, 1)
        page = self.pages[a.page]
        if a.detail.get("how") == "reload":
            await page.reload(timeout=self.opts.timeout_s * 1000)
        else:
            await page.goto(self.rewrite(a.url), timeout=self.opts.timeout_s * 1000)

    async def _on_element(self, step: Step, page: Page, found: Found, res: StepResult) -> bool:
        a, t = step.action, step.action.target
        ms = self.opts.timeout_s * 1000
        loc = found.locator
        if a.verb in _CLICK_TEXT_VERBS and t.name and t.tag not in _FIELD_TAGS:
            res.element_text = await element_text(page, found, t)
            if normalize(res.element_text, self.checks.ignores) != normalize(
                t.name, self.checks.ignores
            ):
                res.diverge(f"element text {res.element_text!r}, recorded {t.name!r}")
        if loc is None:  # coordinates, the last resort
            if a.verb not in _CLICK_TEXT_VERBS or t.x is None or t.y is None:
                res.diverge("element not found; only coordinates were recorded")
                return False
            await page.mouse.click(t.x, t.y, click_count=2 if a.verb == "dblclick" else 1)
            return True
        if a.verb == "click":
            await loc.click(timeout=ms)
        elif a.verb == "dblclick":
            await loc.dblclick(timeout=ms)
        elif a.verb == "contextmenu":
            await loc.click(button="right", timeout=ms)
        elif a.verb == "type":
            value = await fill_value(a, found, self.opts.fill, res)
            if value is None:
                return False
            await loc.fill(value, timeout=ms)
        elif a.verb == "select":
            await loc.select_option(a.value or "", timeout=ms)
        elif a.verb in ("check", "uncheck"):
            await loc.set_checked(a.verb == "check", timeout=ms)
        elif a.verb == "submit":
            await loc.evaluate("f => f.requestSubmit ? f.requestSubmit() : f.submit()")
        elif a.verb == "key":
            await loc.press(_combo(str(a.detail.get("combo") or a.value or "")), timeout=ms)
        return True

    async def _scroll(self, step: Step, res: StepResult) -> bool:
        """Scroll the page or the element to the recorded position; compare where it lands."""
        a = step.action
        page = self._page(a.page)
        want = [int(a.detail.get("x") or 0), int(a.detail.get("y") or 0)]
        if a.detail.get("element"):
            found = await locate(page, a.target)
            if found is None or found.locator is None:
                res.diverge(f"scrolled element not found ({a.target.css})")
                return False
            res.strategy = found.strategy
            got = await found.locator.evaluate(_SCROLL_ELEMENT_JS, want)
        else:
            got = await page.evaluate(_SCROLL_PAGE_JS, want)
        if [round(v) for v in got] != want:
            res.diverge(f"scroll landed at x={got[0]:.0f}, y={got[1]:.0f}; "
                        f"recorded x={want[0]}, y={want[1]}")  # fmt: skip
        return True

    async def _popup(self, step: Step, res: StepResult) -> bool:
        want = self._claimed_pages + 1
        if not await self.obs.wait_for(lambda: len(self.obs.pages) >= want, self.opts.timeout_s):
            res.diverge("the popup did not open")
            return False
        page = self.obs.pages[want - 1]
        self._claimed_pages = want
        self.pages[step.action.page] = page
        ms = self.opts.timeout_s * 1000
        with contextlib.suppress(PlaywrightError):  # it may have closed itself already
            # window.open starts at about:blank (already loaded): wait for its real document
            # to have run its scripts
            await page.wait_for_function(_POPUP_READY_JS, timeout=ms)
        return True

    async def _dialog(self, step: Step, res: StepResult) -> bool:
        message = str(step.action.detail.get("message") or "")
        self._dialogs_done.append(message)
        want = self._dialogs_done.count(message)

        def answered() -> bool:
            return self.obs.dialogs.count(message) >= want

        if not await self.obs.wait_for(answered, self.opts.timeout_s):
            res.diverge(f"the dialog {message!r} did not open")
            return False
        return True

    async def _download(self, step: Step, res: StepResult) -> bool:
        want = self._downloads_done + 1
        if self.stub is not None:  # its content was never recorded: nothing to answer with
            self._downloads_done = want
            url = str(step.action.detail.get("url") or step.action.url)
            res.status = SKIPPED
            res.divergences.append("--stub-network: a download's content is not recorded")
            res.unmatched.append(f"GET {path_of(url)}")
            return False
        if not await self.obs.wait_for(
            lambda: len(self.obs.downloads) >= want, self.opts.timeout_s
        ):
            res.diverge("the download did not start")
            return False
        self._downloads_done = want
        digest = await download_sha256(self.obs.downloads[want - 1])
        recorded = step.action.detail.get("sha256")
        if digest is None:
            res.diverge("the download failed")
        elif recorded and digest != recorded:
            res.diverge(
                f"downloaded file differs: sha256 {digest[:16]}…, recorded {recorded[:16]}…"
            )
        return True

    # --- waiting and comparing ------------------------------------------------------------
    async def _await_requests(self, step: Step, start: int, res: StepResult) -> None:
        """Wait (one deadline for the step) for each request the original action caused;
        compare its status class."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.opts.timeout_s
        for e in step.expected:

            def done(e: Expected = e) -> bool:
                s = self.obs.find(e, start)
                return s is not None and s.done

            await self.obs.wait_for(done, max(0.0, deadline - loop.time()))
            s = self.obs.find(e, start)
            if s is None:
                res.diverge(f"{e.method} {e.path} was not requested (recorded {e.status})")
                continue
            s.claimed = True
            res.requests.append({"method": s.method, "path": s.path, "status": s.status})
            if s.status != e.status:
                res.diverge(f"{e.method} {e.path}: {s.status}, recorded {e.status}")
            else:
                await self.checks.shape(step, e, s.response, res)

    async def _settle(self, page_id: str | None) -> None:
        """Let the DOM settle in the step's page (no-op when it has closed)."""
        page = self.pages.get(page_id)
        if page is None or page.is_closed():
            return
        with contextlib.suppress(PlaywrightError):  # navigated or closed while settling
            await page.evaluate(_SETTLE_JS, [QUIET_MS, SETTLE_CAP_MS])

    def _new_errors(self, res: StepResult) -> None:
        """Console errors the recording never had, and dialogs it never had."""
        for text in self.obs.errors[self._errors_seen :]:
            if normalize_error(text) not in self.plan.known_errors:
                res.console_errors.append(text)
                res.diverge(f"new console error: {text[:200]}")
        self._errors_seen = len(self.obs.errors)
        for d in self.obs.unexpected[self._unexpected_seen :]:
            res.diverge(f"unexpected dialog: {d} (accepted)")
        self._unexpected_seen = len(self.obs.unexpected)
