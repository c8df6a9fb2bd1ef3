"""The rrweb DOM stream and keystrokes (agent-side second pass)."""

from __future__ import annotations

import re
from typing import Any

from agent.events import Event
from agent.mask.strings import MARKER
from agent.mask.testing import build_masker, el, rr_input, rr_mutation, rr_snapshot, text
from agent.testing import make_event

TOK = re.compile(r"tok_[0-9a-f]{16}")


def _ev(kind: str, payload: dict[str, Any]) -> Event:
    return make_event(kind, payload, page="p1")


def _body(payload: dict[str, Any]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = payload["data"]["node"]["childNodes"][0]["childNodes"]
    return nodes


def test_password_value_placeholder_and_title_are_redacted_in_snapshot() -> None:
    """rrweb #1361/#1609 traps: placeholder/title of a password field leak nothing."""
    m = build_masker()
    out = m.mask_event(
        _ev(
            "rrweb.full_snapshot",
            rr_snapshot(
                el(
                    3,
                    "input",
                    {
                        "type": "password",
                        "value": "hunter2",
                        "placeholder": "was hunter2",
                        "title": "hunter2",
                        "aria-label": "pw hunter2",
                    },
                )
            ),
        )
    )
    attrs = _body(out.payload)[0]["attributes"]
    assert attrs == {
        "type": "password",
        "value": MARKER,
        "placeholder": MARKER,
        "title": MARKER,
        "aria-label": MARKER,
    }


def test_default_input_mode_keeps_plain_inputs_in_clear_and_tokenizes_account_fields() -> None:
    """An order field no rule names (a symbol) stays in clear by default, a submit button
    label is kept, and a field named for an account is still tokenized."""
    m = build_masker()
    out = m.mask_event(
        _ev(
            "rrweb.full_snapshot",
            rr_snapshot(
                el(3, "input", {"name": "symbol", "value": "AAPL"}),
                el(4, "input", {"type": "submit", "value": "Send order"}),
                el(5, "input", {"type": "hidden", "name": "acct", "value": "ACCT-9902-1187"}),
            ),
        )
    )
    body = _body(out.payload)
    assert body[0]["attributes"]["value"] == "AAPL"
    assert body[1]["attributes"]["value"] == "Send order"
    assert TOK.fullmatch(body[2]["attributes"]["value"])


def test_keep_rule_leaves_a_field_in_clear_but_patterns_still_apply() -> None:
    """A keep rule (ticker box) keeps the value; an SSN typed into it is still tokenized."""
    m = build_masker(
        '[[rules]]\nid = "symbol"\nkind = "selector"\nmode = "keep"\n'
        'selector = "input[name=symbol]"\n'
    )
    m.mask_event(_ev("rrweb.full_snapshot", rr_snapshot(el(3, "input", {"name": "symbol"}))))
    assert m.mask_event(_ev("rrweb.input", rr_input(3, "AAPL"))).payload["data"]["text"] == "AAPL"
    out = m.mask_event(_ev("rrweb.input", rr_input(3, "078-05-1120"))).payload["data"]["text"]
    assert TOK.fullmatch(out)


def test_data_sensitive_element_text_and_later_text_changes_are_masked() -> None:
    """Text under [data-sensitive] is tokenized in the snapshot and in later mutations."""
    m = build_masker()
    out = m.mask_event(
        _ev(
            "rrweb.full_snapshot",
            rr_snapshot(el(3, "div", {"data-sensitive": ""}, text(4, "Jane Doe"))),
        )
    )
    assert TOK.fullmatch(_body(out.payload)[0]["childNodes"][0]["textContent"])
    mut = m.mask_event(
        _ev(
            "rrweb.mutation",
            rr_mutation(texts=[{"id": 4, "value": "Bob"}, {"id": 99, "value": "1.25"}]),
        )
    )
    texts = mut.payload["data"]["texts"]
    assert TOK.fullmatch(texts[0]["value"]) and texts[1]["value"] == "1.25"


def test_added_subtree_under_masked_parent_is_masked() -> None:
    """Nodes added later inside a masked element inherit its mode."""
    m = build_masker()
    m.mask_event(_ev("rrweb.full_snapshot", rr_snapshot(el(3, "div", {"data-sensitive": ""}))))
    mut = m.mask_event(
        _ev(
            "rrweb.mutation",
            rr_mutation(
                adds=[
                    {
                        "parentId": 3,
                        "nextId": None,
                        "node": el(7, "span", {"title": "Jane"}, text(8, "Jane Doe")),
                    }
                ]
            ),
        )
    )
    node = mut.payload["data"]["adds"][0]["node"]
    assert TOK.fullmatch(node["attributes"]["title"])
    assert TOK.fullmatch(node["childNodes"][0]["textContent"])


def test_password_type_toggle_never_unmasks() -> None:
    """type=password -> text (show password) keeps the field redacted."""
    m = build_masker()
    m.mask_event(_ev("rrweb.full_snapshot", rr_snapshot(el(3, "input", {"type": "password"}))))
    mut = m.mask_event(
        _ev(
            "rrweb.mutation",
            rr_mutation(attributes=[{"id": 3, "attributes": {"type": "text", "value": "hunter2"}}]),
        )
    )
    assert mut.payload["data"]["attributes"][0]["attributes"] == {"type": "text", "value": MARKER}
    assert (
        m.mask_event(_ev("rrweb.input", rr_input(3, "hunter2"))).payload["data"]["text"] == MARKER
    )


def test_attribute_change_that_matches_a_rule_starts_masking() -> None:
    """An element that gains data-sensitive is masked from then on."""
    m = build_masker()
    m.mask_event(_ev("rrweb.full_snapshot", rr_snapshot(el(3, "span", {}))))
    mut = m.mask_event(
        _ev(
            "rrweb.mutation",
            rr_mutation(
                attributes=[{"id": 3, "attributes": {"data-sensitive": "", "title": "Jane Doe"}}]
            ),
        )
    )
    assert TOK.fullmatch(mut.payload["data"]["attributes"][0]["attributes"]["title"])


def test_input_events_for_unknown_nodes_use_default_mode() -> None:
    """Without a snapshot the agent still tokenizes input values (fail closed)."""
    m = build_masker()
    out = m.mask_event(_ev("rrweb.input", rr_input(42, "ACCT-4417-2290")))
    assert TOK.fullmatch(out.payload["data"]["text"])


def test_patterns_in_unmasked_text_and_attributes() -> None:
    """An SSN in page text and a card in a data- attribute are masked anywhere."""
    m = build_masker()
    out = m.mask_event(
        _ev(
            "rrweb.full_snapshot",
            rr_snapshot(
                el(3, "p", {"data-card": "4111 1111 1111 1111"}, text(4, "Client SSN: 078-05-1120"))
            ),
        )
    )
    p = _body(out.payload)[0]
    assert p["attributes"]["data-card"] == MARKER
    assert TOK.fullmatch(p["childNodes"][0]["textContent"].removeprefix("Client SSN: "))


def test_keystrokes_into_masked_fields_lose_key_and_code() -> None:
    """Printable keys in a tokenized field: key and code redacted (Digit7 leaks the digit);
    Enter kept; hotkeys on a non-field element kept."""
    m = build_masker()
    m.mask_event(
        _ev(
            "rrweb.full_snapshot",
            rr_snapshot(el(3, "input", {"name": "acct"}), el(4, "div", {"id": "grid"})),
        )
    )
    k = m.mask_event(
        _ev(
            "input.key", {"key": "7", "code": "Digit7", "target": 3, "selector": "input[name=acct]"}
        )
    ).payload
    assert k["key"] == MARKER and k["code"] == MARKER
    e = m.mask_event(_ev("input.key", {"key": "Enter", "code": "Enter", "target": 3}))
    assert e.payload["key"] == "Enter"
    h = m.mask_event(
        _ev("input.key", {"key": "b", "code": "KeyB", "target": 4, "selector": "div#grid"})
    )
    assert h.payload["key"] == "b"


def test_keystroke_with_unknown_target_fails_closed() -> None:
    """No snapshot seen: a printable key is redacted."""
    m = build_masker()
    k = m.mask_event(
        make_event(
            "input.key",
            {"key": "7", "code": "Digit7", "target": 9, "selector": "input"},
            page="other",
        )
    )
    assert k.payload["key"] == MARKER


def test_blotter_mutation_is_returned_untouched() -> None:
    """The fast path: short prices on unmasked nodes come back as the same object."""
    m = build_masker()
    m.mask_event(_ev("rrweb.full_snapshot", rr_snapshot(el(3, "input", {"type": "password"}))))
    ev = _ev(
        "rrweb.mutation",
        rr_mutation(texts=[{"id": 100 + i, "value": f"{i}.25"} for i in range(200)]),
    )
    assert m.mask_event(ev) is ev


def test_fast_path_does_not_skip_a_long_value_or_a_sentinel() -> None:
    """One SSN or one sentinel among 200 prices is masked."""
    m = build_masker()
    texts = [{"id": 100 + i, "value": f"{i}.25"} for i in range(200)]
    texts[150] = {"id": 250, "value": "078051120"}
    texts[160] = {"id": 260, "value": "\x01stm:tokenize:r\x02x\x03"}
    out = m.mask_event(_ev("rrweb.mutation", rr_mutation(texts=texts))).payload["data"]["texts"]
    assert TOK.fullmatch(out[150]["value"]) and TOK.fullmatch(out[160]["value"])
    assert out[0]["value"] == "0.25"


def test_meta_href_is_url_masked() -> None:
    """rrweb Meta href with a credential query parameter."""
    m = build_masker()
    out = m.mask_event(
        _ev(
            "rrweb.meta",
            {
                "type": 4,
                "timestamp": 1,
                "data": {"href": "https://x.test/?access_token=abc", "width": 800, "height": 600},
            },
        )
    )
    assert out.payload["data"]["href"] == "https://x.test/?access_token=[redacted]"


def test_pasted_clipboard_content_takes_the_field_mode() -> None:
    """Clipboard content pasted into a password field is redacted; elsewhere (default
    input mode: keep) it is recorded as copied."""
    m = build_masker()
    m.mask_event(_ev("rrweb.full_snapshot", rr_snapshot(el(3, "input", {"type": "password"}))))
    pw = m.mask_event(
        _ev(
            "input.clipboard",
            {"action": "paste", "target": 3, "selector": "input", "content": "hunter2"},
        )
    )
    assert pw.payload["content"] == MARKER
    other = m.mask_event(
        _ev(
            "input.clipboard",
            {"action": "copy", "target": 77, "selector": "td", "content": "Jane Doe"},
        )
    )
    assert other.payload["content"] == "Jane Doe"
    bare = _ev("input.clipboard", {"action": "copy", "target": 77, "selector": "td"})
    assert m.mask_event(bare) is bare


def test_prompt_answer_is_masked_like_an_input() -> None:
    """page.dialog user_input (a prompt() answer) takes the default input mode (here set to
    tokenize); the message is scanned."""
    m = build_masker('[defaults]\ninput_mode = "tokenize"\n')
    out = m.mask_event(
        _ev(
            "page.dialog",
            {
                "type": "prompt",
                "message": "PIN for 078-05-1120?",
                "phase": "closed",
                "user_input": "7319",
            },
        )
    )
    assert TOK.fullmatch(out.payload["user_input"])
    assert "078-05-1120" not in out.payload["message"]


def test_password_shown_as_text_stays_redacted_in_the_next_keyframe() -> None:
    """A keyframe of the same document after a show-password toggle keeps the redaction;
    after a navigation (new href) node ids start again and nothing is carried over."""
    m = build_masker()
    meta: dict[str, Any] = {
        "type": 4,
        "timestamp": 1,
        "data": {"href": "https://x.test/login", "width": 1, "height": 1},
    }
    m.mask_event(_ev("rrweb.meta", meta))
    m.mask_event(_ev("rrweb.full_snapshot", rr_snapshot(el(3, "input", {"type": "password"}))))
    m.mask_event(_ev("rrweb.meta", meta))
    again = m.mask_event(
        _ev(
            "rrweb.full_snapshot", rr_snapshot(el(3, "input", {"type": "text", "value": "hunter2"}))
        )
    )
    assert _body(again.payload)[0]["attributes"]["value"] == MARKER
    m.mask_event(
        _ev("rrweb.meta", {**meta, "data": {**meta["data"], "href": "https://x.test/app"}})
    )
    nav = m.mask_event(
        _ev(
            "rrweb.full_snapshot",
            rr_snapshot(el(3, "input", {"type": "text", "name": "symbol", "value": "AAPL"})),
        )
    )
    assert _body(nav.payload)[0]["attributes"]["value"] == "AAPL"


def test_one_sensitive_attribute_change_among_many_quiet_ones_is_masked() -> None:
    """A grid's class flips pass untouched, but one change among hundreds that needs masking
    (a card number, a recorder sentinel, a watched name, a masked node) is still masked, and
    odd shapes from the page do not crash the pass."""
    m = build_masker()
    m.mask_event(_ev("rrweb.full_snapshot", rr_snapshot(el(3, "input", {"type": "password"}))))
    flips = [
        {"id": 100 + i, "attributes": {"class": "up" if i % 2 else "down"}} for i in range(400)
    ]
    quiet = m.mask_event(_ev("rrweb.mutation", rr_mutation(attributes=flips)))
    assert quiet.payload["data"]["attributes"] == flips
    sentinel = m.mask_event(
        _ev("rrweb.mutation", rr_mutation(texts=[{"id": 9, "value": "\x01stm:none\x02x\x03"}]))
    ).payload["data"]["texts"][0]["value"]
    odd: list[Any] = [{"id": 7, "attributes": None}, "not an item", {"attributes": {}}]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"id": 50, "attributes": {"data-x": "4111 1111 1111 1111"}}, "data-x"),
        ({"id": 3, "attributes": {"class": "shown", "value": "hunter2"}}, "value"),
        ({"id": 51, "attributes": {"class": "\x01stm:none\x02x\x03"}}, "class"),
    ]
    for extra, where in cases:
        out = m.mask_event(
            _ev("rrweb.mutation", rr_mutation(attributes=[*flips[:200], extra, *flips[200:]]))
        )
        got = out.payload["data"]["attributes"]
        assert got[:200] == flips[:200] and got[201:] == flips[200:]
        assert got[200]["attributes"][where] != extra["attributes"][where]
        assert got[200]["attributes"][where] in (MARKER, sentinel) or TOK.fullmatch(
            got[200]["attributes"][where]
        )
        weird = m.mask_event(_ev("rrweb.mutation", rr_mutation(attributes=[*odd, extra])))
        assert (
            weird.payload["data"]["attributes"][-1]["attributes"][where]
            == (got[200]["attributes"][where])
        )
    removed = [{"id": 60, "attributes": {"class": None}}, *flips]
    assert (
        m.mask_event(_ev("rrweb.mutation", rr_mutation(attributes=removed))).payload["data"][
            "attributes"
        ]
        == removed
    )
