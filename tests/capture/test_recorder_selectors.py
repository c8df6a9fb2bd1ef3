"""Masking selectors in the recorder (the browser's own matching) in real Chromium, against
the same table the agent's matcher is tested with."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import BrowserContext

from agent.events import Event
from agent.mask.testing import build_masker
from tests.capture.harness import Recording, run_in_browser, start_recording
from tests.mask.selector_table import OBSERVED, ROWS, by_dom_id, shown

pytestmark = pytest.mark.browser

SENTINEL = "\x01stm:tokenize:row\x02"


def _record(selector: str, mode: str = "tokenize", default: str = "keep") -> Recording:
    masker = build_masker(
        f'[defaults]\ninput_mode = "{default}"\n'
        f'[[rules]]\nid = "row"\nkind = "selector"\nmode = "{mode}"\nselector = "{selector}"\n',
        replace_rules=True,
    )

    async def go(ctx: BrowserContext, base: str) -> Recording:
        r = await start_recording(ctx, {"mask": masker.page_config()})
        await r.page.goto(f"{base}/fx_selectors.html", wait_until="load")
        await r.wait_for("window.__fixtureDone === true")
        await r.flush()
        return r.rec

    return run_in_browser(go)


def _nodes(rec: Recording) -> dict[str, dict[str, Any]]:
    """Observed elements: the page's snapshot and those added later."""
    trees = [rec.kinds("rrweb.full_snapshot")[-1]["data"]["node"]]
    for m in rec.kinds("rrweb.mutation"):
        trees.extend(a["node"] for a in m["data"].get("adds", []))
    return by_dom_id(*trees)


@pytest.mark.parametrize(("selector", "expected"), ROWS, ids=[r[0] for r in ROWS])
def test_recorder_masks_exactly_the_elements_of_the_table(
    selector: str, expected: frozenset[str]
) -> None:
    """Snapshot, shadow root and a node added later: the rule's sentinel is on exactly the
    row's elements."""
    nodes = _nodes(_record(selector))
    assert set(OBSERVED) <= set(nodes)
    assert {i for i in OBSERVED if shown(nodes[i]).startswith(SENTINEL)} == expected


def test_a_keep_rule_with_a_descendant_combinator_exempts_only_what_it_names() -> None:
    """``[contenteditable] *`` keep under ``input_mode = tokenize``: the spans it names stay
    in clear; every input is still tokenized by the default."""
    nodes = _nodes(_record("[contenteditable] *", mode="keep", default="tokenize"))
    assert shown(nodes["ce-span"]) == "ce span text"
    default = "\x01stm:tokenize:default\x02"
    for field in ("plain", "pay-card", "other-ref", "late", "mail"):
        assert shown(nodes[field]).startswith(default), field


def test_input_events_are_masked_by_exactly_the_rule_that_names_the_field() -> None:
    """Typing into ``form#pay`` and ``form#other`` fields under a ``form#pay input`` rule:
    the recorder wraps only the pay field's input events, and the agent's pass over the same
    events tokenizes only those."""
    masker = build_masker(
        '[[rules]]\nid = "row"\nkind = "selector"\nmode = "tokenize"\n'
        'selector = "form#pay input"\n',
        replace_rules=True,
    )

    async def go(ctx: BrowserContext, base: str) -> Recording:
        r = await start_recording(ctx, {"mask": masker.page_config()})
        await r.page.goto(f"{base}/fx_selectors.html", wait_until="load")
        await r.wait_for("window.__fixtureDone === true")
        for field in ("#pay-ref", "#other-ref", "#late"):
            await r.page.click(field)
            await r.page.keyboard.type("X1")
        await r.flush()
        return r.rec

    rec = run_in_browser(go)
    nodes = _nodes(rec)
    ids = {nodes[k]["id"]: k for k in ("pay-ref", "other-ref", "late")}
    seen: dict[str, list[tuple[str, str]]] = {k: [] for k in ids.values()}
    for e in rec.events():
        ev = Event(e["k"], e["p"], t_utc_ns=1, t_mono_ns=1, page="p", frame="f")
        agent = masker.mask_event(ev).payload
        if e["k"] == "rrweb.input" and e["p"]["data"]["id"] in ids:
            field = ids[e["p"]["data"]["id"]]
            seen[field].append((e["p"]["data"]["text"], agent["data"]["text"]))
    assert seen["pay-ref"] and seen["other-ref"] and seen["late"]
    for field in ("pay-ref", "late"):
        assert all(r.startswith(SENTINEL) and a.startswith("tok_") for r, a in seen[field])
    assert [r for r, _ in seen["other-ref"]] == ["other refX", "other refX1"]
    assert [a for _, a in seen["other-ref"]] == ["other refX", "other refX1"]


# Each field of recorder_shipped_fields.html -> the shipped rule that must mask it in the page
# (None: typed text stays in clear).
SHIPPED = {
    "f-2fa": "builtin.pin-otp-fields",
    "f-pin": "builtin.pin-otp-fields",
    "f-otp": "builtin.pin-otp-fields",
    "f-aria": "builtin.pin-otp-fields",
    "f-pw": "builtin.password",
    "f-oneauto": "builtin.password-autocomplete",
    "f-card": "builtin.card-fields",
    "f-ccauto": "builtin.cc-autocomplete",
    "f-mail": "email-inputs",
    "f-tel": "tel-inputs",
    "f-ssn": "ssn-fields",
    "f-iban": "bank-fields",
    "f-acct": "account-fields",
    "f-marked": "data-sensitive",
    "f-spinner": None,
    "f-symbol": None,
    "f-notes": None,
}


def test_every_shipped_rule_compiles_in_the_browser_and_masks_the_fields_it_names() -> None:
    """The shipped rules as the recorder gets them (``page_config``, items grouped under
    ``:is()``): Chromium refuses none of them (a refused rule is dropped in the page with a
    ``capture.degraded``), and typing into a field each rule names gives that rule's masked
    text in the page, key by key; a plain field the page marks sensitive, or moves into a
    sensitive element, and types into in the same task is masked from that input on (the
    recorder keeps the rule it found per element only while no attribute changed and no
    element moved, and takes the records the observer has not delivered yet).
    ``input[name=2fa i]`` (not a CSS identifier) once made Chromium refuse the whole PIN /
    one-time-code rule."""
    masker = build_masker()

    async def go(ctx: BrowserContext, base: str) -> Recording:
        r = await start_recording(ctx, {"mask": masker.page_config()})
        await r.page.goto(f"{base}/recorder_shipped_fields.html", wait_until="load")
        for field in SHIPPED:
            await r.page.click(f"#{field}")
            await r.page.keyboard.type("42")
        await r.page.evaluate(
            """() => { const el = document.getElementById('f-symbol');
                       el.setAttribute('data-sensitive', '');
                       el.value += '7';
                       el.dispatchEvent(new Event('input', {bubbles: true}));
                       const box = document.createElement('div');
                       box.setAttribute('data-sensitive', '');
                       document.body.append(box);
                       const sp = document.getElementById('f-spinner');
                       box.append(sp);
                       sp.value += '8';
                       sp.dispatchEvent(new Event('input', {bubbles: true})); }"""
        )
        await r.flush()
        return r.rec

    rec = run_in_browser(go)
    bad = [e for e in rec.kinds("capture.degraded") if e.get("reason") == "bad_mask_selector"]
    assert bad == []
    nodes = _nodes(rec)
    by_id = {nodes[f]["id"]: f for f in SHIPPED}
    texts: dict[str, list[str]] = {f: [] for f in SHIPPED}
    for p in rec.kinds("rrweb.input"):
        if p["data"]["id"] in by_id:
            texts[by_id[p["data"]["id"]]].append(p["data"]["text"])
    for field, rule in SHIPPED.items():
        typed = texts[field][:2]
        assert len(typed) == 2, field
        if rule is None:
            assert typed == ["4", "42"], field
        elif rule.startswith("builtin."):
            assert typed == ["[redacted]", "[redacted]"], field
        else:
            assert all(
                t == f"\x01stm:tokenize:{rule}\x02{v}\x03"
                for t, v in zip(typed, ["4", "42"], strict=True)
            ), field
    assert texts["f-symbol"][2:] == ["\x01stm:tokenize:data-sensitive\x02427\x03"]
    assert texts["f-spinner"][2:] == ["\x01stm:tokenize:data-sensitive\x02428\x03"]
