"""Closed shadow roots, recorded through the agent's CDP and replayed as open roots: their text
and later changes, roots attached by elements defined or added later, the ``closed`` mark in
the raw events, and masking inside them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext

from agent.capture.session import CaptureSession
from agent.clock import SystemClock
from agent.events import Event
from agent.mask.sink import MaskingSink
from agent.mask.testing import build_masker
from agent.testing import MemorySink
from tests.capture.harness import replay_state, run_in_browser
from tests.capture.servers import capture_config, sites
from tests.waiting import wait_until_async

pytestmark = pytest.mark.browser


def _closed_nodes(events: list[Event]) -> list[dict[str, Any]]:
    """Serialized nodes marked ``closed`` in the rrweb stream (snapshots and adds)."""
    out: list[dict[str, Any]] = []

    def walk(n: dict[str, Any]) -> None:
        if n.get("closed") is True:
            out.append(n)
        for c in n.get("childNodes", []):
            walk(c)

    for e in events:
        data = e.payload.get("data", {})
        if e.kind == "rrweb.full_snapshot":
            walk(data["node"])
        for add in data.get("adds", []) if e.kind == "rrweb.mutation" else []:
            walk(add["node"])
    return out


def _texts(events: list[Event]) -> str:
    return str([e.payload for e in events if e.kind.startswith("rrweb.")])


def _has(sink: MemorySink, text: str) -> bool:
    return text in _texts(sink.events)


def _snapshots(sink: MemorySink) -> int:
    return sum(1 for e in sink.events if e.kind == "rrweb.full_snapshot")


async def _record(home: Path, cssom_trigger: bool) -> list[Event]:
    inner = MemorySink()
    sink = MaskingSink(inner, build_masker())
    async with sites() as s:
        cfg = capture_config(cssom_trigger=cssom_trigger)
        cs = CaptureSession(cfg, sink, SystemClock(), home)
        await cs.start(s.a + "/closed.html")
        try:
            page = cs.page
            await wait_until_async(lambda: _has(inner, "closed hello"), what="the closed root")
            await page.evaluate("window.defineLate(), window.addLater(), window.change()")
            await wait_until_async(lambda: _has(inner, "late defined"), what="late defined")
            await wait_until_async(lambda: _has(inner, "added later"), what="added later")
            await wait_until_async(lambda: _has(inner, "closed changed"), what="the change")
            # a keyframe: the closed roots' content is sent again after it
            before = _snapshots(inner)
            assert await cs.request_snapshots() == 1
            await wait_until_async(lambda: _snapshots(inner) > before, what="a keyframe")
            await cs.page.wait_for_timeout(300)
        finally:
            await cs.stop()
    return list(inner.events)


def _from_last_keyframe(events: list[Event]) -> list[dict[str, Any]]:
    """The rrweb stream from the last full snapshot's meta event on."""
    start = max(i for i, e in enumerate(events) if e.kind == "rrweb.meta")
    return [e.payload for e in events[start:] if e.kind.startswith("rrweb.")]


@pytest.mark.parametrize("cssom_trigger", [True, False], ids=["dom-enabled", "no-dom-domain"])
def test_closed_roots_are_recorded_marked_masked_and_replayed_as_open_roots(
    tmp_path: Path, cssom_trigger: bool
) -> None:
    """A custom element's closed root (text and a password input), one attached by an element
    defined later and one by an element added later: the raw events mark their top nodes
    ``closed``, the password never appears, and rrweb's Replayer shows three open roots with
    the later text change - from the whole stream and from a keyframe taken afterwards. The
    CDP DOM domain need not be enabled (``cssom_trigger`` enables it)."""
    events = asyncio.run(_record(tmp_path, cssom_trigger))
    closed = _closed_nodes(events)
    tags = {n.get("tagName") for n in closed}
    assert {"span", "input", "b", "i"} <= tags
    assert all(n.get("isShadow") is True for n in closed)
    raw = _texts(events)
    assert "hunter2-secret" not in raw and "typed-secret" not in raw  # password masked
    password = next(n for n in closed if n.get("tagName") == "input")
    assert password["attributes"]["value"] != "hunter2-secret"
    rr = [e.payload for e in events if e.kind.startswith("rrweb.")]
    for stream in (rr, _from_last_keyframe(events)):

        def replay(ctx: BrowserContext, base: str, st: list[Any] = stream) -> Any:
            return replay_state(ctx, base, st)

        state = run_in_browser(replay)
        texts = state["texts"]
        assert "closed changed" in texts and "closed hello" not in texts
        assert "late defined" in texts and "added later" in texts
        assert texts.count("#shadow") == 3  # three open roots in the replay
        values = {v[1]: v[2] for v in state["values"]}
        assert values["pw"] not in ("hunter2-secret", "typed-secret", "")
