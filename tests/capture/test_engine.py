"""Auto-attach: every page, popup, new tab and cross-origin iframe is recorded from its start."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from agent.capture.cdp import CDPConnection
from agent.capture.emitter import Emitter
from agent.capture.engine import CaptureEngine
from agent.events import Event
from agent.testing import FakeClock, MemorySink
from tests.capture.servers import capture_config, of_kind, recording, sites, wait_for

pytestmark = pytest.mark.browser


def _recorder_pages(events: list[Event]) -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = {}
    for e in events:
        if e.kind.startswith("rrweb.") and e.page:
            out.setdefault(e.page, []).append(e)
    return out


async def _popup_and_cross_site_frame_recorded(
    sink: MemorySink, main_id: str, tab_id: str, pop_id: str
) -> None:
    """The popup's recorder is live, the OOPIF is recorded, and only reused windows needed
    the recorder evaluated by hand."""
    # The popup's recorder is live: the click's DOM change was captured (as a
    # mutation, or in the snapshot if the click beat the re-injected recorder).
    await wait_for(
        lambda: [
            e
            for e in sink.events
            if e.page == pop_id
            and e.kind in ("rrweb.mutation", "rrweb.full_snapshot")
            and "clicked" in str(e.payload)
        ]
    )
    # The cross-site iframe is its own target, recorded under the main page.
    await wait_for(
        lambda: [
            e
            for e in of_kind(sink, "rrweb.full_snapshot")
            if e.page == main_id and e.frame != main_id and "cross-site frame" in str(e.payload)
        ]
    )
    frames = {e.frame for e in of_kind(sink, "rrweb.full_snapshot") if e.page == main_id}
    assert len(frames) == 2
    # only windows reused for a same-origin document needed it evaluated by hand
    injected = {(e.page, e.payload["how"]) for e in of_kind(sink, "capture.injected")}
    assert (pop_id, "window_reuse") in injected
    assert injected <= {(pop_id, "window_reuse"), (tab_id, "window_reuse")}


def test_popup_new_tab_window_open_and_cross_site_iframe_are_recorded_from_first_document(
    tmp_path: Path,
) -> None:
    """target=_blank, window.open (same-origin reuse) and an OOPIF all send recorder events."""

    async def main() -> None:
        async with sites() as s, recording(tmp_path, s.a + "/main.html") as (cs, sink):
            page = cs.page
            async with cs.driver.expect_page() as tab_info:
                await page.click("#blank")
            tab = await tab_info.value
            async with cs.driver.expect_page() as pop_info:
                await page.click("#open")
            popup = await pop_info.value
            await tab.wait_for_load_state("domcontentloaded")
            await popup.wait_for_load_state("domcontentloaded")
            await popup.click("#c")

            def by_url() -> dict[str, str]:
                return {
                    e.payload["data"]["href"]: e.page or "" for e in of_kind(sink, "rrweb.meta")
                }

            await wait_for(lambda: sum("child.html" in h for h in by_url()) >= 2)
            created = {e.page: e for e in of_kind(sink, "page.created")}
            main_id = by_url()[s.a + "/main.html"]
            tab_id = by_url()[s.a + "/child.html?via=blank"]
            pop_id = by_url()[s.a + "/child.html?via=open"]
            assert len({main_id, tab_id, pop_id}) == 3
            assert created[tab_id].payload["opener"] == main_id
            assert created[pop_id].payload["opener"] == main_id
            # Each page's document is recorded (a popup's first document request can race
            # its Network.enable browser-side, so the navigation is what is asserted).
            for pid, q in ((tab_id, "via=blank"), (pop_id, "via=open")):
                await wait_for(
                    lambda pid=pid, q=q: [
                        e
                        for e in of_kind(sink, "page.navigate")
                        if e.page == pid and e.payload["url"].endswith(q)
                    ]
                )
            await _popup_and_cross_site_frame_recorded(sink, main_id, tab_id, pop_id)

    asyncio.run(main())


def test_recorder_stream_has_meta_then_full_snapshot_and_utc_times(tmp_path: Path) -> None:
    """The first recorder events of a page are Meta then FullSnapshot, stamped in UTC ns."""

    async def main() -> None:
        async with sites() as s, recording(tmp_path, s.a + "/plain.html") as (cs, sink):
            await cs.page.click("#b")
            await wait_for(
                lambda: [e for e in of_kind(sink, "rrweb.mutation") if "changed" in str(e.payload)]
            )
            rr = [e for e in sink.events if e.kind.startswith("rrweb.")]
            assert [e.kind for e in rr[:2]] == ["rrweb.meta", "rrweb.full_snapshot"]
            for e in rr:
                assert e.t_utc_ns == e.payload["timestamp"] * 1_000_000
            monos = [e.t_mono_ns for e in rr]
            assert monos == sorted(monos)
            clicks = [
                e
                for e in of_kind(sink, "rrweb.mouse_interaction")
                if e.payload["data"]["type"] == 2
            ]
            assert clicks and clicks[0].payload["action_id"].startswith("a")
            assert not of_kind(sink, "capture.injected")  # the init script did its job

    asyncio.run(main())


def test_malformed_binding_message_is_recorded_as_tamper_and_counter_hole_as_gap(
    tmp_path: Path,
) -> None:
    """Junk through the binding -> capture.tamper; a skipped batch counter -> capture.gap;
    capture goes on."""

    async def main() -> None:
        async with sites() as s, recording(tmp_path, s.a + "/plain.html") as (cs, sink):
            await wait_for(lambda: of_kind(sink, "rrweb.full_snapshot"))
            engine = cs.engine
            assert engine is not None
            t = next(t for t in engine.targets.values() if t.is_page)
            ctx = t.world_context(t.main_frame_id or "")
            send = f"globalThis[{engine.binding!r}]"
            await engine.conn.send(
                "Runtime.evaluate",
                {
                    "expression": f"{send}('not json'); "
                    f'{send}(\'{{"v":1,"n":900,"events":[]}}\')',
                    "contextId": ctx,
                },
                t.session_id,
            )
            tamper = await wait_for(lambda: of_kind(sink, "capture.tamper"))
            assert tamper[0].payload["reason"].startswith("not JSON")
            gap = await wait_for(
                lambda: [
                    e for e in of_kind(sink, "capture.gap") if e.payload["cause"] == "batch_lost"
                ]
            )
            assert gap[0].payload["got_n"] == 900
            await cs.page.click("#b")
            await wait_for(
                lambda: [e for e in of_kind(sink, "rrweb.mutation") if "changed" in str(e.payload)]
            )

    asyncio.run(main())


class _QueuingCDP:
    """Records the commands sent; never answers (like a target paused for the debugger)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None]] = []

    def on_event(self, handler: Callable[[str, dict[str, Any], str | None], None]) -> None:
        pass

    def send_nowait(
        self, method: str, params: dict[str, Any] | None = None, session_id: str | None = None
    ) -> asyncio.Future[dict[str, Any]]:
        self.sent.append((method, session_id))
        return asyncio.get_running_loop().create_future()

    def fire(
        self, method: str, params: dict[str, Any] | None = None, session_id: str | None = None
    ) -> None:
        self.sent.append((method, session_id))


def test_attach_queues_every_setup_command_then_resumes_the_target_without_awaiting(
    tmp_path: Path,
) -> None:
    """A new page gets all its setup commands, then runIfWaitingForDebugger, with no answer
    awaited in between (awaiting Page.enable first deadlocks target=_blank popups)."""

    async def main() -> list[tuple[str, str | None]]:
        clock = FakeClock()
        cdp = _QueuingCDP()
        engine = CaptureEngine(
            cast(CDPConnection, cdp),
            capture_config(),
            Emitter(MemorySink(), clock),
            clock,
            home=tmp_path,
            bundle="",
            bundle_version="",
            downloads_dir=tmp_path,
        )
        info = {"type": "page", "targetId": "T1", "browserContextId": "C1", "url": "about:blank"}
        engine._dispatch("Target.attachedToTarget", {"sessionId": "S1", "targetInfo": info}, None)
        assert engine.targets["S1"].target_id == "T1"
        await engine.tasks.aclose()
        return cdp.sent

    sent = asyncio.run(main())
    assert sent == [
        ("Page.enable", "S1"),
        ("Page.setLifecycleEventsEnabled", "S1"),
        ("Runtime.enable", "S1"),
        ("Runtime.addBinding", "S1"),
        ("Page.addScriptToEvaluateOnNewDocument", "S1"),
        ("Network.enable", "S1"),
        ("Inspector.enable", "S1"),
        ("Fetch.enable", "S1"),
        ("DOM.enable", "S1"),
        ("CSS.enable", "S1"),
        ("Browser.setDownloadBehavior", None),
        ("Target.setAutoAttach", "S1"),
        ("Emulation.setDeviceMetricsOverride", "S1"),
        ("Emulation.setFocusEmulationEnabled", "S1"),
        ("Runtime.runIfWaitingForDebugger", "S1"),
    ]


def test_a_visible_window_gets_no_viewport_emulation_so_a_resize_reaches_the_page(
    tmp_path: Path,
) -> None:
    """emulate_viewport=False (headful): focus emulation only, no fixed device metrics."""

    async def main() -> list[tuple[str, str | None]]:
        clock = FakeClock()
        cdp = _QueuingCDP()
        engine = CaptureEngine(
            cast(CDPConnection, cdp),
            capture_config(),
            Emitter(MemorySink(), clock),
            clock,
            home=tmp_path,
            bundle="",
            bundle_version="",
            downloads_dir=tmp_path,
            emulate_viewport=False,
        )
        info = {"type": "page", "targetId": "T1", "browserContextId": "C1", "url": "about:blank"}
        engine._dispatch("Target.attachedToTarget", {"sessionId": "S1", "targetInfo": info}, None)
        await engine.tasks.aclose()
        return cdp.sent

    methods = [m for m, _sid in asyncio.run(main())]
    assert "Emulation.setDeviceMetricsOverride" not in methods
    assert methods[-2:] == ["Emulation.setFocusEmulationEnabled", "Runtime.runIfWaitingForDebugger"]
