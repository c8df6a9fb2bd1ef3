"""Masker: fail-closed behaviour, mask.failed events, escrow blobs, the recorder config."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from agent.events import Event
from agent.mask.compiled import CompiledPattern
from agent.mask.escrow import generate_keypair
from agent.mask.masker import Masker
from agent.mask.strings import MARKER
from agent.mask.testing import build_masker, el, rr_input, rr_snapshot
from agent.testing import make_event


def _break_rule(m: Masker, rule_id: str, exc: Exception) -> None:
    """Replace one compiled pattern by one whose check raises (a rule that breaks)."""

    def boom(_: str) -> bool:
        raise exc

    for i, p in enumerate(m.rules.patterns):
        if p.hit.rule_id == rule_id:
            m.rules.patterns[i] = CompiledPattern(p.hit, p.regex, boom)
            return
    raise AssertionError(rule_id)


class _BrokenRegex:
    """A compiled regex stand-in that fails while scanning (a bad regex at runtime)."""

    pattern = "x"
    flags = 0

    def finditer(self, s: str) -> Any:
        raise re.error("runtime failure")

    def fullmatch(self, s: str) -> Any:
        raise re.error("runtime failure")


def test_rule_raising_redacts_the_value_and_reports_without_value() -> None:
    """A check that raises: the text is redacted, mask.failed names rule, path, error class."""
    m = build_masker()
    _break_rule(m, "ssn", ValueError("boom 078-05-1120"))
    ev = make_event("page.console", {"text": "client 078-05-1120 called"})
    out = m.mask_events([ev])
    assert out[0].payload["text"] == MARKER
    assert out[1].kind == "mask.failed"
    assert out[1].payload == {
        "rule": "ssn",
        "path": "$.text",
        "error": "ValueError",
        "event_kind": "page.console",
    }
    assert "078-05-1120" not in json.dumps(out[1].payload)
    assert (out[1].t_utc_ns, out[1].t_mono_ns) == (ev.t_utc_ns, ev.t_mono_ns)


def test_bad_regex_at_runtime_fails_closed() -> None:
    """A regex that errors while scanning redacts the value and reports re.error."""
    m = build_masker()
    for i, p in enumerate(m.rules.patterns):
        if p.hit.rule_id == "iban":
            m.rules.patterns[i] = CompiledPattern(p.hit, _BrokenRegex(), p.check)  # type: ignore[arg-type]  # a failing re.Pattern double
    m.rules.prefilter = None
    out = m.mask_events([make_event("page.console", {"text": "GB82 WEST 1234 5698 7654 32"})])
    assert out[0].payload["text"] == MARKER
    assert out[1].payload["rule"] == "iban" and out[1].payload["error"] == "error"


def test_failing_rule_on_a_field_value_redacts_it() -> None:
    """Whole-value classification failing (input event) redacts the input text."""
    m = build_masker()
    _break_rule(m, "builtin.card", RuntimeError("x"))
    out = m.mask_events([make_event("rrweb.input", rr_input(5, "4111 1111 1111 1111"))])
    assert out[0].payload["data"]["text"] == MARKER
    assert out[1].payload["error"] == "RuntimeError"


def test_malformed_sentinel_in_an_event_emits_mask_failed_without_value() -> None:
    """An unterminated sentinel in an input event."""
    m = build_masker()
    out = m.mask_events(
        [make_event("rrweb.input", rr_input(5, "\x01stm:tokenize:acct\x02ACCT-4417-2290"))]
    )
    assert out[0].payload["data"]["text"] == MARKER
    assert out[1].payload == {
        "rule": "acct",
        "path": "$.data.text",
        "error": "MalformedSentinel",
        "event_kind": "rrweb.input",
    }


def test_a_bug_while_masking_an_event_redacts_the_whole_payload() -> None:
    """An exception outside any rule (a malformed rrweb node) fails closed for the event."""
    m = build_masker()
    snap = rr_snapshot(el(3, "input", {"type": "password", "value": "hunter2"}))
    snap["data"]["node"]["childNodes"][0]["childNodes"][0]["tagName"] = None
    snap["data"]["node"]["childNodes"][0]["childNodes"][0]["attributes"] = {"value": "x"}
    snap["data"]["node"]["childNodes"][0]["childNodes"].append(
        {"type": 2, "id": 9, "tagName": "input", "attributes": 5, "childNodes": "bad"}
    )
    out = m.mask_events([make_event("rrweb.full_snapshot", snap)])
    assert "hunter2" not in json.dumps(out[0].payload)


def test_unchanged_event_is_returned_as_is() -> None:
    """Nothing to mask: same object, no copy."""
    m = build_masker()
    ev = make_event("page.console", {"text": "order sent", "level": "log"})
    assert m.mask_event(ev) is ev


def test_masking_does_not_mutate_the_input_event() -> None:
    """mask_event is pure: the capture-side event keeps its payload."""
    m = build_masker()
    ev = make_event("page.console", {"text": "ssn 078-05-1120"})
    out = m.mask_event(ev)
    assert ev.payload["text"] == "ssn 078-05-1120" and out.payload["text"] != ev.payload["text"]


def test_escrow_blob_travels_in_the_event_payload() -> None:
    """An escrowed value: token in the stream, sealed blob in payload['_escrow']."""
    _, pub = generate_keypair()
    m = build_masker(
        '[[rules]]\nid = "notes"\nkind = "selector"\nmode = "escrow"\nselector = "#notes"\n',
        escrow_public_key=pub,
    )
    m.mask_event(
        make_event("rrweb.full_snapshot", rr_snapshot(el(3, "textarea", {"id": "notes"})), page="p")
    )
    out = m.mask_event(make_event("rrweb.input", rr_input(3, "wire 250k"), page="p"))
    token = out.payload["data"]["text"]
    assert re.fullmatch(r"esc_[0-9a-f]{16}", token)
    assert set(out.payload["_escrow"]) == {token}
    assert "wire 250k" not in json.dumps(out.payload)


def test_page_config_lists_selectors_strongest_first_without_secrets() -> None:
    """cfg.mask for the recorder: redact rules first, keep -> 'none', no key material."""
    _, pub = generate_keypair()
    m = build_masker(
        '[[rules]]\nid = "sym"\nkind = "selector"\nmode = "keep"\nselector = "#symbol"\n',
        escrow_public_key=pub,
    )
    cfg = m.page_config()
    assert cfg["defaultInputMode"] == "none" and cfg["marker"] == MARKER
    modes = [r["mode"] for r in cfg["rules"]]
    assert modes == sorted(modes, key=["redact", "escrow", "tokenize", "none"].index)
    by_id = {r["id"]: r for r in cfg["rules"]}
    assert by_id["builtin.password"]["selector"] == 'input[type="password" i]'
    assert by_id["builtin.cc-autocomplete"]["selector"] == '[autocomplete^="cc-" i]'
    assert by_id["data-sensitive"]["selector"] == "[data-sensitive]"
    assert by_id["sym"]["mode"] == "none"
    assert pub not in json.dumps(cfg)


@pytest.mark.parametrize("kind", ["capture.heartbeat", "rrweb.mouse_move"])
def test_kinds_without_strings_are_skipped(kind: str) -> None:
    """Heartbeats and mouse moves pass through unchanged."""
    m = build_masker()
    ev = Event(kind, {"type": 3, "data": {"source": 1, "positions": []}}, 1, 1)
    assert m.mask_event(ev) is ev


def test_element_description_is_masked_like_page_text() -> None:
    """The recorder's ``element`` on a click or a key: a sentinel in its name becomes a token,
    an SSN in it is masked, and plain labels pass unchanged."""
    m = build_masker()
    click = {
        "type": 3,
        "data": {"source": 2, "type": 2, "id": 7, "x": 1, "y": 2},
        "element": {"name": "\x01stm:tokenize:acct\x02ACCT-4417-2290\x03", "form": "Lookup"},
    }
    key = {"key": "Enter", "code": "Enter", "target": 7, "selector": "input#x",
           "element": {"name": "SSN 078-05-1120", "form": "Lookup"}}  # fmt: skip
    out = m.mask_events(
        [make_event("rrweb.mouse_interaction", click), make_event("input.key", key)]
    )
    names = [e.payload["element"]["name"] for e in out]
    assert re.fullmatch(r"tok_[0-9a-f]{16}", names[0])
    assert "078-05-1120" not in names[1] and names[1].startswith("SSN ")
    assert [e.payload["element"]["form"] for e in out] == ["Lookup", "Lookup"]
