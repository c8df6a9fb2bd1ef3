"""Extraction: journal records (real rrweb / network shapes) → index rows."""

from __future__ import annotations

from agent.index.extract import Extractor, Limits, Row
from agent.rrweb import MouseInteraction, NodeType
from tests.index.payloads import (
    PAGE,
    WIDGET,
    click,
    full_snapshot,
    lookup_request,
    meta,
    mutation,
    order_response,
    rec,
    rr_input,
    ticket_dom,
    tx,
    ws_sent_order,
    ws_tick,
)

APP = "http://127.0.0.1:36775/app"


def _primed() -> Extractor:
    x = Extractor()
    x.feed(rec(1, "page.navigate", {"url": APP, "main_frame": True, "type": "Navigation"}))
    x.feed(rec(2, "rrweb.meta", meta(APP)))
    x.feed(rec(3, "rrweb.full_snapshot", full_snapshot(ticket_dom())))
    return x


def _one(rows: list[Row], action: str) -> Row:
    found = [r for r in rows if r.action == action]
    assert len(found) == 1, [r.action for r in rows]
    return found[0]


def test_keyframe_text_is_visible_text_without_scripts_numbers_or_tokens() -> None:
    """A full snapshot gives one keyframe row with the page's visible words."""
    x = Extractor()
    rows = x.feed(rec(3, "rrweb.full_snapshot", full_snapshot(ticket_dom())))
    row = _one(rows, "keyframe")
    assert "Order ticket" in row.text and "Send (WS)" in row.text and "Supervisor PIN" in row.text
    assert "var secret" not in row.text and "412.50" not in row.text
    assert "tok_" not in row.text
    assert ("tok_6d03fdda77b0d41c", "symbol") in row.tokens  # input value token, by field


def test_click_carries_target_text_selector_and_page_host() -> None:
    """A click names what the user saw on the button and a stable selector."""
    x = _primed()
    row = _one(x.feed(rec(4, "rrweb.mouse_interaction", click(22))), "click")  # the text node
    assert (row.target, row.selector, row.host) == ("Send (WS)", "button#send-ws", "127.0.0.1")
    assert row.seq == 4 and row.kind == "rrweb.mouse_interaction"
    row2 = _one(x.feed(rec(5, "rrweb.mouse_interaction", click(23))), "click")
    assert row2.target == "Cancel all"
    assert row2.selector == "form#order-form > div > button:nth-of-type(2)"


def test_focus_and_mouse_down_are_not_clicks() -> None:
    """Only click, double click and context menu interactions are indexed."""
    x = _primed()
    assert x.feed(rec(4, "rrweb.mouse_interaction", click(21, kind=MouseInteraction.FOCUS))) == []
    assert (
        x.feed(rec(5, "rrweb.mouse_interaction", click(21, kind=MouseInteraction.MOUSE_DOWN))) == []
    )


def test_input_run_folds_to_last_value_with_field_label_and_token_only() -> None:
    """Per-keystroke input events become one row at the last one, value only as token."""
    x = _primed()
    out: list[Row] = []
    for i, tok in enumerate(
        ["tok_8a5d47beae2970cf", "tok_164fd51ce3e30173", "tok_1b0291152bfb9d97"]
    ):
        out += x.feed(rec(10 + 2 * i, "rrweb.input", rr_input(19, tok)))
        out += x.feed(rec(11 + 2 * i, "input.key", {"key": "[redacted]", "target": 19}))
    assert out == []
    out += x.feed(rec(20, "rrweb.mouse_interaction", click(21)))
    row = _one(out, "input")
    assert row.seq == 14 and row.label == "Account" and row.selector == "input#order-account"
    assert set(row.tokens) == {
        ("tok_1b0291152bfb9d97", "account"),
        ("tok_1b0291152bfb9d97", "order_account"),
    }
    assert "tok_" not in row.text


def test_redacted_input_gives_label_but_no_value() -> None:
    """A password (``[redacted]``) is indexed as "typed into 'Supervisor PIN'" and nothing
    else."""
    x = _primed()
    x.feed(rec(10, "rrweb.input", rr_input(27, "[redacted]")))
    row = _one(x.flush(), "input")
    assert row.label == "Supervisor PIN"
    assert row.text == "typed into 'Supervisor PIN' in 'Order ticket'"
    assert row.tokens == []


def test_unmasked_typed_text_is_searchable() -> None:
    """A value masking left alone (e.g. a search box) is in the row text."""
    x = _primed()
    x.feed(rec(10, "rrweb.input", rr_input(16, "MSFT")))
    row = _one(x.flush(), "input")
    assert row.text == "typed 'MSFT' into 'Symbol' in 'Order ticket'"


def test_mutation_text_is_indexed_once_and_numbers_are_skipped() -> None:
    """New text appearing on the page is a row at that seq; ticks of prices are not."""
    x = _primed()
    adds = [
        {"parentId": 28, "nextId": None, "node": tx(40, "Order WS-000001 accepted")},
        {"parentId": 28, "nextId": None, "node": tx(41, "413.10")},
    ]
    row = _one(x.feed(rec(30, "rrweb.mutation", mutation(adds=adds))), "text")
    assert row.text == "Order WS-000001 accepted" and row.seq == 30
    again = [{"parentId": 28, "nextId": None, "node": tx(42, "Order WS-000001 accepted")}]
    assert x.feed(rec(31, "rrweb.mutation", mutation(adds=again))) == []
    assert x.feed(rec(32, "rrweb.mutation", mutation(texts=[{"id": 29, "value": "99.1"}]))) == []


def test_grid_text_changes_update_the_mirror_and_only_words_give_a_row() -> None:
    """Text changes of mirrored nodes (set as one list) and a list naming a node the mirror
    lacks (set item by item) both reach the mirror; prices alone give no row, a word does."""
    x = _primed()
    adds = [{"parentId": 28, "nextId": None, "node": tx(40 + k, "1.00")} for k in range(3)]
    assert x.feed(rec(30, "rrweb.mutation", mutation(adds=adds))) == []
    dom = next(iter(x.docs.values())).dom
    ticks = [{"id": 40 + k, "value": f"{k}.25"} for k in range(3)]
    assert x.feed(rec(31, "rrweb.mutation", mutation(texts=ticks))) == []
    assert [dom.nodes[40 + k].text for k in range(3)] == ["0.25", "1.25", "2.25"]
    mixed = [ticks[0], {"id": 41, "value": "Halted"}, {"id": 999, "value": "gone"}]
    row = _one(x.feed(rec(32, "rrweb.mutation", mutation(texts=mixed))), "text")
    assert row.text == "Halted" and dom.nodes[41].text == "Halted" and 999 not in dom.nodes


def test_added_button_is_clickable_by_its_text() -> None:
    """Nodes added by mutations join the node map (clicks on them get their text)."""
    x = _primed()
    btn = {
        "id": 50,
        "type": NodeType.ELEMENT,
        "tagName": "button",
        "attributes": {"id": "confirm-btn"},
        "childNodes": [tx(51, "Confirm")],
    }
    x.feed(
        rec(30, "rrweb.mutation", mutation(adds=[{"parentId": 20, "nextId": None, "node": btn}]))
    )
    row = _one(x.feed(rec(31, "rrweb.mouse_interaction", click(50))), "click")
    assert row.target == "Confirm" and row.selector == "button#confirm-btn"
    x.feed(rec(32, "rrweb.mutation", mutation(removes=[{"parentId": 20, "id": 50}])))
    assert 51 not in x.docs[(PAGE, PAGE)].dom.nodes


def test_documents_are_separate_per_frame() -> None:
    """A cross-origin iframe has its own node ids: same id, different element."""
    x = _primed()
    widget = {
        "type": NodeType.DOCUMENT,
        "id": 1,
        "childNodes": [el_button(22, "Refresh headlines")],
    }
    x.feed(rec(40, "rrweb.full_snapshot", full_snapshot(widget), frame=WIDGET))
    a = _one(x.feed(rec(41, "rrweb.mouse_interaction", click(22), frame=WIDGET)), "click")
    b = _one(x.feed(rec(42, "rrweb.mouse_interaction", click(22))), "click")
    assert (a.target, b.target) == ("Refresh headlines", "Send (WS)")


def el_button(nid: int, text: str) -> dict[str, object]:
    return {
        "id": nid - 1,
        "type": NodeType.ELEMENT,
        "tagName": "button",
        "attributes": {"id": "widget-refresh"},
        "childNodes": [tx(nid, text)],
    }


def test_ws_sent_order_is_text_and_account_token_by_key() -> None:
    """A sent WebSocket order is searchable by symbol; its account only as a token."""
    x = _primed()
    row = _one(x.feed(rec(50, "net.ws_frame", ws_sent_order(), frame=None)), "ws_sent")
    assert "symbol MSFT" in row.text and "tok_" not in row.text
    assert row.tokens == [("tok_3f976b5bcfce2c06", "account")]
    assert row.host == "127.0.0.1"


def test_large_received_ws_frames_are_not_indexed() -> None:
    """Market-data ticks (received, over the size cap) stay in the journal only."""
    x = _primed()
    assert x.feed(rec(51, "net.ws_frame", ws_tick(), frame=None)) == []
    small = {"direction": "received", "data": '{"type":"order_ack","order_id":"WS-000001"}'}
    assert "WS-000001" in _one(x.feed(rec(52, "net.ws_frame", small)), "ws_received").text


def test_request_body_fields_and_url_tokens() -> None:
    """A POST's JSON body is flattened to words; tokens keep their JSON key as field."""
    x = _primed()
    url = "http://127.0.0.1:36775/api/lookup?account=tok_1b0291152bfb9d97"
    row = _one(x.feed(rec(60, "net.request", lookup_request(url))), "request")
    assert row.method == "POST" and row.path == "/api/lookup" and row.host == "127.0.0.1"
    assert "Jane Q. Sample" in row.text and "redacted" not in row.text and "tok_" not in row.text
    assert {
        ("tok_1b0291152bfb9d97", "account"),
        ("tok_7af626da584423f8", "ssn"),
        ("tok_1b0291152bfb9d97", "notes"),
    } <= set(row.tokens)


def test_small_json_response_body_gives_order_id() -> None:
    """A REST order's JSON answer (order id) is searchable; status is kept."""
    x = _primed()
    row = _one(
        x.feed(rec(61, "net.response", order_response("http://127.0.0.1:36775/api/orders"))),
        "response",
    )
    assert row.status == 200 and "RS-000002" in row.text


def test_html_and_script_bodies_are_not_indexed() -> None:
    """Response bodies that are pages or code are not page text; only status and URL."""
    x = _primed()
    resp = {
        "status": 200,
        "url": APP,
        "mime": "text/html",
        "body": "<html>Secret</html>",
        "body_encoding": "text",
    }
    row = _one(x.feed(rec(62, "net.response", resp)), "response")
    assert "Secret" not in row.text


def test_console_errors_only() -> None:
    """Console errors are indexed; log-level chatter is not."""
    x = _primed()
    err = {
        "level": "error",
        "text": "demo-app: cancel-all cancelled 3 orders",
        "source": {"line": 108, "url": "http://127.0.0.1:36775/static/app.js"},
    }
    row = _one(x.feed(rec(70, "page.console", err)), "console")
    assert "cancel-all cancelled" in row.text and row.target == "error"
    assert x.feed(rec(71, "page.console", {"level": "log", "text": "tick"})) == []


def test_navigation_title_gap_and_session_facts() -> None:
    """Navigations and titles feed the session's URLs/titles; a gap is its own row."""
    x = _primed()
    x.feed(rec(80, "page.title", {"title": "sessiontape demo - trading", "url": APP}))
    gap = {"cause": "recorder_silent", "silence_ms": 3000, "start": 1, "end": 2}
    assert _one(x.feed(rec(81, "capture.gap", gap)), "gap").text.startswith("capture.gap")
    assert x.facts.urls == [APP] and x.facts.titles == ["sessiontape demo - trading"]
    assert x.facts.hosts == ["127.0.0.1"]
    assert x.feed(rec(82, "page.navigate", {"url": "about:blank"})) == []


def test_limits_cap_text() -> None:
    """The configured caps bound what one event adds to the index."""
    x = Extractor(Limits(keyframe_text_chars=20))
    row = _one(x.feed(rec(3, "rrweb.full_snapshot", full_snapshot(ticket_dom()))), "keyframe")
    assert len(row.text) <= 20
