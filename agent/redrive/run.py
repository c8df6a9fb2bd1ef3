"""One re-drive: the browser, the renderer of the original moments, the evidence session,
and the :class:`~agent.redrive.drive.Driver` that runs the steps."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

from agent.clock import utc_iso
from agent.errors import CaptureError, UsageError
from agent.redrive.checks import Checks
from agent.redrive.drive import Driver, Options
from agent.redrive.plan import Plan, Rewriter
from agent.redrive.result import RedriveReport
from agent.redrive.screens import Screens
from agent.redrive.text import compile_ignores

if TYPE_CHECKING:  # evidence imports the pipeline, which a plain re-drive never needs
    from agent.redrive.evidence import Evidence


async def _screens(plan: Plan, opts: Options) -> Screens | None:
    """The renderer of original moments, when screens are compared (``UsageError`` when its
    browser cannot start)."""
    if not opts.screens or plan.recording is None:
        return None
    try:
        patterns = [rx.pattern for rx in compile_ignores(opts.ignore)]
        return await Screens.start(plan.recording, opts.executable, patterns)
    except CaptureError as exc:
        raise UsageError(f"cannot render the recording: {exc.message}") from exc


async def redrive(
    plan: Plan, opts: Options, downloads: Path | None = None, evidence: Evidence | None = None
) -> RedriveReport:
    """Re-drive a plan in a fresh headless Chromium; the report of every step (each also
    written to ``evidence``, the re-drive's own session, as it finishes)."""
    rewrite = Rewriter(plan.origin, opts.base_url, opts.maps)  # bad --map: before a browser
    ignores = compile_ignores(opts.ignore)
    started = utc_iso(time.time_ns())
    t0 = time.monotonic()
    screens = await _screens(plan, opts)
    checks = Checks(plan, screens, ignores, opts.pixel_threshold)
    size = plan.recording.viewport() if plan.recording else None
    try:
        async with async_playwright() as pw:
            try:
                browser = await pw.chromium.launch(
                    executable_path=opts.executable or None,
                    headless=opts.headless,
                    args=["--disable-quic", "--font-render-hinting=none"],
                    downloads_path=str(downloads) if downloads else None,
                )
            except PlaywrightError as exc:
                raise UsageError(f"cannot start Chromium: {str(exc).splitlines()[0]}") from exc
            try:
                context = await browser.new_context(
                    accept_downloads=True,
                    device_scale_factor=1,
                    viewport={"width": size[0], "height": size[1]} if size else None,
                )
                driver = Driver(plan, opts, context, rewrite, checks)
                if evidence is not None:
                    await evidence.start(
                        plan.session_id, plan.integrity, opts.base_url, opts.modes()
                    )
                    driver.on_step = evidence.step
                steps = await driver.run()
            finally:
                await browser.close()
    finally:
        if screens is not None:
            await screens.close()
    ms = int((time.monotonic() - t0) * 1000)
    rep = RedriveReport(plan.session_id, opts.base_url, steps, started, ms, plan.integrity)
    rep.modes = opts.modes()
    if evidence is not None:
        rep.redrive_session = evidence.session_id
        await evidence.end(rep)
    return rep
