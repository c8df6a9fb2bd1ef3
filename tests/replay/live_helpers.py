"""A live viewer server run on its own event loop in a thread, and a test double of the
supervisor controls that records each call (for testing the HTTP and page wiring only)."""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.config import Config
from agent.replay.live_launch import make_hub
from agent.replay.live_server import LiveState, listen_plan, serve_live
from tests.waiting import wait_until


@dataclass
class RecordingControls:
    """Records ``(method, who)`` for every call; its state follows pause/resume/end."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    kiosk_state: str = "active"
    supervisors: list[str] = field(default_factory=list)

    async def join(self, who: str, via: str) -> None:
        self.calls.append(("join", who))
        self.supervisors.append(who)

    async def leave(self, who: str) -> None:
        self.calls.append(("leave", who))
        self.supervisors.remove(who)

    async def pause(self, who: str) -> None:
        self.calls.append(("pause", who))
        self.kiosk_state = "paused"

    async def resume(self, who: str) -> None:
        self.calls.append(("resume", who))
        self.kiosk_state = "active"

    async def end(self, who: str) -> None:
        self.calls.append(("end", who))
        self.kiosk_state = "lobby"

    def state(self) -> dict[str, Any]:
        return {
            "state": self.kiosk_state,
            "session_id": "",
            "supervisors": list(self.supervisors),
            "require_supervisor": False,
        }


@dataclass
class LiveServer:
    """A running live viewer: its base URL, token and state."""

    base: str
    token: str
    state: LiveState

    @property
    def url(self) -> str:
        return f"{self.base}/?token={self.token}"


@contextmanager
def live_server(
    home: Path,
    cfg: Config,
    session_id: str | None,
    controls: RecordingControls | None = None,
    *,
    follow_newer: bool = False,
) -> Iterator[LiveServer]:
    """Serve the live viewer for ``session_id`` on 127.0.0.1 until the block ends."""
    plan = listen_plan(cfg.replay)
    hub = make_hub(home, cfg, session_id, controls=controls, follow_newer=follow_newer)
    state = LiveState(hub, plan, home / "assets")
    urls: list[str] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            loop.run_until_complete(serve_live(state, urls.append, stop))
        except BaseException as exc:  # surfaced by the wait below
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    wait_until(lambda: urls or errors, what="the live viewer to listen")
    assert not errors, errors
    url = urls[0]
    base, _, token = url.partition("/?token=")
    try:
        yield LiveServer(base, token, state)
    finally:
        loop.call_soon_threadsafe(stop.set)
        t.join(30)
        loop.close()


def http(
    url: str, *, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """(status, body) of one request."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
