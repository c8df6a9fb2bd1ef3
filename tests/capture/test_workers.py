"""Worker and service-worker traffic: auto-attached before they run, recorded like a page's
requests (bodies, caps, masking) and attributed to the worker (and the page that owns a
dedicated worker)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from agent.capture.cdp import CDPConnection
from agent.capture.emitter import Emitter
from agent.capture.engine import CaptureEngine
from agent.capture.session import CaptureSession
from agent.capture.workers import owning_page
from agent.clock import SystemClock
from agent.events import Event
from agent.mask.sink import MaskingSink
from agent.mask.testing import build_masker
from agent.testing import FakeClock, MemorySink
from tests.capture.servers import capture_config, of_kind, sites
from tests.waiting import wait_until_async

pytestmark = pytest.mark.browser


def _pair(sink: MemorySink, path: str) -> tuple[Event, Event] | None:
    reqs = [e for e in of_kind(sink, "net.request") if e.payload["url"].endswith(path)]
    resps = [e for e in of_kind(sink, "net.response") if e.payload["url"].endswith(path)]
    return (reqs[0], resps[0]) if reqs and resps else None


def test_dedicated_worker_and_service_worker_requests_are_recorded_masked(
    tmp_path: Path,
) -> None:
    """A dedicated and a shared worker fetching ``/api/w`` as their first line and a service
    worker fetching ``/api/sw`` at install: every pair is in the journal with its body, masked
    like page traffic (the card numbers and the worker's bearer token never reach the sink)."""

    async def main() -> None:
        inner = MemorySink()
        sink = MaskingSink(inner, build_masker())
        async with sites() as s:
            cs = CaptureSession(capture_config(), sink, SystemClock(), tmp_path)
            await cs.start(s.a + "/workers.html")
            try:
                assert await cs.page.evaluate("window.swReady") == "ready"
                await cs.page.wait_for_function("window.workerGot && window.sharedGot")
                w = await wait_until_async(lambda: _pair(inner, "/api/w"), what="/api/w")
                shared = "/api/w?shared=1"
                shw = await wait_until_async(lambda: _pair(inner, shared), what=shared)
                sw = await wait_until_async(lambda: _pair(inner, "/api/sw?install=1"), what="sw")
            finally:
                await cs.stop()
        page = cs.page.target_id
        w_req, w_resp = w
        assert w_req.payload["worker"]["type"] == "worker"
        assert w_req.payload["worker"]["url"].endswith("/w.js")
        assert w_req.page == page  # the dedicated worker's page
        assert w_resp.payload["worker"] == w_req.payload["worker"]
        assert w_resp.payload["status"] == 200
        assert w_resp.payload["body"] == '{"quote":"w-ok","card":"[redacted]"}'
        assert w_req.payload["headers"]["Authorization"] == "[redacted]"
        shw_req, shw_resp = shw
        assert shw_req.payload["worker"]["type"] == "shared_worker"
        assert shw_req.payload["worker"]["url"].endswith("/shw.js")
        assert shw_req.page is None  # a shared worker may serve several pages
        assert shw_resp.payload["body"] == w_resp.payload["body"]
        sw_req, sw_resp = sw
        assert sw_req.payload["worker"]["type"] == "service_worker"
        assert sw_req.payload["worker"]["url"].endswith("/sw.js")
        assert sw_req.page is None  # a service worker belongs to no one page
        assert sw_resp.payload["body"] == '{"quote":"sw-ok","card":"[redacted]"}'
        # recorded once each, although Chromium may attach a service worker twice
        for path in ("/api/w", shared, "/api/sw?install=1"):
            reqs = [e for e in of_kind(inner, "net.request") if e.payload["url"].endswith(path)]
            assert len(reqs) == 1, [e.payload["worker"] for e in reqs]

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


def test_a_worker_gets_network_and_fetch_before_it_resumes_and_a_second_attach_is_dropped(
    tmp_path: Path,
) -> None:
    """A service worker attached from the browser target: Network.enable and Fetch.enable,
    then runIfWaitingForDebugger, nothing awaited in between; the same worker attached again
    from a page's session is resumed and detached (its requests would be recorded twice);
    a dedicated worker belongs to the page whose session attached it."""

    async def main() -> tuple[list[tuple[str, str | None]], CaptureEngine]:
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
        attach = "Target.attachedToTarget"
        page = {"type": "page", "targetId": "P1", "browserContextId": "C1", "url": "about:blank"}
        engine._dispatch(attach, {"sessionId": "S1", "targetInfo": page}, None)
        cdp.sent.clear()
        sw = {"type": "service_worker", "targetId": "W1", "url": "http://a/sw.js"}
        engine._dispatch(attach, {"sessionId": "S2", "targetInfo": sw}, None)
        engine._dispatch(attach, {"sessionId": "S3", "targetInfo": sw}, "S1")
        worker = {"type": "worker", "targetId": "W2", "url": "http://a/w.js"}
        engine._dispatch(attach, {"sessionId": "S4", "targetInfo": worker}, "S1")
        await engine.tasks.aclose()
        return cdp.sent, engine

    sent, engine = asyncio.run(main())
    assert sent == [
        ("Network.enable", "S2"),
        ("Fetch.enable", "S2"),
        ("Runtime.runIfWaitingForDebugger", "S2"),
        ("Runtime.runIfWaitingForDebugger", "S3"),
        ("Target.detachFromTarget", "S1"),
        ("Network.enable", "S4"),
        ("Fetch.enable", "S4"),
        ("Runtime.runIfWaitingForDebugger", "S4"),
    ]
    sw_target, worker_target = engine.targets["S2"], engine.targets["S4"]
    assert (sw_target.type, owning_page(sw_target)) == ("service_worker", None)
    assert (worker_target.type, owning_page(worker_target)) == ("worker", "P1")
    assert "S3" not in engine.targets
