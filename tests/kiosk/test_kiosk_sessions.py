"""The kiosk service with real Chromium: one sealed session per customer, started and ended
by the operator, ended by idleness after a countdown, and nothing of one customer left for
the next."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from agent.errors import CaptureError
from agent.events import Event
from agent.journal.store import find_session
from agent.kiosk.lobby import CONTROL_BINDING, START_BUTTON, WARNING_HOST
from agent.kiosk.service import HeldSink, KioskService
from agent.testing import MemorySink
from tests.kiosk.kioskrun import of_kind, run_kiosk, session_records, start_customer
from tests.kiosk.sites import DOWNLOAD_BODY, KioskSites
from tests.waiting import wait_until_async

pytestmark = pytest.mark.browser


def test_operator_start_and_end_key_seal_one_verified_session(tmp_path: Path) -> None:
    sites: list[KioskSites] = []

    async def drive(service: KioskService, s: KioskSites) -> None:
        sites.append(s)
        await start_customer(service, 1)
        assert service.capture is not None
        page = service.capture.page
        await page.click("#link")  # another origin: the block page, in this session
        await page.wait_for_selector("#sessiontape-kiosk-blocked")
        # The session may end and close the browser before the key-up events are sent.
        with contextlib.suppress(CaptureError):
            await page.press("Control+Alt+End")

    out = run_kiosk(tmp_path, drive, customers=1)
    assert out.reason == "customers" and out.verified
    [customer] = out.customers
    assert customer.reason == "operator"
    assert find_session(tmp_path, customer.session_id).user == "op-7"
    records = session_records(tmp_path, customer.session_id)
    kiosk = of_kind(records, "kiosk.")
    assert kiosk[0].kind == "kiosk.session_start" and kiosk[-1].kind == "kiosk.session_end"
    assert kiosk[0].payload["reason"] == "operator" and kiosk[0].payload["operator"] == "op-7"
    blocked = {(r.payload["how"], r.payload["url"]) for r in kiosk if r.kind == "kiosk.blocked"}
    assert blocked == {
        ("link", f"{sites[0].b}/evil.html"),
        ("subresource", f"{sites[0].b}/pixel.png"),
    }
    assert kiosk[-1].payload == {"reason": "operator", "operator": "op-7"}


def test_page_scripts_can_neither_start_nor_end_a_session(tmp_path: Path) -> None:
    """A synthetic click on Start and a synthetic Ctrl+Alt+End (untrusted events) do
    nothing, and the controls' binding is invisible to the page's own world. A binding call
    reaches the agent before the evaluation that made it answers, so checking right after
    each evaluation is enough."""

    async def drive(service: KioskService, s: KioskSites) -> None:
        def lobby_up() -> bool:
            return service.state == "lobby" and service.capture is not None

        await wait_until_async(lobby_up, what="the start screen")
        assert service.capture is not None and service.gate is not None
        page = service.capture.page
        await page.wait_for_selector(f"#{START_BUTTON}")
        assert await page.evaluate(f"() => typeof window.{CONTROL_BINDING}") == "undefined"
        await page.evaluate(f"() => document.getElementById({START_BUTTON!r}).click()")
        assert not service.gate.started.is_set() and service.state == "lobby"
        await start_customer(service, 1)
        synthetic = (
            "() => document.dispatchEvent(new KeyboardEvent('keydown', "
            "{ctrlKey: true, altKey: true, code: 'End', key: 'End', bubbles: true}))"
        )
        await page.evaluate(synthetic)
        assert not service.gate.ended.is_set() and service.state == "session"
        service.end_session()

    out = run_kiosk(tmp_path, drive, customers=1)
    assert [c.reason for c in out.customers] == ["supervisor"] and out.verified


def test_idle_session_shows_a_countdown_input_dismisses_it_then_idleness_ends_it(
    tmp_path: Path,
) -> None:
    seen: list[str] = []

    async def drive(service: KioskService, s: KioskSites) -> None:
        await start_customer(service, 1)
        assert service.capture is not None
        page = service.capture.page
        present = f"!!document.getElementById({WARNING_HOST!r})"
        await page.wait_for_function(present, timeout=30)
        seen.append("shown")
        await page.mouse.move(40, 40)  # the customer is back: a trusted pointer move
        await page.wait_for_function(f"!{present}", timeout=30)
        seen.append("dismissed")
        await page.wait_for_function(present, timeout=30)
        seen.append("shown again")

    out = run_kiosk(tmp_path, drive, customers=1, idle_seconds=4.0, warning_seconds=3.0)
    assert seen == ["shown", "dismissed", "shown again"]
    [customer] = out.customers
    assert customer.reason == "idle" and out.verified
    records = session_records(tmp_path, customer.session_id)
    kiosk = [r.kind for r in of_kind(records, "kiosk.") if r.kind != "kiosk.blocked"]
    assert kiosk == [
        "kiosk.session_start",
        "kiosk.idle_warning",
        "kiosk.idle_cleared",
        "kiosk.idle_warning",
        "kiosk.session_end",
    ]
    warnings = of_kind(records, "kiosk.idle_warning")
    assert [w.payload["shown"] for w in warnings] == [1, 1]
    assert all(0 < w.payload["left_ms"] <= 3000 for w in warnings)


def test_next_customer_starts_with_nothing_of_the_previous_one(tmp_path: Path) -> None:
    """Storage of every kind, and a downloaded file (downloads allowed), are gone for the
    next customer."""
    states: list[dict[str, Any]] = []
    downloads: list[list[Path]] = []

    async def drive(service: KioskService, s: KioskSites) -> None:
        for number in (1, 2):
            await start_customer(service, number)
            assert service.capture is not None
            page = service.capture.page
            folder = service.capture.browser.tmp_dir / "downloads"
            if number == 1:
                await page.click("#dl")
                saved = functools.partial(_saved, folder)
                await wait_until_async(saved, what="the statement downloaded")
            downloads.append(_saved(folder))
            await page.goto(s.a + "/state.html", wait_until="load")
            fn = "() => window.leaveState()" if number == 1 else "() => window.probeState()"
            states.append(await page.evaluate(fn))
            service.end_session()

    out = run_kiosk(tmp_path, drive, customers=2, policy_kw={"downloads": "allow"})
    [statement], nothing = downloads
    assert nothing == [] and not statement.exists()
    left, found = states
    assert left == {
        "cookie": "customer=1",
        "local": "1",
        "session": "1",
        "idb": ["customer-db"],
        "caches": ["customer-cache"],
        "workers": 1,
    }
    assert found == {
        "cookie": "",
        "local": None,
        "session": None,
        "idb": [],
        "caches": [],
        "workers": 0,
    }
    first, second = out.customers
    assert (first.reason, second.reason) == ("supervisor", "supervisor") and out.verified
    assert not first.tmp_dir.exists()  # the first customer's profile is deleted
    assert first.tmp_dir != second.tmp_dir
    previous = find_session(tmp_path, second.session_id).previous_session
    assert previous is not None
    assert (previous["session_id"], previous["reason"]) == (first.session_id, "restart")


def _saved(folder: Path) -> list[Path]:
    """The files fully downloaded into ``folder`` (not Chromium's partial ones)."""
    done = [f for f in folder.iterdir() if f.is_file() and not f.name.endswith(".crdownload")]
    return [f for f in done if f.read_bytes() == DOWNLOAD_BODY]


def test_a_killed_customer_browser_seals_that_session_and_the_next_customer_gets_a_new_one(
    tmp_path: Path,
) -> None:
    async def drive(service: KioskService, s: KioskSites) -> None:
        await start_customer(service, 1)
        assert service.capture is not None
        os.kill(service.capture.browser.pid, signal.SIGKILL)
        await start_customer(service, 2)
        service.end_session()

    out = run_kiosk(tmp_path, drive, customers=2)
    first, second = out.customers
    assert (first.reason, second.reason) == ("browser_closed", "supervisor") and out.verified
    end = of_kind(session_records(tmp_path, first.session_id), "kiosk.session_end")
    assert [e.payload["reason"] for e in end] == ["browser_closed"]
    assert not first.tmp_dir.exists()


def test_start_screen_events_are_held_up_to_a_limit_then_written_in_order() -> None:
    def ev(n: int) -> Event:
        return Event(t_utc_ns=n, t_mono_ns=n, kind="page.title", payload={"title": str(n)})

    async def main() -> tuple[HeldSink, MemorySink]:
        held, target = HeldSink(limit=3), MemorySink()
        await held.append_many([ev(1), ev(2)])
        await held.append_many([ev(3), ev(4)])
        await held.open(target)
        await held.append_many([ev(5)])
        return held, target

    held, target = asyncio.run(main())
    assert [e.payload["title"] for e in target.events] == ["1", "2", "3", "5"]
    assert held.dropped == 1
