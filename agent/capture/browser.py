"""Launch Chromium through Playwright with a loopback debugging port for our own CDP link."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from agent.capture.config import CaptureConfig, find_executable
from agent.errors import CaptureError

log = structlog.get_logger(__name__)


def free_port() -> int:
    """A currently free loopback TCP port (Chromium binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LaunchedBrowser:
    """A running Chromium: Playwright handles plus the debugging endpoint (a secret)."""

    playwright: Playwright
    browser: Browser
    port: int
    ws_url: str
    downloads_dir: Path
    headless: bool
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    async def new_context(self, cfg: CaptureConfig) -> BrowserContext:
        """A browser context with our viewport; downloads are accepted into ``downloads_dir``."""
        with _pw_errors("new context"):
            return await self.browser.new_context(
                viewport={"width": cfg.viewport_width, "height": cfg.viewport_height},
                accept_downloads=True,
            )

    async def close(self) -> None:
        """Close the browser and Playwright; safe to call twice or after the browser died."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.browser.close(), 10)
        with contextlib.suppress(Exception):
            await self.playwright.stop()
        if self._tmp is not None:
            with contextlib.suppress(Exception):
                self._tmp.cleanup()
            self._tmp = None


@contextlib.contextmanager
def _pw_errors(what: str) -> Any:
    try:
        yield
    except PlaywrightError as exc:
        raise CaptureError(
            f"browser {what}: {exc.message.splitlines()[0]}", retryable=True
        ) from exc


async def launch_browser(cfg: CaptureConfig, *, headless: bool) -> LaunchedBrowser:
    """Start Chromium (Playwright pipe + loopback debugging port) and find its CDP URL."""
    executable = find_executable(cfg.executable)
    tmp = tempfile.TemporaryDirectory(prefix="sessiontape-dl-")
    pw = await async_playwright().start()
    last: Exception | None = None
    for _attempt in range(3):
        port = free_port()
        args = [
            f"--remote-debugging-port={port}",
            "--remote-debugging-address=127.0.0.1",
            "--disable-quic",
            *cfg.extra_args,
        ]
        try:
            browser = await pw.chromium.launch(
                executable_path=executable, headless=headless, args=args, downloads_path=tmp.name
            )
        except PlaywrightError as exc:
            last = exc
            continue
        try:
            ws_url = await _debugger_url(port)
        except CaptureError as exc:
            last = exc
            with contextlib.suppress(Exception):
                await browser.close()
            continue
        log.info("capture.browser_launched", headless=headless, version=browser.version)
        return LaunchedBrowser(pw, browser, port, ws_url, Path(tmp.name), headless, tmp)
    await pw.stop()
    tmp.cleanup()
    msg = getattr(last, "message", str(last)).splitlines()[0] if last else "unknown"
    raise CaptureError(f"cannot launch {executable}: {msg}", retryable=True) from last


async def _debugger_url(port: int) -> str:
    url = f"http://127.0.0.1:{port}/json/version"
    timeout = aiohttp.ClientTimeout(total=5)
    for _ in range(50):
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as resp:
                data = await resp.json(content_type=None)
                return str(data["webSocketDebuggerUrl"])
        except (aiohttp.ClientError, OSError, KeyError, ValueError):
            await asyncio.sleep(0.1)
    raise CaptureError(f"debugging port {port} did not answer", retryable=True)
