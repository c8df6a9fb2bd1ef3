"""What the live viewer serves: one :class:`~agent.replay.live.LiveFeed` polled in the
background, the rrweb events of the page being watched, and who is watching.

The hub reads the feed every ``poll_ms`` (in a worker thread: reading and checking chunks is
blocking work) and keeps the main-frame rrweb events of the page shown last, from its newest
Meta event on (a viewer that joins late starts at that keyframe; older events are dropped, so
memory does not grow with the session). A page switch (a popup, a new tab) starts a new
*epoch*: viewers rebuild their replayer. Viewers long-poll :meth:`LiveHub.wait` with the
``version`` they have; it answers at once when something changed, else after ``timeout``.

Watchers are tracked per viewer page (a random client id): the first request of a page joins
(``controls.join``), a page that stops polling for ``leave_seconds`` or says goodbye leaves
(``controls.leave``). :meth:`LiveHub.follow` switches to another session (a kiosk's next
customer); with ``follow_newer`` the hub does that itself when its session ended and a newer
one appeared in the home.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import structlog

from agent.audit import AUDIT_PREFIX
from agent.events import Record
from agent.keys import Keyring
from agent.replay import assets as asset_mod
from agent.replay.live import LiveFeed
from agent.replay.rrweb_urls import OfflineUrls

log = structlog.get_logger("sessiontape.live")


class LiveControls(Protocol):
    """What a supervisor can do to the session being watched (a kiosk implements it; each
    call is recorded as an audited event in the session itself)."""

    async def join(self, who: str, via: str) -> object: ...
    async def leave(self, who: str) -> object: ...
    async def pause(self, who: str) -> object: ...
    async def resume(self, who: str) -> object: ...
    async def end(self, who: str) -> object: ...
    def state(self) -> dict[str, Any]: ...


@dataclass
class Watcher:
    """One open viewer page."""

    who: str
    via: str
    seen: float = field(default_factory=time.monotonic)


class LiveHub:
    """See the module docstring."""

    def __init__(
        self,
        home: Path,
        session_id: str | None,
        *,
        poll_ms: int = 250,
        leave_seconds: float = 10.0,
        controls: LiveControls | None = None,
        follow_newer: bool = False,
        asset_prefix: str = "/assets/",
    ) -> None:
        self.home = home
        self.poll_s = poll_ms / 1000
        self.leave_seconds = leave_seconds
        self.controls = controls
        self.follow_newer = follow_newer
        self.asset_prefix = asset_prefix
        self.keyring = Keyring.load(home)
        self.feed: LiveFeed | None = None
        self.session_id = ""
        self.version = 0
        self.epoch = 0
        self.page: str | None = None
        self.events: list[dict[str, Any]] = []  # {"seq", "payload"} of the watched page
        self.assets: dict[str, dict[str, Any]] = {}
        self.watchers: dict[str, Watcher] = {}
        self._changed = asyncio.Condition()
        self._want: str | None = session_id
        self.floor = ""  # with follow_newer and no session: follow one newer than this

    # --- following -------------------------------------------------------------------------
    def follow(self, session_id: str) -> None:
        """Watch ``session_id`` from now on (taken up by the next poll)."""
        self._want = session_id

    async def run(self, stop: asyncio.Event) -> None:
        """Poll the feed and sweep silent watchers until ``stop`` is set."""
        try:
            while not stop.is_set():
                await self._poll_once()
                await self._sweep()
                await _sleep_or(stop, self.poll_s)
        finally:
            if self.feed is not None:
                self.feed.close()
            for cid in list(self.watchers):
                await self._leave(cid)

    async def _poll_once(self) -> None:
        if self._want is not None and self._want != self.session_id:
            self._start(self._want)
        feed = self.feed
        if feed is None:
            newer = _newer_session(self.home, self.floor) if self.follow_newer else None
            if newer:
                self.follow(newer)
            return
        before = feed.status.as_dict()
        try:
            recs = await asyncio.to_thread(feed.poll)
        except Exception as exc:  # the feed stops; the supervisor sees why
            log.exception("live.poll_failed", session=self.session_id)
            feed.status.state, feed.status.error = "failed", f"cannot read: {exc}"
            recs = []
        self._take(recs)
        if recs or feed.status.as_dict() != before:
            await self._bump()
        if feed.done and self.follow_newer:
            newer = _newer_session(self.home, self.session_id)
            if newer:
                self.follow(newer)

    def _start(self, session_id: str) -> None:
        if self.feed is not None:
            self.feed.close()
        self.feed = LiveFeed(self.home, session_id, keyring=self.keyring)
        self.session_id = session_id
        self.epoch += 1
        self.page, self.events = None, []
        log.info("live.following", session=session_id)

    def _take(self, recs: list[Record]) -> None:
        """Keep the main-frame rrweb events of the newest page, from its newest Meta on."""
        for r in recs:
            p = r.payload
            if r.kind == "net.asset" and "sha256" in p and p.get("url"):
                self.assets.setdefault(str(p["sha256"]), {"urls": []})["urls"].append(p["url"])
            if not r.kind.startswith("rrweb.") or r.page is None or r.frame != r.page:
                continue
            if r.kind == "rrweb.meta":
                if r.page != self.page:
                    self.epoch += 1
                    self.page = r.page
                self.events = []
            if r.page == self.page:
                self.events.append({"seq": r.seq, "payload": p})

    async def _bump(self) -> None:
        async with self._changed:
            self.version += 1
            self._changed.notify_all()

    # --- viewers ---------------------------------------------------------------------------
    async def wait(self, version: int, epoch: int, after: int, timeout: float) -> dict[str, Any]:
        """The answer to a viewer's long poll (see the module docstring)."""
        async with self._changed:
            if version == self.version:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)
        reset = epoch != self.epoch or not self.events or after < self.events[0]["seq"] - 1
        new = self.events if reset else [e for e in self.events if e["seq"] > after]
        urls = OfflineUrls(asset_mod.url_map(self.assets), self.asset_prefix)
        return {
            "version": self.version,
            "now_ms": time.time_ns() // 1_000_000,  # the baseline of the viewer's replayer
            "epoch": self.epoch,
            "reset": reset,
            "session_id": self.session_id,
            "events": [{"seq": e["seq"], "payload": urls.event(e["payload"])} for e in new],
            "feed": self.feed.status.as_dict() if self.feed else None,
            "kiosk": self.controls.state() if self.controls is not None else None,
            "controls": self.controls is not None,
        }

    async def seen(self, client: str, who: str, via: str) -> None:
        """A viewer page polled: the first time, the supervisor joins."""
        w = self.watchers.get(client)
        if w is not None:
            w.seen = time.monotonic()
            return
        self.watchers[client] = Watcher(who, via)
        log.info("live.join", who=who, via=via)
        if self.controls is not None:
            await self.controls.join(who, via)
            await self._bump()

    async def gone(self, client: str) -> None:
        """A viewer page said goodbye (closed, reloaded)."""
        await self._leave(client)

    async def _leave(self, client: str) -> None:
        w = self.watchers.pop(client, None)
        if w is None:
            return
        log.info("live.leave", who=w.who)
        if self.controls is not None:
            try:
                await self.controls.leave(w.who)
            except Exception:
                log.exception("live.leave_failed", who=w.who)
            await self._bump()

    async def _sweep(self) -> None:
        now = time.monotonic()
        for cid, w in list(self.watchers.items()):
            if now - w.seen > self.leave_seconds:
                await self._leave(cid)

    async def act(self, action: str, who: str) -> None:
        """``pause``, ``resume`` or ``end`` by supervisor ``who``."""
        if self.controls is None:
            raise ValueError("this live view has no controls")
        method = {
            "pause": self.controls.pause,
            "resume": self.controls.resume,
            "end": self.controls.end,
        }[action]
        await method(who)
        await self._bump()


async def _sleep_or(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def newest_session(home: Path) -> str | None:
    """The newest session with a segment in the home (session ids begin with their UTC start
    time, so the greatest id is the newest); None when there is none."""
    root = home / "journals"
    if not root.is_dir():
        return None
    dirs = [
        d.name
        for d in root.iterdir()
        if d.is_dir() and not d.name.startswith(AUDIT_PREFIX) and any(d.glob("*.stj"))
    ]
    return max(dirs) if dirs else None


def _newer_session(home: Path, current: str) -> str | None:
    newest = newest_session(home)
    return newest if newest and newest > current else None
