"""The recorded demo session (real Chromium, the scripted trader) reads, in words, as what the
trader did: both orders' fields typed, the order clicks with the requests they caused, the
client lookup submitted, the popup, the dialog answered, the download with size and digest.

The order fields are tokenized by today's masking defaults, so these tests assert the label
and the masked marker of a typed value; once the defaults leave order fields clear, "typed
'AAPL' into 'Symbol'" is the whole text.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.actions.derive import derive_actions
from agent.actions.model import Action
from agent.config import load_config
from agent.events import Record
from agent.replay.session import ReplaySession

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Demo:
    actions: list[Action]
    records: list[Record]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    from agent.pipeline import record_demo

    home: Path = tmp_path_factory.mktemp("actions") / "home"
    cfg = load_config(env={}, home=home)
    res = asyncio.run(record_demo(cfg, home, headless=True, fast=True))
    assert res.report.ok, res.report.first_failure
    rs = ReplaySession.open(home, res.session_id)
    try:
        first, last = rs.seq_range
        assert first is not None and last is not None
        records = list(rs.records(first, last))
        assert [a.as_dict() for a in rs.derived_actions] == [
            a.as_dict() for a in derive_actions(records)
        ]
        return Demo(rs.derived_actions, records)
    finally:
        rs.close()


def _texts(demo: Demo) -> list[str]:
    return [a.text for a in demo.actions]


def _typed(demo: Demo, name: str, form: str) -> list[Action]:
    return [
        a
        for a in demo.actions
        if a.verb == "type" and a.target.name == name and a.target.form == form
    ]


def test_both_orders_fields_are_typed_once_each_with_labels(demo: Demo) -> None:
    """Symbol, Quantity, Price and Account of both orders: one 'typed' action per edit."""
    for name in ("Symbol", "Quantity", "Price", "Account"):
        typed = _typed(demo, name, "Order ticket")
        assert len(typed) >= 2, name
        for a in typed:
            assert f"into '{name}' in 'Order ticket'" in a.text
            assert a.value and (a.masked == "tokenize" or f"typed '{a.value}'" in a.text)
            if a.masked:
                assert f"typed {a.value} (tokenized)" in a.text


def test_order_clicks_name_their_buttons_and_link_requests_with_status(demo: Demo) -> None:
    """'Send (REST)' caused the POST to /api/orders (200); 'Send (WS)' the order frame."""
    (rest,) = [
        a for a in demo.actions if a.text == "clicked button 'Send (REST)' in 'Order ticket'"
    ]
    orders = [r for r in rest.requests if r.url.endswith("/api/orders")]
    assert [(r.method, r.status) for r in orders] == [("POST", 200)]
    (ws,) = [a for a in demo.actions if a.text == "clicked button 'Send (WS)' in 'Order ticket'"]
    assert any(r.ws and "/ws" in r.url for r in ws.requests)


def test_lookup_form_submitted_by_name(demo: Demo) -> None:
    """The lookup form is 'Client lookup' (its section's heading), with its request."""
    (sub,) = [a for a in demo.actions if a.text == "submitted form 'Client lookup'"]
    assert sub.verb == "submit" and any(r.status == 200 for r in sub.requests)


def test_secrets_are_typed_as_masked_values(demo: Demo) -> None:
    """The PIN is '[redacted]', the SSN a token; neither shows a clear value."""
    (pin,) = _typed(demo, "Supervisor PIN", "Client lookup")
    assert pin.text == "typed [redacted] into 'Supervisor PIN' in 'Client lookup'"
    (ssn,) = _typed(demo, "SSN", "Client lookup")
    assert ssn.masked in ("tokenize", "escrow")
    # the token is hex digits of a keyed hash: it may itself contain "078"
    assert "078" not in re.sub(r"(tok|esc)_[0-9a-f]+", "", ssn.text)


def test_popup_dialog_and_download_are_actions(demo: Demo) -> None:
    """The popup by its title, the confirm() answered with OK, the file with size and sha."""
    texts = _texts(demo)
    assert "opened popup 'Confirm big order'" in texts
    assert "answered dialog 'Cancel all open orders?' with OK" in texts
    (dl,) = [a for a in demo.actions if a.verb == "download"]
    assert dl.value == "report.csv" and dl.detail["bytes"] == 175
    assert re.fullmatch(r"[0-9a-f]{64}", dl.detail["sha256"])
    assert dl.text == f"downloaded report.csv (175 bytes, sha256 {dl.detail['sha256'][:16]}…)"


def test_no_action_is_named_by_a_node_number(demo: Demo) -> None:
    """Every action has words: no 'node 123' anywhere."""
    assert demo.actions and not [t for t in _texts(demo) if re.search(r"node \d", t)]


def test_typing_msft_is_one_action_over_four_raw_keys(demo: Demo) -> None:
    """The WS order's symbol: one action; the raw journal still has its 4 (masked) keys."""
    sym = _typed(demo, "Symbol", "Order ticket")[0]
    keys = [
        r
        for r in demo.records
        if r.kind == "input.key"
        and sym.seq_first <= r.seq <= sym.seq
        and r.payload.get("selector") == "input#symbol"
        and not r.payload.get("ctrl")
        and r.payload.get("key") not in ("Control", "Shift")
    ]
    assert len(keys) == 4 and sym.detail["keys"] >= 4
