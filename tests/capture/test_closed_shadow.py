"""Closed shadow roots, recorded through the agent's CDP and replayed as open roots: their text
and later changes, roots attached by elements defined or added later, the ``closed`` mark in
the raw events, and masking inside them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext

from agent.capture.closed_shadow import _CALLS, ClosedShadow, _DocScan, closed_in
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


def _closed_shadow(cs: CaptureSession) -> ClosedShadow:
    assert cs.engine is not None
    return cs.engine.closed_shadow


@contextlib.asynccontextmanager
async def _recording_builtin(home: Path) -> AsyncIterator[tuple[CaptureSession, MemorySink]]:
    """A capture session recording closed_builtin.html into memory (masked), stopped after."""
    inner = MemorySink()
    async with sites() as s:
        cs = CaptureSession(
            capture_config(), MaskingSink(inner, build_masker()), SystemClock(), home
        )
        await cs.start(s.a + "/closed_builtin.html")
        try:
            yield cs, inner
        finally:
            await cs.stop()


async def _record_builtin(home: Path) -> tuple[list[Event], int]:
    """closed_builtin.html: its roots, then one attached after load and a change; also how
    many document scans ran before the late root arrived."""
    async with _recording_builtin(home) as (cs, inner):
        for text in ("div closed", "span closed", "declared closed"):
            await wait_until_async(functools.partial(_has, inner, text), what=text)
        closed = _closed_shadow(cs)
        scans = closed.scans
        await cs.page.evaluate("window.attachLater(), window.change()")
        await wait_until_async(lambda: _has(inner, "attached later"), what="the late root")
        await wait_until_async(lambda: _has(inner, "div changed"), what="the change")
        scans = closed.scans - scans
    return list(inner.events), scans


def test_closed_roots_on_builtin_elements_and_attached_after_load_are_replayed(
    tmp_path: Path,
) -> None:
    """Closed roots on a div and a span (page script) and on a section (declarative HTML), and
    one the page attaches to a paragraph after load, which only a later document scan can
    find (attachShadow changes no attribute or child): all are recorded, marked ``closed``,
    and replayed as open roots with the later change."""
    events, scans = asyncio.run(_record_builtin(tmp_path))
    assert scans >= 1  # the late root came from a periodic scan, not from the load's
    closed = _closed_nodes(events)
    assert {"b", "i", "u", "tt"} <= {n.get("tagName") for n in closed}
    assert all(n.get("isShadow") is True for n in closed)
    rr = [e.payload for e in events if e.kind.startswith("rrweb.")]

    def replay(ctx: BrowserContext, base: str) -> Any:
        return replay_state(ctx, base, rr)

    texts = run_in_browser(replay)["texts"]
    assert "div changed" in texts and "div closed" not in texts
    assert "span closed" in texts and "declared closed" in texts and "attached later" in texts
    assert texts.count("#shadow") == 4


async def _record_reattached(home: Path) -> list[Event]:
    """closed_builtin.html: #d (a div with a closed root) is detached, a keyframe is taken
    without it, it is attached again and its closed text changed."""
    async with _recording_builtin(home) as (cs, inner):
        await wait_until_async(lambda: _has(inner, "div closed"), what="the div's root")
        await cs.page.evaluate("window.held = document.getElementById('d'), held.remove()")
        before = _snapshots(inner)
        assert await cs.request_snapshots() == 1
        await wait_until_async(lambda: _snapshots(inner) > before, what="a keyframe")
        await cs.page.evaluate(
            "document.body.append(window.held),"
            "window.roots.d.getElementById('msg').textContent = 'div ' + 'back again'"
        )
        await wait_until_async(lambda: _has(inner, "div back again"), what="the root again")
    return list(inner.events)


def test_a_closed_root_whose_host_was_detached_at_a_keyframe_is_found_again(
    tmp_path: Path,
) -> None:
    """The recorder forgets the roots of hosts detached at a full snapshot; the document scan
    must offer such a root again once its host is back, and the replay from that keyframe on
    shows the root's new text."""
    events = asyncio.run(_record_reattached(tmp_path))
    stream = _from_last_keyframe(events)

    def replay(ctx: BrowserContext, base: str) -> Any:
        return replay_state(ctx, base, stream)

    texts = run_in_browser(replay)["texts"]
    assert "div back again" in texts and "div closed" not in texts


async def _record_many(home: Path) -> tuple[int, int, int, bool]:
    """many_divs.html: document scans and describeNode calls over two scans of 5000 plain
    divs; then the deep chains: the most calls one scan made, and whether the deep root
    arrived."""
    inner = MemorySink()
    async with sites() as s:
        cs = CaptureSession(
            capture_config(), MaskingSink(inner, build_masker()), SystemClock(), home
        )
        await cs.start(s.a + "/many_divs.html")
        try:
            closed = _closed_shadow(cs)
            await wait_until_async(lambda: closed.scans >= 2, what="two document scans")
            flat_calls, adopted = closed.most_calls, closed.adopted
            await cs.page.evaluate("window.nestDeep()")
            await wait_until_async(lambda: _has(inner, "deep closed"), what="the deep root")
            deep_calls = closed.most_calls
        finally:
            await cs.stop()
    return flat_calls, adopted, deep_calls, _has(inner, "deep closed")


def test_thousands_of_plain_divs_cost_one_call_per_scan_and_deep_trees_stay_capped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """5000 plain divs without shadow roots: each document scan is one ``describeNode`` and
    hands nothing over (not even the recorder's own bar, a closed root on a div the recorder
    does not record). 30 chains nested 200 deep (past one call's depth): a scan makes at
    most ``_CALLS`` calls, reaches that cap, and a later scan continues where it stopped, so
    the closed root at the bottom of the last chain is still found. Scans wait 10 times their
    duration here, not 100 (on a loaded machine a scan of this page takes some 0.3 s), so the
    test waits seconds rather than minutes; the call cap is the real one."""
    monkeypatch.setattr("agent.capture.closed_shadow._COST_FACTOR", 10)
    flat_calls, adopted, deep_calls, deep_found = asyncio.run(_record_many(tmp_path))
    assert flat_calls == 1
    assert adopted == 0
    assert deep_calls == _CALLS
    assert deep_found


def test_closed_in_lists_closed_roots_and_cut_nodes_but_not_open_or_frame_roots() -> None:
    """The walk of a ``describeNode`` answer: closed roots at any depth (inside other roots
    too), nodes whose children the answer left out, no open or user-agent roots, nothing from
    a frame's document."""
    frame_doc = {"backendNodeId": 9, "childNodeCount": 1, "shadowRoots": []}
    tree: dict[str, Any] = {
        "backendNodeId": 1,
        "childNodeCount": 3,
        "children": [
            {
                "backendNodeId": 2,
                "childNodeCount": 0,
                "shadowRoots": [
                    {
                        "backendNodeId": 3,
                        "shadowRootType": "closed",
                        "childNodeCount": 1,
                        "children": [
                            {
                                "backendNodeId": 4,
                                "childNodeCount": 0,
                                "shadowRoots": [{"backendNodeId": 5, "shadowRootType": "closed"}],
                            }
                        ],
                    }
                ],
            },
            {"backendNodeId": 6, "shadowRoots": [{"backendNodeId": 7, "shadowRootType": "open"}]},
            {"backendNodeId": 8, "childNodeCount": 4, "contentDocument": frame_doc},
        ],
    }
    found, cut = closed_in(tree)
    assert sorted(found) == [(2, 3), (4, 5)]
    assert cut == [8]


def test_document_scans_wait_5_s_or_100_times_their_cost_at_most_a_minute() -> None:
    """When the next document scan may start: 5 s after the last ended, or 100 times its
    duration if longer, but never more than 60 s; after a full snapshot as soon as its cost
    allows; never while one runs; at once for a new recorder."""
    s = 1_000_000_000
    st = _DocScan()
    assert st.due(0, snapshot=False)
    st.ended_ns, st.cost_ns = 100 * s, s // 100  # a 10 ms scan
    assert not st.due(104 * s, snapshot=False) and st.due(105 * s, snapshot=False)
    assert not st.due(100 * s + s // 2, snapshot=True) and st.due(101 * s, snapshot=True)
    st.cost_ns = s // 5  # a 200 ms scan: 20 s apart
    assert not st.due(119 * s, snapshot=False) and st.due(120 * s, snapshot=False)
    st.cost_ns = 10 * s  # a 10 s scan: capped at a minute
    assert not st.due(159 * s, snapshot=True) and st.due(160 * s, snapshot=False)
    st.running = True
    assert not st.due(1000 * s, snapshot=True)
