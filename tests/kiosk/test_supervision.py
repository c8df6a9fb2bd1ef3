"""Live supervision of the kiosk through ``KioskService.supervision``, with real Chromium: a
pause blocks real X input (Xvfb, xdotool) behind "please wait for assistance", resume gives
it back, a supervisor's end seals a verified session holding every supervisor event, and
``require_supervisor`` refuses Start until a supervisor has joined."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from agent.capture.driver_page import PageDriver
from agent.errors import UsageError
from agent.events import Record
from agent.journal.store import find_session
from agent.keys import Keyring
from agent.kiosk.lobby import NOTE, PAUSE_HOST, PAUSE_TEXT, START_BUTTON, WARNING_HOST
from agent.kiosk.service import KioskOptions, KioskService
from agent.kiosk.supervision import MAX_NAME, NO_SUPERVISOR
from agent.seal.verify import verify_paths
from tests.kiosk.kioskrun import (
    SCREEN_XY,
    of_kind,
    run_kiosk,
    session_records,
    start_customer,
    wait_for_lobby,
)
from tests.kiosk.sites import KioskSites, kiosk_config
from tests.waiting import wait_until_async
from tests.workstation.desktop import Desktop

pytestmark = pytest.mark.browser

headful = pytest.mark.skipif(not shutil.which("Xvfb") or not shutil.which("xdotool"), reason="no X")


async def _screen_text(page: PageDriver) -> str | None:
    """The text of the pause screen on ``page`` (its closed shadow root, read through CDP);
    None when no pause screen is in the document."""
    res = await page.send(
        "Runtime.evaluate", {"expression": f"document.getElementById({PAUSE_HOST!r})"}
    )
    obj = res.get("result", {})
    if obj.get("subtype") == "null" or "objectId" not in obj:
        return None
    node = await page.send(
        "DOM.describeNode", {"objectId": obj["objectId"], "depth": -1, "pierce": True}
    )
    texts: list[str] = []

    def walk(n: dict[str, Any]) -> None:
        if n.get("nodeType") == 3:
            texts.append(str(n.get("nodeValue", "")))
        for child in [*n.get("shadowRoots", []), *n.get("children", [])]:
            walk(child)

    walk(node["node"])
    return "".join(texts)


def _supervisor_kinds(records: list[Record]) -> list[str]:
    noise = ("kiosk.blocked", "kiosk.idle_warning", "kiosk.idle_cleared")
    return [r.kind for r in of_kind(records, "kiosk.") if r.kind not in noise]


def _verified(home: Path, session_id: str) -> bool:
    """The session's verify report, as ``sessiontape verify`` makes it."""
    keyring = Keyring.load_or_init(home, kiosk_config().seal.keys)
    info = find_session(home, session_id)
    report = verify_paths(
        [info.segments[0].path.parent], keyring.trust(), keyring=keyring, decrypt=True
    )
    return bool(report.ok)


@headful
def test_pause_blocks_real_input_behind_the_wait_screen_and_a_supervisor_end_seals_it(
    tmp_path: Path, display: str
) -> None:
    seen: dict[str, Any] = {}

    async def drive(service: KioskService, s: KioskSites) -> None:
        sup = service.supervision
        await start_customer(service, 1, ready="#field")
        assert service.capture is not None
        page = service.capture.page
        desk = Desktop(display)
        await sup.join("sup-ana", "viewer")
        value = "document.getElementById('field').value"
        # This test is about the pause, not autofocus: the field is focused before the real
        # keys are typed (once, on a loaded machine, "ab" never reached it).
        await page.evaluate("() => document.getElementById('field').focus()")
        await page.wait_for_function("document.activeElement.id === 'field'", timeout=20)
        await asyncio.to_thread(desk.key, "a", "b")
        await page.wait_for_function(f"{value} === 'ab'", timeout=20)
        before = await page.evaluate("() => ({...window.seen})")

        await sup.pause("sup-ana")
        assert sup.state()["state"] == "paused"
        seen["screen"] = await _screen_text(page)
        x, y = await page.evaluate(SCREEN_XY, "press")
        await asyncio.to_thread(desk.key, "c", "d")
        await asyncio.to_thread(desk.xdo, "mousemove", str(x), str(y), "click", "1")
        seen["during"] = await page.evaluate(f"() => [{value}, {{...window.seen}}]")

        await sup.resume("sup-ana")
        assert await _screen_text(page) is None
        await asyncio.to_thread(desk.key, "e")
        await page.wait_for_function(f"{value}.endsWith('e')", timeout=20)
        await asyncio.to_thread(desk.xdo, "mousemove", str(x), str(y), "click", "1")
        await page.wait_for_function("window.seen.clicks === 1", timeout=20)
        seen["after"] = await page.evaluate(value)
        seen["before"] = before
        await sup.end("sup-ana")
        with pytest.raises(UsageError, match="already ending"):
            await sup.end("sup-ana")

    out = run_kiosk(tmp_path, drive, "/type.html", headless=False, customers=1)
    assert seen["screen"] == PAUSE_TEXT
    # Neither the keys c, d nor the click reached the page while it was paused; after the
    # resume, e and the click did (and c, d never arrived late).
    assert seen["during"] == ["ab", seen["before"]] and seen["before"]["clicks"] == 0
    assert seen["after"] == "abe"
    [customer] = out.customers
    assert customer.reason == "supervisor" and out.verified
    assert _verified(tmp_path, customer.session_id)
    _assert_one_supervised_pause(session_records(tmp_path, customer.session_id))


def _assert_one_supervised_pause(records: list[Record]) -> None:
    """Joined, paused, resumed and ended by ``sup-ana`` via ``viewer``, in that order."""
    assert _supervisor_kinds(records) == [
        "kiosk.session_start",
        "kiosk.supervisor_join",
        "kiosk.paused",
        "kiosk.resumed",
        "kiosk.supervisor_end",
        "kiosk.session_end",
    ]
    by_kind = {r.kind: r.payload for r in records}
    join = by_kind["kiosk.supervisor_join"]
    assert (join["supervisor"], join["via"]) == ("sup-ana", "viewer")
    assert "before_start" not in join and join["at"].endswith("Z")
    assert by_kind["kiosk.paused"] == {
        "supervisor": "sup-ana",
        "reason": "supervisor",
        "shown": 1,
        "at": by_kind["kiosk.paused"]["at"],
    }
    assert by_kind["kiosk.resumed"]["reason"] == "supervisor"
    assert by_kind["kiosk.supervisor_end"]["supervisor"] == "sup-ana"
    end = by_kind["kiosk.session_end"]
    assert (end["reason"], end["supervisor"], end["supervisors"]) == (
        "supervisor",
        "sup-ana",
        ["sup-ana"],
    )


def test_pages_opened_or_navigated_during_a_pause_are_paused_and_idleness_waits(
    tmp_path: Path,
) -> None:
    """A popup opened and a page navigated during the pause get the wait screen and ignore
    input; the idle countdown is hidden by the pause and the idle end waits for the resume."""
    seen: dict[str, Any] = {}

    async def drive(service: KioskService, s: KioskSites) -> None:
        sup = service.supervision
        await start_customer(service, 1, ready="#field")
        assert service.capture is not None and service.gate is not None
        page, gate = service.capture.page, service.gate
        await sup.join("sup-bo", "watch")
        warning = f"!!document.getElementById({WARNING_HOST!r})"
        await page.wait_for_function(warning, timeout=30)
        await sup.pause("sup-bo")
        await page.wait_for_function(f"!{warning}", timeout=10)
        driver = service.capture.driver
        async with driver.expect_page() as opened:
            await page.evaluate(f"() => {{ window.open({s.a + '/type.html'!r}); }}")
        popup: PageDriver = await opened.value
        await popup.wait_for_selector(f"#{PAUSE_HOST}")
        seen["popup_screen"] = await _screen_text(popup)
        await popup.evaluate("() => document.getElementById('field').focus()")
        await popup.send("Input.dispatchKeyEvent", {"type": "char", "text": "z"})
        seen["popup"] = await popup.evaluate("() => document.getElementById('field').value")
        await page.goto(s.a + "/ok.html", wait_until="load")
        await page.wait_for_selector(f"#{PAUSE_HOST}")
        seen["goto_screen"] = await _screen_text(page)
        # The idle end is due while paused: the session goes on (a waiting customer is
        # not idle).
        deadline = gate.last_activity + service.options.idle_seconds + 1
        await wait_until_async(lambda: time.monotonic() > deadline, what="the idle deadline")
        seen["state"] = sup.state()["state"]
        await sup.resume("sup-bo")
        seen["popup_after"] = await _screen_text(popup)

    out = run_kiosk(
        tmp_path, drive, "/type.html", customers=1, idle_seconds=3.0, warning_seconds=2.0
    )
    assert seen == {
        "popup_screen": PAUSE_TEXT,
        "popup": "",
        "goto_screen": PAUSE_TEXT,
        "state": "paused",
        "popup_after": None,
    }
    [customer] = out.customers
    assert customer.reason == "idle" and out.verified
    records = session_records(tmp_path, customer.session_id)
    kinds = [r.kind for r in of_kind(records, "kiosk.") if r.kind != "kiosk.blocked"]
    assert kinds[:3] == ["kiosk.session_start", "kiosk.supervisor_join", "kiosk.idle_warning"]
    assert kinds[-2:] == ["kiosk.idle_warning", "kiosk.session_end"]
    assert sorted(kinds[3:6]) == ["kiosk.idle_cleared", "kiosk.paused", "kiosk.resumed"]
    cleared = of_kind(records, "kiosk.idle_cleared")
    assert [c.payload for c in cleared] == [{"paused": True}]
    assert of_kind(records, "kiosk.paused")[0].payload["shown"] == 1


def test_require_supervisor_refuses_start_until_one_joins_and_pauses_when_all_leave(
    tmp_path: Path,
) -> None:
    seen: dict[str, Any] = {}
    states: list[str] = []

    async def drive(service: KioskService, s: KioskSites) -> None:
        sup = service.supervision
        sup.listeners.append(lambda st: states.append(st["state"]))
        await wait_for_lobby(service, 1)
        assert service.capture is not None
        page = service.capture.page
        note = f"document.getElementById({NOTE!r}).textContent"
        await page.click(f"#{START_BUTTON}")
        await page.wait_for_function(f"{note} === {NO_SUPERVISOR!r}", timeout=20)
        seen["refused_state"] = sup.state()
        await sup.join("sup-cy", "viewer")
        await page.wait_for_function(f"{note} === ''", timeout=20)
        await start_customer(service, 1)
        await sup.leave("sup-cy")
        seen["left"] = sup.state()["state"]
        seen["screen"] = await _screen_text(page)
        await sup.join("sup-cy", "viewer")
        seen["rejoined"] = sup.state()["state"]
        await sup.end("sup-cy")

    out = run_kiosk(tmp_path, drive, customers=1, require_supervisor=True)
    assert seen["refused_state"] == {
        "state": "lobby",
        "session_id": "",
        "supervisors": [],
        "require_supervisor": True,
    }
    assert (seen["left"], seen["rejoined"]) == ("paused", "active")
    changes = [st for i, st in enumerate(states) if i == 0 or states[i - 1] != st]
    assert changes == ["lobby", "active", "paused", "active", "lobby"]
    assert seen["screen"] == PAUSE_TEXT
    [customer] = out.customers
    assert customer.reason == "supervisor" and out.verified
    records = session_records(tmp_path, customer.session_id)
    assert _supervisor_kinds(records) == [
        "kiosk.start_refused",
        "kiosk.session_start",
        "kiosk.supervisor_join",
        "kiosk.supervisor_leave",
        "kiosk.paused",
        "kiosk.supervisor_join",
        "kiosk.resumed",
        "kiosk.supervisor_end",
        "kiosk.session_end",
    ]
    kiosk = of_kind(records, "kiosk.")  # found by kind: a kiosk.blocked record can come first
    refused = next(r for r in kiosk if r.kind == "kiosk.start_refused")
    assert refused.payload == {"reason": NO_SUPERVISOR}
    first_join = next(r for r in kiosk if r.kind == "kiosk.supervisor_join").payload
    assert (first_join["before_start"], first_join["supervisor"]) == (True, "sup-cy")
    paused = next(r for r in kiosk if r.kind == "kiosk.paused").payload
    assert (paused["supervisor"], paused["reason"]) == ("sup-cy", "no_supervisor")
    resumed = next(r for r in kiosk if r.kind == "kiosk.resumed").payload
    assert (resumed["supervisor"], resumed["reason"]) == ("sup-cy", "supervisor_joined")


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("x" * (MAX_NAME + 1), f"over {MAX_NAME}"),
        ("ana\x1b[2J", "unprintable"),
        ("ana\n", "unprintable"),
    ],
)
def test_bad_supervisor_names_are_refused(tmp_path: Path, who: str, message: str) -> None:
    service = KioskService(tmp_path, kiosk_config(), _policy(), KioskOptions(headless=True))

    with pytest.raises(UsageError, match=message):
        asyncio.run(service.supervision.join(who, "viewer"))
    assert service.supervision.state()["supervisors"] == []


def test_actions_that_make_no_sense_on_the_start_screen_are_refused(tmp_path: Path) -> None:
    """No browser is needed: a kiosk not running is on its start screen for supervision."""
    service = KioskService(tmp_path, kiosk_config(), _policy(), KioskOptions(headless=True))
    sup = service.supervision

    async def main() -> list[str]:
        errors = []
        with pytest.raises(UsageError, match="has not joined") as info:
            await sup.pause("sup-dee")
        errors.append(str(info.value))
        await sup.join("sup-dee", "viewer")
        with pytest.raises(UsageError, match="already joined"):
            await sup.join("sup-dee", "watch")
        for action in (sup.pause, sup.resume, sup.end):
            with pytest.raises(UsageError) as info:
                await action("sup-dee")
            errors.append(str(info.value))
        await sup.leave("sup-dee")
        with pytest.raises(UsageError, match="has not joined"):
            await sup.leave("sup-dee")
        return errors

    errors = asyncio.run(main())
    assert errors == [
        "kiosk supervision: 'sup-dee' has not joined",
        "kiosk supervision: cannot pause: no customer session (start screen)",
        "kiosk supervision: cannot resume: no customer session (start screen)",
        "kiosk supervision: no customer session to end (start screen)",
    ]
    assert sup.state() == {
        "state": "lobby",
        "session_id": "",
        "supervisors": [],
        "require_supervisor": False,
    }


def _policy() -> Any:
    from agent.kiosk.policy import KioskPolicy

    return KioskPolicy.build("https://bank.example/start", ["https://bank.example"])
