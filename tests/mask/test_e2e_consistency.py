"""End to end on a real recording of the demo app: one value, one treatment, everywhere.

The scripted trader (real Chromium) looks up a client by SSN ``078-05-1120`` and account
``ACCT-4417-2290``; the account then travels in the lookup URL's query string, the JSON
request and response bodies, the result card's DOM text and a WebSocket frame each way. Each
of those places, the search index (``value:"..."``) and the exported ``events.jsonl`` and
report must hold the one token of the value and never the value; the order fields (symbol,
side, quantity, price) stay in clear in the input events and the URLs; the login password is
``[redacted]`` wherever it went.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from agent.config import Config, load_config
from agent.demo_app import DEMO_SECRETS
from agent.index.indexer import index_new_segments
from agent.index.search import search
from agent.journal.reader import iter_records
from agent.journal.store import find_session
from agent.keys import Keyring
from agent.mask.strings import MARKER
from agent.mask.tokens import Tokenizer, hmac_key_path
from agent.replay.export import export_bundle

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

CHROMIUM = "/usr/lib/chromium/chromium"
ACCOUNT, SSN, PASSWORD = DEMO_SECRETS["account"], DEMO_SECRETS["ssn"], DEMO_SECRETS["password"]
# Every form the account and SSN could take in clear (as typed, digits only, without prefix).
CLEAR_FORMS = (ACCOUNT, "4417-2290", "44172290", SSN, "078051120", "078 05 1120", PASSWORD)


@dataclass
class Recorded:
    home: Path
    cfg: Config
    session_id: str
    records: list[tuple[int, str, dict[str, Any]]]
    account_tok: str
    ssn_tok: str

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [p for _, k, p in self.records if k == kind]

    def request(self, path: str) -> dict[str, Any]:
        (p,) = [p for p in self.of_kind("net.request") if path in str(p.get("url"))]
        return p


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """The demo recorded once with the shipped masking rules, and the tokens its key gives."""
    from agent.pipeline import record_demo

    home = tmp_path_factory.mktemp("consistency") / "home"
    Keyring.load_or_init(home)
    cfg = load_config(env={}, home=home)
    res = asyncio.run(record_demo(cfg, home, headless=True, fast=True))
    assert res.report.ok, res.report.first_failure
    kr = Keyring.load(home)
    info = find_session(home, res.session_id)
    records = [(r.seq, r.kind, r.payload) for s in info.segments for r in iter_records(s.path, kr)]
    tok = Tokenizer(hmac_key_path(home).read_bytes())
    return Recorded(
        home, cfg, res.session_id, records, tok.token("44172290"), tok.token("078051120")
    )


def test_no_record_holds_the_account_ssn_or_password_in_any_clear_form(
    recorded: Recorded,
) -> None:
    """Not one journal record (decrypted) holds a clear form of the three values."""
    for seq, kind, payload in recorded.records:
        text = json.dumps(payload)
        for clear in CLEAR_FORMS:
            assert clear not in text, (seq, kind, clear)


def test_account_and_ssn_are_their_one_token_in_input_url_bodies_dom_and_websocket(
    recorded: Recorded,
) -> None:
    """The typed values (rrweb input), the lookup URL's query string, the request and
    response bodies, the result card's text and the WebSocket frames carry exactly the one
    token of each value."""
    acct, ssn = recorded.account_tok, recorded.ssn_tok
    typed = {p["data"]["text"] for p in recorded.of_kind("rrweb.input")}
    assert {acct, ssn} <= typed
    lookup = recorded.request("/api/lookup")
    assert lookup["url"].endswith(f"/api/lookup?account={acct}")
    body = json.loads(lookup["post_data"])
    assert (body["account"], body["ssn"], body["pin"]) == (acct, ssn, MARKER)
    (resp,) = [p for p in recorded.of_kind("net.response") if "/api/lookup" in p["url"]]
    assert json.loads(resp["body"])["account"] == acct
    card = [p for p in recorded.of_kind("rrweb.mutation") if acct in json.dumps(p)]
    assert any(a["node"].get("textContent") == acct for p in card for a in p["data"]["adds"]), (
        "the result card shows the account as its token"
    )
    frames = {
        p["direction"]: json.loads(p["data"])
        for p in recorded.of_kind("net.ws_frame")
        if '"watch' in str(p.get("data"))
    }
    assert frames["sent"] == {"type": "watch", "account": acct}
    assert frames["received"] == {"type": "watching", "account": acct}


def test_order_fields_are_recorded_in_clear_in_inputs_urls_and_frames(recorded: Recorded) -> None:
    """Symbol, side, quantity and price: as typed in the input events, in the popup's URL
    query string and in the WebSocket order, while the order's account is a token."""
    typed = {p["data"]["text"] for p in recorded.of_kind("rrweb.input")}
    assert {"MSFT", "AAPL", "SELL", "100", "250", "50000", "412.50", "187.25"} <= typed
    (confirm,) = [
        p["url"] for p in recorded.of_kind("page.navigate") if "/confirm?" in str(p.get("url"))
    ]
    assert "symbol=AAPL&side=SELL&quantity=50000&price=187.25&account=tok_" in confirm
    (order,) = [
        json.loads(p["data"])
        for p in recorded.of_kind("net.ws_frame")
        if p["direction"] == "sent" and '"order"' in p["data"]
    ]
    assert (order["symbol"], order["side"], order["quantity"], order["price"]) == (
        "MSFT",
        "BUY",
        "100",
        "412.50",
    )
    assert order["account"].startswith("tok_")


def test_login_password_is_redacted_in_the_input_and_the_form_post(recorded: Recorded) -> None:
    """The password field's input events and the login POST hold only ``[redacted]``."""
    login = recorded.request("/login")
    assert login["post_data"] == "username=trader1&password=%5Bredacted%5D"
    typed = [p["data"]["text"] for p in recorded.of_kind("rrweb.input")]
    assert MARKER in typed
    for path in recorded.home.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_value_search_finds_the_account_and_ssn_wherever_they_were_recorded(
    recorded: Recorded,
) -> None:
    """``value:"ACCT-4417-2290"`` finds the typed value, the request, the response and the
    WebSocket frames; ``value:"078-05-1120"`` the typed SSN and the request."""
    rep = index_new_segments(recorded.home, recorded.cfg)
    assert rep.ok
    hits = search(recorded.home, recorded.cfg, f'value:"{ACCOUNT}"', limit=200)
    assert {"rrweb.input", "net.request", "net.response", "net.ws_frame"} <= {h.kind for h in hits}
    assert all(h.session_id == recorded.session_id for h in hits)
    ssn_hits = search(recorded.home, recorded.cfg, f'value:"{SSN}"', limit=200)
    assert {"rrweb.input", "net.request"} <= {h.kind for h in ssn_hits}
    clear = search(recorded.home, recorded.cfg, 'value:"AAPL"', limit=200)
    assert "rrweb.input" in {h.kind for h in clear}


def test_export_events_and_rendered_report_hold_the_token_not_the_value(
    recorded: Recorded, tmp_path: Path
) -> None:
    """The bundle's events.jsonl carries both tokens and no clear form; the report, rendered
    in Chromium, shows the lookup URL with the account's token and no clear form."""
    out = tmp_path / "bundle"
    export_bundle(
        recorded.home, recorded.cfg, [recorded.session_id], out, reason="test", matter="M-1"
    )
    events = (out / "native" / "events.jsonl").read_text()
    assert recorded.account_tok in events and recorded.ssn_tok in events
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for clear in CLEAR_FORMS:
                assert clear.encode() not in data, (path, clear)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page()
            page.goto((out / "report.html").as_uri())
            shown = page.inner_text("body")
        finally:
            browser.close()
    assert f"/api/lookup?account={recorded.account_tok}" in shown
    assert "AAPL" in shown
    for clear in CLEAR_FORMS:
        assert clear not in shown
