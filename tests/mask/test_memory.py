"""The masker remembers what field rules masked and masks the same value the same way anywhere."""

from __future__ import annotations

import json
import re
from typing import Any

from agent.events import Event
from agent.mask.memory import ValueMemory, worth_remembering
from agent.mask.strings import MARKER
from agent.mask.testing import build_masker, el, rr_input, rr_mutation, rr_snapshot, text
from agent.testing import make_event

# A client reference no value pattern recognises: only the field rule knows it is sensitive.
_REF = "CR-77-QX12"
_RULE = (
    '[[rules]]\nid = "client-ref"\nkind = "selector"\nmode = "tokenize"\n'
    'selector = "input[name=client_ref]"\n'
)
TOK = re.compile(r"tok_[0-9a-f]{16}")


def _ev(kind: str, payload: dict[str, Any]) -> Event:
    return make_event(kind, payload, page="p1", frame="main")


def test_a_value_a_field_rule_tokenized_gets_the_same_token_in_every_other_place() -> None:
    """Typed into a field only a selector rule masks, the value then appears in a URL query,
    a header, request and response bodies, a WebSocket frame, DOM text, an attribute and the
    console: every place carries the one token of the input event, never the value."""
    m = build_masker(_RULE)
    m.mask_event(_ev("rrweb.full_snapshot", rr_snapshot(el(3, "input", {"name": "client_ref"}))))
    typed = m.mask_event(_ev("rrweb.input", rr_input(3, _REF)))
    token = typed.payload["data"]["text"]
    assert TOK.fullmatch(token)
    later = [
        _ev("net.request", {"url": f"https://x.test/api/find?ref={_REF}&side=BUY"}),
        _ev("net.request", {"url": "https://x.test/a", "headers": {"X-Client": _REF}}),
        _ev(
            "net.request",
            {"mime": "application/json", "body": json.dumps({"q": _REF, "note": f"re {_REF}"})},
        ),
        _ev("net.response", {"mime": "text/plain", "body": f"found {_REF}."}),
        _ev("net.ws_frame", {"direction": "sent", "opcode": 1, "data": json.dumps({"r": _REF})}),
        _ev(
            "rrweb.mutation",
            rr_mutation(
                adds=[
                    {
                        "parentId": 2,
                        "nextId": None,
                        "node": el(9, "div", {"title": f"ref {_REF}"}, text(10, f"Ref: {_REF}")),
                    }
                ]
            ),
        ),
        _ev("page.console", {"level": "log", "text": f"looked up {_REF}"}),
    ]
    for ev in later:
        out = json.dumps(m.mask_event(ev).payload)
        assert _REF not in out, ev.kind
        assert token in out, ev.kind
        assert set(TOK.findall(out)) == {token}, ev.kind
    url = m.mask_event(later[0]).payload["url"]
    assert url == f"https://x.test/api/find?ref={token}&side=BUY"


def test_a_value_first_redacted_by_a_form_field_rule_is_redacted_wherever_it_appears() -> None:
    """A password posted in a login form (builtin form-field rule) is ``[redacted]`` later in
    a URL and in page text too."""
    m = build_masker()
    pw = "Tr4der!Secret-2026"
    m.mask_event(
        _ev(
            "net.request",
            {"mime": "application/x-www-form-urlencoded", "body": f"user=jo&password={pw}"},
        )
    )
    out = m.mask_event(_ev("net.request", {"url": f"https://x.test/echo?q={pw}"}))
    assert pw not in json.dumps(out.payload) and "redacted" in out.payload["url"]
    txt = m.mask_event(_ev("page.console", {"level": "log", "text": f"pw is {pw}"}))
    assert txt.payload["text"] == f"pw is {MARKER}"


def test_short_or_repetitive_values_are_not_replaced_elsewhere() -> None:
    """A masked "1234" or "100000" in a sensitive field does not replace those characters in
    page text (too short / too few distinct characters to follow)."""
    m = build_masker(_RULE)
    m.mask_event(_ev("rrweb.full_snapshot", rr_snapshot(el(3, "input", {"name": "client_ref"}))))
    for value in ("1234", "100000"):
        assert TOK.fullmatch(
            m.mask_event(_ev("rrweb.input", rr_input(3, value))).payload["data"]["text"]
        )
        out = m.mask_event(_ev("page.console", {"level": "log", "text": f"qty {value}"}))
        assert out.payload["text"] == f"qty {value}"
    assert not worth_remembering("AAAAAAAA") and worth_remembering("ACCT-4417")


def test_a_prefix_typed_on_the_way_is_not_replaced_inside_the_full_value() -> None:
    """Input events of a partial value remember the prefix; the full value in text gets the
    full value's token, not the prefix's followed by the rest."""
    m = build_masker(_RULE)
    m.mask_event(_ev("rrweb.full_snapshot", rr_snapshot(el(3, "input", {"name": "client_ref"}))))
    part = m.mask_event(_ev("rrweb.input", rr_input(3, _REF[:7]))).payload["data"]["text"]
    full = m.mask_event(_ev("rrweb.input", rr_input(3, _REF))).payload["data"]["text"]
    out = m.mask_event(_ev("page.console", {"level": "log", "text": f"ref {_REF}"}))
    assert out.payload["text"] == f"ref {full}" and part != full


def test_memory_is_bounded_and_keeps_the_strongest_replacement() -> None:
    """Oldest values are forgotten past the bound; a weaker replacement never overrides."""
    from agent.mask.memory import Remembered

    mem = ValueMemory(max_values=2)
    assert mem.remember("alpha-1", Remembered("tok_a", 1, ()))
    assert not mem.remember("alpha-1", Remembered("tok_b", 0, ()))
    assert mem.remember("alpha-1", Remembered(MARKER, 3, ()))
    mem.remember("bravo-2", Remembered("tok_c", 1, ()))
    mem.remember("charlie-3", Remembered("tok_d", 1, ()))
    assert mem.get("alpha-1") is None and len(mem) == 2
    rx = mem.regex()
    assert rx is not None and rx.findall("x charlie-3 bravo-2 bravo-22") == ["charlie-3", "bravo-2"]
