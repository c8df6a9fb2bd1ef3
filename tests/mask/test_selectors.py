"""The agent-side compound CSS selector matcher."""

from __future__ import annotations

import pytest

from agent.mask.selectors import Matcher, SelectorSyntaxError, compile_selector


def _matcher(selector: str) -> Matcher:
    """The compiled matcher of a selector the agent can evaluate (not browser-only)."""
    m = compile_selector(selector)
    assert m is not None, selector
    return m


def test_compound_selectors_match_tag_id_class_and_attributes() -> None:
    """tag, #id, .class and attribute operators with the i flag."""
    m = compile_selector('input.acct[name*=ssn i][type="text"], #secret, [data-sensitive]')
    assert m is not None
    assert m("input", {"class": "x acct", "name": "client_SSN", "type": "text"})
    assert not m("input", {"class": "acct", "name": "client_SSN", "type": "email"})
    assert m("div", {"id": "secret"})
    assert m("span", {"data-sensitive": ""})
    assert not m("span", {})


def test_attribute_operators() -> None:
    """^= $= ~= |= behave as in CSS."""
    assert _matcher("[autocomplete^=cc-]")("input", {"autocomplete": "cc-number"})
    assert _matcher("[a$=end]")("p", {"a": "the-end"})
    assert _matcher("[rel~=b]")("a", {"rel": "a b c"})
    assert _matcher("[lang|=en]")("p", {"lang": "en-GB"})
    assert not _matcher("[lang|=en]")("p", {"lang": "english"})


def test_combinators_and_pseudo_classes_are_page_only() -> None:
    """Valid CSS the agent cannot evaluate compiles to None (the recorder enforces it)."""
    assert compile_selector("form .secret") is None
    assert compile_selector("input:not([type=hidden])") is None
    assert compile_selector("div > span") is None


@pytest.mark.parametrize("bad", ["", "input[name=x", "input]", "a[b='c]", "a, "])
def test_malformed_selectors_raise(bad: str) -> None:
    """Unbalanced brackets/quotes and empty items are errors."""
    with pytest.raises(SelectorSyntaxError):
        compile_selector(bad)


def test_a_list_whose_items_all_name_a_tag_rules_out_other_tags_but_not_unknown_ones() -> None:
    """``input[...]`` lists skip other elements at once; an upper-case tag name and an unknown
    tag (None: an attribute change on an untracked node) are still evaluated."""
    m = compile_selector("input[name=pin i], input[id*=passcode i]")
    assert m is not None
    assert m("INPUT", {"name": "PIN"}) and m(None, {"id": "my-passcode"})
    assert not m("div", {"name": "pin"}) and not m("input", {"name": "spinner"})
