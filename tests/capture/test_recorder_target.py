"""The recorder names the element of each user action when it happens (``element``): role,
accessible name, ids, CSS path, form and region; a later relabel does not change it, and a
name never carries a typed value or text a masking rule covers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.async_api import BrowserContext

from agent.actions.derive import derive_actions
from agent.events import Record
from tests.capture.harness import Recording, run_in_browser, start_recording

pytestmark = pytest.mark.browser

MASK = {"rules": [{"id": "secret", "selector": ".secret", "mode": "redact"}]}
TYPED_SECRET = "QZX-typed-value-771"


def _record() -> Recording:
    async def go(ctx: BrowserContext, base: str) -> Recording:
        r = await start_recording(ctx, {"mask": MASK})
        page = r.page
        await page.goto(f"{base}/recorder_target.html", wait_until="load")
        await r.flush()
        await page.click("#sym")
        await page.keyboard.type("MSFT")
        await page.click("#qty")
        await page.keyboard.type("100")
        await page.click("#acct")
        await page.keyboard.type("12")
        await page.click("#ref")
        await page.keyboard.type(TYPED_SECRET)
        await page.click("#send-text")  # the page renames the button and the qty label
        await page.click("#ok")
        await page.click("#secret-btn")
        await page.click("#go")
        await r.flush()
        return r.rec

    return run_in_browser(go)


@pytest.fixture(scope="module")
def recording() -> Recording:
    return _record()


def _records(rec: Recording) -> list[Record]:
    return [
        Record(i, int(e["t"]) * 1_000_000, 0, e["k"], e["p"], "p", "p", 0, "")
        for i, e in enumerate(rec.events())
    ]


def _clicks(rec: Recording) -> dict[str, dict[str, Any]]:
    """element_id -> the element description of its click."""
    out = {}
    for p in rec.kinds("rrweb.mouse_interaction"):
        if p["data"]["type"] == 2 and "element" in p:
            out[p["element"]["element_id"]] = p["element"]
    return out


def test_click_names_the_button_with_role_form_region_and_css(recording: Recording) -> None:
    """A click on a button's inner span names the button: its text, role, form and region."""
    el = _clicks(recording)["send"]
    assert el["name"] == "Send (REST)" and el["role"] == "button" and el["tag"] == "button"
    assert el["form"] == "Order ticket" and el["region"] == "Order ticket"
    assert el["css"] == "button#send" and el["name_from"] == "text"


def test_field_names_follow_accessible_name_precedence(recording: Recording) -> None:
    """Wrapping label, <label for>, aria-label, placeholder; a dialog's title is its region."""
    clicks = _clicks(recording)
    assert [clicks[i]["name"] for i in ("sym", "qty", "acct", "ref")] == [
        "Symbol",
        "Quantity",
        "Account number",
        "Reference",
    ]
    assert clicks["sym"]["role"] == "textbox" and clicks["ok"]["region"] == "Confirm"
    assert clicks["ok"]["name"] == "OK"


def test_submit_names_the_form_by_its_section_heading(recording: Recording) -> None:
    """A form without a name of its own is named by the heading of the section it is in."""
    (sub,) = recording.kinds("input.submit")
    assert sub["element"]["name"] == "Order ticket" and sub["element"]["tag"] == "form"


def test_names_never_carry_typed_values_or_masked_text(recording: Recording) -> None:
    """The typed value is in no description; a masked button's text is redacted there."""
    described = [json.dumps(e["p"]["element"]) for e in recording.events() if "element" in e["p"]]
    assert described and not any(TYPED_SECRET in d for d in described)
    assert _clicks(recording)["secret-btn"]["name"] == "[redacted]"
    assert not any("12345678" in d for d in described)


def test_label_recorded_at_action_time_survives_a_later_relabel(recording: Recording) -> None:
    """After the click the page renames the button and the label; the actions keep the names
    the user saw."""
    texts = [a.text for a in derive_actions(_records(recording))]
    assert "clicked button 'Send (REST)' in 'Order ticket'" in texts
    assert "typed '100' into 'Quantity' in 'Order ticket'" in texts
    assert not any("Sent!" in t or "renamed" in t for t in texts)


def test_typing_a_word_is_one_action_and_its_keys_stay_raw(recording: Recording) -> None:
    """Four keys typed into 'Symbol' give one action; the raw stream still has the 4 keys."""
    actions = derive_actions(_records(recording))
    typed = [a for a in actions if a.verb == "type" and a.target.name == "Symbol"]
    assert [a.text for a in typed] == ["typed 'MSFT' into 'Symbol' in 'Order ticket'"]
    keys = [p for p in recording.kinds("input.key") if p["selector"] == "input#sym"]
    assert [k["key"] for k in keys] == ["M", "S", "F", "T"]
    assert not any(a.verb == "click" and a.target.name == "Symbol" for a in actions)
