"""The scripted trader session, run once in a real recorded headless Chromium against the real
app."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import pytest

from agent.capture.config import CaptureConfig
from agent.capture.session import CaptureSession
from agent.clock import SystemClock
from agent.demo_app import DEMO_SECRETS, DemoApp, running_demo_app
from agent.demo_app.data import COLS, blotter_initial, blotter_tick
from agent.demo_app.script import INPUT_KINDS, ScriptStep, StepKind, run_trader_script
from agent.testing import MemorySink

CHROMIUM = "/usr/lib/chromium/chromium"

pytestmark = pytest.mark.browser


@dataclass
class Session:
    app: DemoApp
    steps: list[ScriptStep]
    console_errors: list[str]
    page_errors: list[str]
    final: dict[str, Any]


async def _record_session(home: Path) -> Session:
    """Run the script in a recorded browser (the agent's own launcher and driver); console
    errors and uncaught exceptions of the main page come from what capture recorded."""
    sink = MemorySink()
    cfg = CaptureConfig(headless="true", executable=CHROMIUM)
    async with running_demo_app() as app:
        cs = CaptureSession(cfg, sink, SystemClock(), home, relaunch=False)
        await cs.start()
        try:
            page = cs.page
            steps = await run_trader_script(
                page, app, fast=True, blotter_query="cells=150&interval_ms=40"
            )
            # One synchronous read, so no WebSocket message lands between tick and cells.
            final = await page.evaluate("""() => ({
                tick: Number(document.getElementById('tick-count').textContent),
                cells: Array.from(document.querySelectorAll('#blotter tbody td'),
                                  td => td.textContent),
                orders: Array.from(document.querySelectorAll('#orders-list li'),
                                   li => [li.dataset.orderId, li.dataset.channel]),
                card: document.getElementById('lookup-result').innerText,
                viewport: document.getElementById('viewport').textContent,
            })""")
        finally:
            await cs.stop()
    console = [
        e.payload for e in sink.events if e.kind == "page.console" and e.page == page.target_id
    ]
    errors = [str(c["text"]) for c in console if c["level"] == "exception"]
    console_errors = [str(c["text"]) for c in console if c["level"] == "error"]
    return Session(app, steps, console_errors, errors, final)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    return asyncio.run(_record_session(tmp_path_factory.mktemp("home")))


def test_script_signs_in_once_as_the_demo_trader(session: Session) -> None:
    """The app saw exactly one login, successful, for trader1."""
    assert [(x.username, x.ok) for x in session.app.logins] == [("trader1", True)]


def test_app_receives_ws_order_rest_order_and_popup_confirmed_order_in_that_order(
    session: Session,
) -> None:
    """Orders arrive by channel ws, rest, then the popup's confirmation, and the page lists them."""
    got = [
        (o.channel, o.source, o.symbol, o.side, o.quantity, o.price, o.account)
        for o in session.app.orders
    ]
    assert got == [
        ("ws", "ticket", "MSFT", "BUY", 100, "412.50", DEMO_SECRETS["ws_account"]),
        ("rest", "ticket", "AAPL", "SELL", 250, "187.25", DEMO_SECRETS["rest_account"]),
        ("rest", "popup", "AAPL", "SELL", 50000, "187.25", DEMO_SECRETS["rest_account"]),
    ]
    assert [o.order_id for o in session.app.confirmations] == ["RS-000003"]
    assert session.final["orders"] == [
        ["WS-000001", "ws"],
        ["RS-000002", "rest"],
        ["RS-000003", "popup"],
    ]


def test_lookup_with_typed_ssn_and_account_shows_the_partial_ssn_card(session: Session) -> None:
    """The typed SSN and account reach the server; the card shows only the last four."""
    [lookup] = session.app.lookups
    assert (lookup.ssn_last4, lookup.account, lookup.found) == (
        "1120",
        DEMO_SECRETS["account"],
        DEMO_SECRETS["account"],
    )
    assert "SSN ***-**-1120" in session.final["card"]
    assert DEMO_SECRETS["ssn"] not in session.final["card"]


def test_widget_click_download_and_cancel_all_reach_the_servers(session: Session) -> None:
    """The cross-origin widget, the report download and the accepted cancel-all all happened."""
    assert len(session.app.widget_clicks) == 1
    assert len(session.app.downloads) == 1
    assert len(session.app.cancel_alls) == 1
    assert session.console_errors == ["demo-app: cancel-all cancelled 3 orders"]
    assert session.page_errors == []


def test_page_blotter_equals_the_server_ticks_it_applied(session: Session) -> None:
    """Replaying ticks 1..N (150 cells each, from the page's query) over tick 0 gives
    exactly the page's cells."""
    tick = session.final["tick"]
    assert tick > 50
    cells = {(r, c): v for r, c, v in blotter_initial()}
    for t in range(1, tick + 1):
        cells.update({(r, c): v for r, c, v in blotter_tick(t, 150)})
    expected = [cells[(i // COLS, i % COLS)] for i in range(len(cells))]
    assert session.final["cells"] == expected


def test_steps_cover_every_action_in_order_with_increasing_utc_times(session: Session) -> None:
    """Steps are time-ordered and include each kind of action the brief lists."""
    times = [s.t_utc_ns for s in session.steps]
    assert times == sorted(times)
    kinds = [s.kind for s in session.steps]
    for kind in get_args(StepKind):
        assert kind in kinds, kind
    assert set(kinds) >= INPUT_KINDS
    assert [s.frame for s in session.steps if s.frame != "main"] == ["widget", "popup", "popup"]
    names = [s.name for s in session.steps]
    assert (
        names.index("send order over WebSocket")
        < names.index("send order over REST")
        < names.index("submit lookup")
        < names.index("confirm big order")
        < names.index("accept cancel-all dialog")
        < names.index("report downloaded")
    )
    assert session.final["viewport"] == "1024x700"
    navigations = [s.value for s in session.steps if s.kind == "navigate"]
    assert navigations == [session.app.url, session.app.url + "app?cells=150&interval_ms=40"]


def test_typed_values_include_every_secret_the_masking_tests_scan_for(session: Session) -> None:
    """Password, SSN, accounts, notes and PIN are typed key by key into the page."""
    typed = {s.value for s in session.steps if s.kind == "type"}
    for key in ("password", "ssn", "account", "ws_account", "rest_account", "notes", "pin"):
        assert DEMO_SECRETS[key] in typed, key
