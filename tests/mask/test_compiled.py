"""The compiled rule set: the cheap "could a field rule apply to this text" check."""

from __future__ import annotations

from agent.mask.compiled import fold
from agent.mask.testing import build_masker


def test_mentions_field_finds_every_field_name_the_folded_search_finds() -> None:
    """The ASCII fast path (bytes no rule name contains are deleted first) says "yes"
    wherever searching the case- and separator-folded text does; a price feed is a "no"."""
    rules = build_masker().rules
    texts = [
        '{"X-Api-Key": 1}',
        "CVC2=123",
        "2FA_code: 9",
        "p_a_s_s_w_o_r_d",
        "p-i-n 1234",
        '[[1, 2, "3.00"], {"SSN": "x"}]',
        "a=1&Session=2",
        '{"type": "tick", "tick": 57, "t": 1796573356524, "cells": [[43, 2, "187.25"]]}',
        "Passwörter: 1",  # not ASCII: the folded search itself
        "",
    ]
    for text in texts:
        folded = fold(text)
        expected = any(c in folded for c in rules.name_cores)
        assert rules.mentions_field(text) is expected, text
    assert not rules.mentions_field(texts[7])
    assert all(rules.mentions_field(t) for t in texts[:7])
