"""What the re-driven browser did, as it happens: requests with their outcome, WebSocket
messages sent, console errors, dialogs (answered as recorded), downloads and new pages.

Waiting is on events, never on a fixed sleep: :meth:`Observer.wait_for` wakes whenever
something is observed and gives up at its deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import (
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Download,
    Page,
    Request,
    Response,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import WebSocket as PwWebSocket

from agent.canonical import sha256_hex
from agent.redrive.plan import Expected, path_of


@dataclass
class Seen:
    """One request (or WebSocket message sent) of the re-drive, in order."""

    method: str
    path: str
    status: str = "pending"  # "2xx" ... "5xx", "failed", "sent"
    claimed: bool = False
    response: Response | None = None  # for comparing its JSON shape

    @property
    def done(self) -> bool:
        return self.status != "pending"


@dataclass(frozen=True)
class Answer:
    """A planned dialog answer (from the recording)."""

    accept: bool
    text: str | None


class Observer:
    """Listens to a browser context; the driver reads it between steps."""

    def __init__(self, context: BrowserContext, answers: list[tuple[str, Answer]]) -> None:
        self.seen: list[Seen] = []
        self.errors: list[str] = []  # console errors and uncaught exceptions, in order
        self.dialogs: list[str] = []  # messages of the recorded dialogs, as answered
        self.unexpected: list[str] = []  # dialogs the recording never had
        self.downloads: list[Download] = []
        self.pages: list[Page] = []  # every page opened, in order
        self._answers = list(answers)
        self._by_request: dict[int, Seen] = {}
        self._changed = asyncio.Event()
        context.on("page", self._page)
        context.on("request", self._request)
        context.on("response", self._response)
        context.on("requestfailed", lambda q: self._outcome(q, "failed"))

    def _poke(self) -> None:
        self._changed.set()

    def _page(self, page: Page) -> None:
        self.pages.append(page)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self._error(str(exc)))
        page.on("dialog", self._dialog)
        page.on("download", self._download)
        page.on("websocket", self._websocket)
        self._poke()

    def _request(self, q: Request) -> None:
        s = Seen(q.method, path_of(q.url))
        self._by_request[id(q)] = s
        self.seen.append(s)
        self._poke()

    def _response(self, r: Response) -> None:
        s = self._by_request.get(id(r.request))
        if s is not None:
            s.response = r
        self._outcome(r.request, f"{r.status // 100}xx")

    def _outcome(self, q: Request, status: str) -> None:
        s = self._by_request.get(id(q))
        if s is not None and not s.done:
            s.status = status
            self._poke()

    def _websocket(self, ws: PwWebSocket) -> None:
        path = path_of(ws.url)

        ws.on("framesent", lambda _payload: self.ws_sent(path))

    def ws_sent(self, path: str) -> None:
        """A WebSocket message the page sent (also called by a stubbed WebSocket)."""
        self.seen.append(Seen("WS", path, "sent"))
        self._poke()

    def _console(self, m: ConsoleMessage) -> None:
        if m.type != "error":
            return
        url = str(m.location.get("url") or "")
        if m.text.startswith("Failed to load resource") and url:
            self._error(f"{m.text} ({path_of(url)})")  # which resource: the text never says
        else:
            self._error(m.text)

    def _error(self, text: str) -> None:
        self.errors.append(text)
        self._poke()

    async def _dialog(self, d: Dialog) -> None:
        """Answer as recorded for the same message; a dialog the recording never had is
        accepted (so the flow goes on) and listed in ``unexpected``."""
        i = next((i for i, (m, _a) in enumerate(self._answers) if m == d.message), None)
        if i is None:
            self.unexpected.append(f"{d.type} {d.message!r}")
            answer = Answer(True, None)
        else:
            answer = self._answers.pop(i)[1]
            self.dialogs.append(d.message)
        try:
            if answer.accept:
                await d.accept(answer.text or "") if d.type == "prompt" else await d.accept()
            else:
                await d.dismiss()
        except PlaywrightError:
            pass  # the page went away while the dialog was open
        self._poke()

    def _download(self, d: Download) -> None:
        self.downloads.append(d)
        self._poke()

    async def wait_for(self, ready: Callable[[], bool], timeout_s: float) -> bool:
        """Wait until ``ready()`` holds (re-checked on each observation) or the timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not ready():
            left = deadline - loop.time()
            if left <= 0:
                return False
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                return ready()
        return True

    def find(self, e: Expected, start: int) -> Seen | None:
        """The first unclaimed request since ``start`` with the expected method and path,
        preferring one that is complete."""
        cands = [
            s
            for s in self.seen[start:]
            if not s.claimed and s.method == e.method and s.path == e.path
        ]
        done = [s for s in cands if s.done]
        return done[0] if done else (cands[0] if cands else None)


async def download_sha256(d: Download) -> str | None:
    """The SHA-256 of a finished download (None when it failed)."""
    try:
        p = await d.path()
    except PlaywrightError:
        return None
    data = await asyncio.to_thread(Path(p).read_bytes)
    return sha256_hex(data)
