"""The agent's CSS selector matcher: the shared grammar, and the masking-selector table."""

from __future__ import annotations

import copy

import pytest

from agent.errors import MaskError
from agent.events import Event
from agent.mask.selectors import (
    UNKNOWN,
    Elem,
    SelectorSyntaxError,
    compile_selector,
    page_selector,
)
from agent.mask.testing import build_masker
from agent.rrweb import EventType, IncrementalSource
from tests.mask.selector_table import LATE, OBSERVED, ROWS, by_dom_id, element, page_snapshot, shown


def _el(tag: str | None, attrs: dict[str, object], parent: Elem | None = None) -> Elem:
    return Elem(tag, attrs, parent)


def test_compound_selectors_match_tag_id_class_and_attributes() -> None:
    """tag, #id, .class and attribute operators with the i flag."""
    m = compile_selector('input.acct[name*=ssn i][type="text"], #secret, [data-sensitive]')
    assert m(_el("input", {"class": "x acct", "name": "client_SSN", "type": "text"}))
    assert not m(_el("input", {"class": "acct", "name": "client_SSN", "type": "email"}))
    assert m(_el("div", {"id": "secret"}))
    assert m(_el("span", {"data-sensitive": ""}))
    assert not m(_el("span", {}))


def test_attribute_operators() -> None:
    """^= $= ~= |= behave as in CSS."""
    assert compile_selector("[autocomplete^=cc-]")(_el("input", {"autocomplete": "cc-number"}))
    assert compile_selector("[a$=end]")(_el("p", {"a": "the-end"}))
    assert compile_selector("[rel~=b]")(_el("a", {"rel": "a b c"}))
    assert compile_selector("[lang|=en]")(_el("p", {"lang": "en-GB"}))
    assert not compile_selector("[lang|=en]")(_el("p", {"lang": "english"}))


def test_descendant_and_child_combinators_follow_the_parent_chain() -> None:
    """``a b`` needs an ancestor, ``a > b`` the parent; the top of a tree ends the chain."""
    ce = _el("div", {"contenteditable": "true"})
    span = _el("span", {}, ce)
    deep = _el("b", {}, _el("i", {}, ce))
    m = compile_selector("[contenteditable] *")
    assert m(span) and m(deep)
    assert not m(ce) and not m(_el("input", {"id": "plain"}, _el("form", {})))
    child = compile_selector("div > span")
    assert child(span) and not child(_el("span", {}, _el("em", {}, ce)))


def test_an_unknown_ancestry_never_matches_a_combinator() -> None:
    """Where the agent does not know the ancestors, ``form#pay input`` does not match every
    input: a rule for some elements never becomes a rule for all of them."""
    m = compile_selector("form#pay input")
    assert not m(_el("input", {"id": "x"}, UNKNOWN))
    assert m(_el("input", {"id": "x"}, _el("form", {"id": "pay"}, UNKNOWN)))


def test_not_takes_compound_lists() -> None:
    """``:not(a, b)`` excludes elements matching any item."""
    m = compile_selector("input:not([type=hidden], .skip)")
    assert m(_el("input", {"type": "text"}))
    assert not m(_el("input", {"type": "hidden"})) and not m(_el("input", {"class": "skip"}))


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "input[name=x",
        "input]",
        "a[b='c]",
        "a, ",
        "a + b",
        "a ~ b",
        "input:hover",
        "input:checked",
        "p::before",
        ":not(a b)",
        "svg|rect",
        r"#a\:b",
        "input:not(.x",
        "input[name=2fa i]",
        "#2fa",
        "[2fa]",
    ],
)
def test_selectors_outside_the_shared_grammar_raise(bad: str) -> None:
    """Invalid CSS, sibling combinators, pseudo-classes other than :not, pseudo-elements,
    namespaces and escapes are errors, never a matcher that guesses. So is what the browser
    refuses: an unquoted attribute value, an id or a name that is not a CSS identifier
    (``input[name=2fa i]`` once dropped a built-in rule in the page)."""
    with pytest.raises(SelectorSyntaxError):
        compile_selector(bad)


def test_a_list_whose_items_all_name_a_tag_rules_out_other_tags_but_not_unknown_ones() -> None:
    """``input[...]`` lists skip other elements at once; an upper-case tag name and an unknown
    tag (None: an attribute change on an untracked node) are still evaluated."""
    m = compile_selector("input[name=pin i], input[id*=passcode i]")
    assert m(_el("INPUT", {"name": "PIN"})) and m(_el(None, {"id": "my-passcode"}))
    assert not m(_el("div", {"name": "pin"})) and not m(_el("input", {"name": "spinner"}))


def test_a_rule_with_an_unsupported_selector_is_refused_at_load_naming_it() -> None:
    """The rules file does not load: one line naming the rule and why."""
    with pytest.raises(MaskError) as exc:
        build_masker('[[rules]]\nid = "hover"\nkind = "selector"\nmode = "tokenize"\n'
                     'selector = "input:hover"\n')  # fmt: skip
    msg = str(exc.value)
    assert "\n" not in msg and "hover" in msg and "unsupported pseudo-class ':hover'" in msg


def _masked_by_agent(selector: str, mode: str = "tokenize") -> set[str]:
    """Observed elements the agent's pass masks under one selector rule (default keep)."""
    masker = build_masker(
        f'[[rules]]\nid = "row"\nkind = "selector"\nmode = "{mode}"\nselector = "{selector}"\n',
        replace_rules=True,
    )
    root, ids = page_snapshot()
    snap = {"type": EventType.FULL_SNAPSHOT.value, "timestamp": 1,
            "data": {"node": root, "initialOffset": {"left": 0, "top": 0}}}  # fmt: skip
    late = element(LATE, 9100)
    add = {"type": EventType.INCREMENTAL_SNAPSHOT.value, "timestamp": 2,
           "data": {"source": IncrementalSource.MUTATION.value, "texts": [], "attributes": [],
                    "removes": [], "adds": [{"parentId": ids["pay"], "nextId": None,
                                             "node": late}]}}  # fmt: skip
    out = []
    for kind, payload in (("rrweb.full_snapshot", snap), ("rrweb.mutation", add)):
        ev = Event(kind, copy.deepcopy(payload), t_utc_ns=1, t_mono_ns=1, page="p", frame="f")
        out.append(masker.mask_event(ev).payload)
    nodes = by_dom_id(out[0]["data"]["node"], out[1]["data"]["adds"][0]["node"])
    return {i for i in OBSERVED if shown(nodes[i]).startswith("tok_")}


@pytest.mark.parametrize(("selector", "expected"), ROWS, ids=[r[0] for r in ROWS])
def test_agent_pass_masks_exactly_the_elements_of_the_table(
    selector: str, expected: frozenset[str]
) -> None:
    """Snapshot and a node added later: the agent masks exactly the row's elements."""
    assert _masked_by_agent(selector) == expected


def test_a_keep_rule_with_a_descendant_combinator_masks_nothing_else() -> None:
    """``[contenteditable] *`` as a keep rule under ``input_mode = tokenize``: the elements it
    names stay in clear, every other field is tokenized by the default, as configured."""
    masker_rows = _masked_by_agent("#none-such")
    assert masker_rows == set()
    masker = build_masker(
        '[defaults]\ninput_mode = "tokenize"\n[[rules]]\nid = "ce-keep"\nkind = "selector"\n'
        'mode = "keep"\nselector = "[contenteditable] *"\n',
        replace_rules=True,
    )
    root, _ids = page_snapshot()
    snap = {"type": EventType.FULL_SNAPSHOT.value, "timestamp": 1,
            "data": {"node": root, "initialOffset": {"left": 0, "top": 0}}}  # fmt: skip
    ev = Event("rrweb.full_snapshot", snap, t_utc_ns=1, t_mono_ns=1, page="p", frame="f")
    nodes = by_dom_id(masker.mask_event(ev).payload["data"]["node"])
    assert shown(nodes["ce-span"]) == "ce span text"
    assert shown(nodes["ce-b"]) == "ce bold text"
    assert shown(nodes["plain"]).startswith("tok_")
    assert shown(nodes["plain-p"]) == "plain paragraph"


def test_quoted_values_that_are_not_identifiers_are_accepted() -> None:
    """``input[name="2fa" i]`` is the way to write what ``input[name=2fa i]`` meant."""
    m = compile_selector('input[name="2fa" i], input[id*="2fa" i]')
    assert m(_el("input", {"name": "2FA"})) and m(_el("input", {"id": "my-2fa-code"}))
    assert not m(_el("input", {"name": "2fab"}))


def test_page_selector_groups_tag_and_attribute_items_under_is() -> None:
    """Items of one tag and attribute tests become ``tag:is(...)`` (the browser tests the
    tag once); items with an id, a class, :not() or a combinator, and a lone item per tag,
    stay as written."""
    sel = 'input[name="pin" i], INPUT[id="pin" i], #c, input.d[e], a > b, [x], textarea[y]'
    assert page_selector(sel) == (
        '#c, input.d[e], a > b, [x], input:is([name="pin" i], [id="pin" i]), textarea[y]'
    )
    assert page_selector("[data-sensitive]") == "[data-sensitive]"
    with pytest.raises(SelectorSyntaxError):
        page_selector("input[name=2fa]")
