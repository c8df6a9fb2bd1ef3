"""Masking in the page: secrets never leave the renderer in clear."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.async_api import BrowserContext

from tests.capture.harness import Recording, run_in_browser, start_recording

pytestmark = pytest.mark.browser

MASK = {
    "rules": [
        {"id": "sens", "selector": "[data-sensitive]", "mode": "redact"},
        {"id": "pw-cfg", "selector": "input[type=password]", "mode": "tokenize"},
    ],
    "defaultInputMode": "tokenize",
}
SECRETS = [
    "hunter2secret",
    "progsecret99",
    "123-45-6789",
    "87654321",
    "55512345",
    "11223344",
    "999-88-7777",
    "Your password",
]
SENTINEL = "\x01stm:tokenize:default\x02"


def _record_mask_page() -> Recording:
    async def go(ctx: BrowserContext, base: str) -> Recording:
        r = await start_recording(ctx, {"mask": MASK})
        await r.page.goto(f"{base}/recorder_mask.html", wait_until="load")
        await r.page.click("#pw")
        await r.page.keyboard.type("hunter2secret")
        await r.page.click("#name")
        await r.page.keyboard.type("alice")
        await r.page_eval("window.__late()")
        await r.page.click("#go")
        await r.flush()
        await r.page.wait_for_timeout(300)
        await r.flush()
        return r.rec

    return run_in_browser(go)


def _nodes(sn: dict[str, Any]) -> list[dict[str, Any]]:
    out = [sn]
    for c in sn.get("childNodes", []):
        out.extend(_nodes(c))
    return out


@pytest.fixture(scope="module")
def recording() -> Recording:
    return _record_mask_page()


def test_no_secret_appears_in_any_raw_binding_message(recording: Recording) -> None:
    """Typed and scripted password values, sensitive text and attributes never leave in clear."""
    raw = "\n".join(recording.messages)
    assert "rrweb.input" in raw and "input.key" in raw
    for secret in SECRETS:
        assert secret not in raw, secret


def test_password_is_redacted_whatever_the_rule_says(recording: Recording) -> None:
    """The config asks to tokenize passwords; the recorder redacts them anyway."""
    events = recording.events()
    pw_id = next(
        n["id"]
        for e in events
        if e["k"] == "rrweb.full_snapshot"
        for n in _nodes(e["p"]["data"]["node"])
        if n.get("attributes", {}).get("id") == "pw"
    )
    pw_inputs = [
        e["p"]["data"]["text"]
        for e in events
        if e["k"] == "rrweb.input" and e["p"]["data"]["id"] == pw_id
    ]
    assert pw_inputs and set(pw_inputs) == {"[redacted]"}
    pw_keys = [e["p"] for e in events if e["k"] == "input.key" and e["p"]["target"] == pw_id]
    assert len(pw_keys) == len("hunter2secret")
    assert {(k["key"], k["code"]) for k in pw_keys} == {("[redacted]", "[redacted]")}


def test_normal_input_value_is_wrapped_in_a_tokenize_sentinel(recording: Recording) -> None:
    """defaultInputMode tokenize: the agent gets the value inside a sentinel, never bare."""
    texts = [e["p"]["data"]["text"] for e in recording.events() if e["k"] == "rrweb.input"]
    assert SENTINEL + "alice\x03" in texts
    assert "alice" not in texts
    snap = _nodes(recording.kinds("rrweb.full_snapshot")[-1]["data"]["node"])
    notes = next(n for n in snap if n.get("attributes", {}).get("id") == "notes")
    assert notes["attributes"]["value"] == SENTINEL + "notes text 4242\x03"


def test_sensitive_element_placeholder_title_label_and_text_are_redacted(
    recording: Recording,
) -> None:
    """placeholder/title/aria-label/value and text of [data-sensitive] are '[redacted]'."""
    snap = recording.kinds("rrweb.full_snapshot")[-1]["data"]["node"]
    nodes = _nodes(snap)
    ssn = next(n for n in nodes if n.get("attributes", {}).get("id") == "ssn")
    for attr in ("placeholder", "title", "aria-label", "value"):
        assert ssn["attributes"][attr] == "[redacted]", attr
    acct = next(n for n in nodes if n.get("attributes", {}).get("id") == "acct")
    assert acct["attributes"]["title"] == "[redacted]"
    assert acct["childNodes"][0]["textContent"] == "[redacted]"
    muts = json.dumps(recording.kinds("rrweb.mutation"))
    assert '"placeholder": "[redacted]"' in muts
    assert '"title": "[redacted]"' in muts


def test_submit_and_keystrokes_are_recorded_with_targets(recording: Recording) -> None:
    """Form submission and keydown events arrive with node ids and selectors."""
    submits = recording.kinds("input.submit")
    assert submits and submits[0]["selector"] == "form#login" and submits[0]["method"] == "post"
    name_keys = [k for k in recording.kinds("input.key") if k["selector"] == "input#name"]
    assert len(name_keys) == 5 and {k["key"] for k in name_keys} == {"[redacted]"}
