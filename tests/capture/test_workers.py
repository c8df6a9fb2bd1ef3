"""Worker and service-worker traffic: auto-attached before they run, recorded like a page's
requests (bodies, caps, masking) and attributed to the worker (and the page that owns a
dedicated worker)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.capture.session import CaptureSession
from agent.clock import SystemClock
from agent.events import Event
from agent.mask.sink import MaskingSink
from agent.mask.testing import build_masker
from agent.testing import MemorySink
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
