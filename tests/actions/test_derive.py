"""The derivation from journal records to actions, on hand-built records."""

from __future__ import annotations

import re

from agent.actions.derive import ActionDeriver, derive_actions
from agent.rrweb import MouseInteraction
from tests.actions.builders import Script, el, element, snapshot, text

SYMBOL = element("Symbol", 20)
SEND = element("Send (REST)", 30, role="button", tag="button", element_id="send-rest")


def test_keys_and_values_on_one_field_are_one_typed_action_with_the_last_value() -> None:
    """Click, Ctrl+A and four keys into 'Symbol': one action, value 'MSFT', keys counted."""
    s = Script()
    s.click(20, SYMBOL, aid="a1")
    s.key(20, "Control", ctrl=True)
    s.key(20, "a", ctrl=True)
    s.type_word(20, "MSFT", SYMBOL)
    s.click(30, SEND, aid="a2")
    actions = derive_actions(s.records)
    assert [a.text for a in actions] == [
        "typed 'MSFT' into 'Symbol' in 'Order ticket'",
        "clicked button 'Send (REST)' in 'Order ticket'",
    ]
    typed = actions[0]
    assert typed.value == "MSFT" and typed.masked == "" and typed.detail["keys"] == 6
    assert typed.seq_first == 2 and typed.seq == 10 and typed.cause_ids == ("a1",)


def test_requests_follow_cause_ids_with_status_or_failure() -> None:
    """A click's requests (linked by action id) carry their status; a failure its error."""
    s = Script()
    s.click(30, SEND, aid="a7")
    s.request("r1", "http://x/api/orders", "a7", status=201)
    s.request("r2", "http://x/api/audit", "a7", failed="net::ERR_FAILED")
    s.request("r3", "http://x/api/poll", None)
    (a,) = derive_actions(s.records)
    assert [(r.url, r.status, r.failed) for r in a.requests] == [
        ("http://x/api/orders", 201, ""),
        ("http://x/api/audit", None, "net::ERR_FAILED"),
    ]


def test_a_click_that_only_focuses_a_field_is_absorbed_but_a_bare_one_stays() -> None:
    """A field click followed by typing is part of the edit; one followed by nothing is a
    click on the field."""
    s = Script()
    s.click(20, SYMBOL, aid="a1")
    s.click(30, SEND, aid="a2")
    texts = [a.text for a in derive_actions(s.records)]
    assert texts == [
        "clicked textbox 'Symbol' in 'Order ticket'",
        "clicked button 'Send (REST)' in 'Order ticket'",
    ]


def test_blur_ends_an_edit_and_a_second_edit_of_the_field_is_a_second_action() -> None:
    """Two separate edits of one field (a blur between) are two actions."""
    s = Script()
    s.type_word(20, "AB", SYMBOL)
    s.click(20, None, typ=MouseInteraction.BLUR)
    s.type_word(20, "CD", SYMBOL)
    assert [a.value for a in derive_actions(s.records)] == ["AB", "CD"]


def test_masked_values_keep_their_token_and_marker() -> None:
    """A token is shown with its mode; a redacted value as [redacted]."""
    s = Script()
    s.value(20, "tok_0123456789abcdef", element("Account", 20))
    s.value(21, "[redacted]", element("PIN", 21))
    a, b = derive_actions(s.records)
    assert a.masked == "tokenize" and b.masked == "redact"
    assert a.text == "typed tok_0123456789abcdef (tokenized) into 'Account' in 'Order ticket'"
    assert b.text == "typed [redacted] into 'PIN' in 'Order ticket'"


def test_a_value_a_page_script_wrote_is_not_an_action() -> None:
    """On a stream whose recorder describes elements, a polled value change with no element
    and no edit in progress is the page's doing."""
    s = Script()
    s.click(30, SEND, aid="a1")
    s.value(40, "computed total")
    assert [a.verb for a in derive_actions(s.records)] == ["click"]


def test_select_and_checkbox_absorb_their_click() -> None:
    """Choosing an option is 'selected'; ticking a box is 'checked' (the click is part)."""
    s = Script()
    side = element("Side", 50, role="combobox", tag="select")
    s.value(50, "SELL", side)
    box = element("Confirm risk", 51, role="checkbox")
    s.click(51, box, aid="a2")
    s.value(51, "on", box, checked=True)
    a, b = derive_actions(s.records)
    assert a.text == "selected 'SELL' in 'Side' in 'Order ticket'"
    assert b.text == "checked 'Confirm risk' in 'Order ticket'" and b.cause_ids == ("a2",)


def test_shortcut_is_a_key_action_and_editing_combos_are_not() -> None:
    """Ctrl+S is an action; Ctrl+A inside an edit is part of the edit."""
    s = Script()
    s.type_word(20, "X", SYMBOL)
    s.key(20, "a", ctrl=True)
    s.key(20, "s", ctrl=True, el=SYMBOL, aid="a9")
    actions = derive_actions(s.records)
    assert [a.text for a in actions] == [
        "typed 'X' into 'Symbol' in 'Order ticket'",
        "pressed Ctrl+S in 'Symbol' in 'Order ticket'",
    ]
    assert actions[1].cause_ids == ("a9",)


def test_navigation_after_a_submit_is_its_consequence_and_alone_is_an_action() -> None:
    """The page load a submit causes belongs to it; a later navigation of its own is one,
    and the same URL again is a reload."""
    s = Script()
    s.add("page.navigate", {"url": "http://app/login", "main_frame": True})
    s.add(
        "input.submit",
        {
            "target": 5,
            "method": "post",
            "action": "/login",
            "element": element("Sign in", 5, role="", tag="form"),
        },
    )
    s.add("page.navigate", {"url": "http://app/home", "main_frame": True})
    s.add("page.navigate", {"url": "http://app/home", "main_frame": True}, dt_ms=5000)
    actions = derive_actions(s.records)
    assert [a.text for a in actions] == [
        "opened http://app/login",
        "submitted form 'Order ticket'",
        "reloaded http://app/home",
    ]
    assert actions[1].detail["navigated_to"] == "http://app/home"


def test_popup_dialog_download_and_upload_in_words() -> None:
    """A popup named by its title, a dialog answer, a download's size and digest, an upload."""
    s = Script()
    s.add("page.created", {"opener": "P", "url": ""}, page="Q")
    s.add("page.navigate", {"url": "http://app/confirm", "main_frame": True}, page="Q")
    s.add("page.title", {"title": "Confirm big order"}, page="Q")
    s.add(
        "page.dialog",
        {
            "phase": "closed",
            "type": "confirm",
            "accepted": False,
            "message": "Cancel all open orders?",
        },
    )
    s.add("page.download", {"name": "r.csv", "size": 9, "sha256": "ab" * 32, "state": "completed"})
    s.add(
        "input.file_chooser",
        {"files": ["a.pdf", "b.png"], "target": 60, "element": element("Attachment", 60)},
    )
    texts = [a.text for a in derive_actions(s.records)]
    assert texts == [
        "opened popup 'Confirm big order'",
        "answered dialog 'Cancel all open orders?' with Cancel",
        f"downloaded r.csv (9 bytes, sha256 {'ab' * 8}…)",
        "uploaded a.pdf, b.png into 'Attachment' in 'Order ticket'",
    ]


def test_old_journal_without_descriptions_is_named_from_the_dom_mirror() -> None:
    """Events recorded before the recorder described elements get the mirror's names: the
    button's text, the field's label, the section heading - never 'node <number>'."""
    s = Script()
    form = el(
        10,
        "form",
        {"id": "order-form"},
        el(11, "label", {}, text(12, "Symbol "), el(20, "input", {"id": "symbol"})),
        el(30, "button", {"id": "send-rest"}, text(31, "Send (REST)")),
    )
    section = el(5, "section", {}, el(6, "h2", {}, text(7, "Order ticket")), form)
    s.add("rrweb.full_snapshot", snapshot([section]))
    s.click(20, aid="a1")
    s.type_word(20, "IBM", None)
    s.click(31, aid="a2")  # on the button's text node
    texts = [a.text for a in derive_actions(s.records)]
    assert texts == [
        "typed 'IBM' into 'Symbol' in 'Order ticket'",
        "clicked button 'Send (REST)' in 'Order ticket'",
    ]
    assert not any(re.search(r"node \d", t) for t in texts)


def test_unnamed_element_is_called_by_its_id_or_path_not_its_node_number() -> None:
    """With no description and no mirror, a click still reads without a node number."""
    s = Script()
    s.click(99, aid="a1")
    s.click(98, element("", 98, role="", tag="div", css="div#grid > span:nth-of-type(2)", form=""))
    texts = [a.text for a in derive_actions(s.records)]
    assert texts == ["clicked an unnamed element", "clicked element div#grid > span:nth-of-type(2)"]


def test_incremental_deriver_reads_actions_so_far_and_completes_on_close() -> None:
    """actions() gives what is complete; close() ends the edit in progress."""
    s = Script()
    s.click(30, SEND, aid="a1")
    s.type_word(20, "Q", SYMBOL)
    d = ActionDeriver()
    for r in s.records:
        d.feed(r)
    assert [a.verb for a in d.actions()] == ["click"]
    d.close()
    assert [a.verb for a in d.actions()] == ["click", "type"]


def test_f5_or_escape_in_a_field_is_a_key_action_not_part_of_the_edit() -> None:
    """Command keys pressed while editing end the edit and are actions of their own."""
    s = Script()
    s.type_word(20, "Z", SYMBOL)
    s.key(20, "F5", el=SYMBOL)
    assert [a.text for a in derive_actions(s.records)] == [
        "typed 'Z' into 'Symbol' in 'Order ticket'",
        "pressed F5 in 'Symbol' in 'Order ticket'",
    ]


def test_typing_on_after_a_dialog_in_the_same_field_is_still_the_users() -> None:
    """A dialog ends the edit; undescribed inputs that follow in the field last edited are
    a new edit of it, not a page script's write."""
    s = Script()
    s.type_word(20, "AB", SYMBOL)
    s.add("page.dialog", {"phase": "closed", "type": "alert", "message": "Hi", "accepted": True})
    s.value(20, "ABC")
    assert [a.text for a in derive_actions(s.records)] == [
        "typed 'AB' into 'Symbol' in 'Order ticket'",
        "closed alert 'Hi'",
        "typed 'ABC' into 'Symbol' in 'Order ticket'",
    ]


def test_the_browser_transition_says_how_a_page_was_reached() -> None:
    """Chromium's transition of each navigation: a typed address, a followed link, a bookmark;
    none recorded (the agent's own start page, older journals) reads "opened"."""
    s = Script()
    s.add("page.navigate", {"url": "http://app/", "main_frame": True})
    for url, transition in (
        ("http://app/typed", "typed"),
        ("http://app/linked", "link"),
        ("http://app/marked", "auto_bookmark"),
    ):
        nav = {"url": url, "main_frame": True, "transition": transition}
        s.add("page.navigate", nav, dt_ms=5000)
    s.click(30, SEND, aid="a9")  # a typed address right after a click is not its consequence
    s.add("page.navigate", {"url": "http://app/next", "main_frame": True, "transition": "typed"})
    assert [a.text for a in derive_actions(s.records)] == [
        "opened http://app/",
        "typed the address http://app/typed",
        "followed a link to http://app/linked",
        "opened the bookmark http://app/marked",
        "clicked button 'Send (REST)' in 'Order ticket'",
        "typed the address http://app/next",
    ]


def test_a_popup_journaled_in_the_middle_of_typing_does_not_split_the_typed_value() -> None:
    """The popup's ``page.created`` comes from CDP directly and can reach the journal before
    the recorder's batch with the last keystrokes: the typing is still one action."""
    qty = element("Quantity", 40)
    s = Script()
    s.click(40, qty, aid="a1")
    s.type_word(40, "5", qty)
    s.add("page.created", {"opener": "P", "url": ""}, page="Q")
    for i in range(2, 6):
        s.key(40, "0")
        s.value(40, "5" + "0" * (i - 1))
    s.click(30, SEND, aid="a2")
    texts = [a.text for a in derive_actions(s.records)]
    assert [t for t in texts if t.startswith("typed")] == [
        "typed '50000' into 'Quantity' in 'Order ticket'"
    ]
    assert "clicked button 'Send (REST)' in 'Order ticket'" in texts
    assert [t for t in texts if t.startswith("opened popup")] == ["opened popup"]
