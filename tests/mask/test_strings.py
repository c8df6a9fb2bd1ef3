"""Single values: redaction, sentinels, patterns in text, URLs."""

from __future__ import annotations

import re

from agent.mask.strings import MARKER
from agent.mask.testing import build_masker

TOK = re.compile(r"^tok_[0-9a-f]{16}$")


def test_redact_is_fixed_width_whatever_the_length() -> None:
    """Every redacted value becomes the same marker: no length leak."""
    m = build_masker()
    hit = m.rules.hits["builtin.password"]
    outs = [m.strings.apply(v, hit) for v in ("a", "hunter2", "x" * 500)]
    assert {out[0] for out in outs if out is not None} == {MARKER} and None not in outs


def test_tokenize_sentinel_is_replaced_by_token() -> None:
    """The recorder's sentinel becomes tok_..., surrounding text kept."""
    m = build_masker()
    out = m.strings.scan("acct: \x01stm:tokenize:account-fields\x02ACCT-4417-2290\x03!")
    assert out is not None
    assert re.fullmatch(r"acct: tok_[0-9a-f]{16}!", out[0])
    assert out[1] == () and "4417" not in out[0]


def test_sentinel_card_value_is_redacted_not_tokenized() -> None:
    """A card inside a tokenize sentinel is still redacted (cards always are)."""
    m = build_masker()
    out = m.strings.scan("\x01stm:tokenize:default\x024111 1111 1111 1111\x03")
    assert out is not None and out[0] == MARKER


def test_malformed_sentinels_fail_closed_without_value() -> None:
    """Unterminated, nested, unknown-mode or stray markers: the whole string is redacted and
    a failure is reported with the rule id and error class only."""
    m = build_masker()
    cases = [
        "\x01stm:tokenize:r1\x02078-05-1120",  # no terminator
        "\x01stm:tokenize:r1\x02a\x01b\x03",  # nested start
        "\x01stm:hash:r1\x02secret\x03",  # unknown mode
        "secret\x03",  # stray terminator
        "\x01stm:keep:r1\x02secret\x03",  # keep is not a sentinel mode
    ]
    for s in cases:
        out = m.strings.scan(s)
        assert out is not None, repr(s)
        assert out[0] == MARKER, repr(s)
        assert len(out[1]) == 1 and out[1][0][1] == "MalformedSentinel", repr(s)
        assert all("secret" not in part and "1120" not in part for f in out[1] for part in f)


def test_escrow_sentinel_without_escrow_key_redacts_and_reports() -> None:
    """No officer key configured: escrow falls back to redaction with NoEscrowKey."""
    m = build_masker()
    out = m.strings.scan("\x01stm:escrow:notes\x02wire 250k\x03")
    assert out is not None and out[0] == MARKER and out[1] == (("notes", "NoEscrowKey"),)


def test_patterns_in_free_text() -> None:
    """SSN tokenized, Luhn card redacted, IBAN tokenized, account number tokenized."""
    m = build_masker()
    out = m.strings.scan(
        "SSN 078-05-1120 card 4111 1111 1111 1111 iban GB82 WEST 1234 5698 "
        "7654 32 acct ACCT-4417-2290"
    )
    assert out is not None
    words = out[0]
    assert "078-05-1120" not in words and "4111" not in words and "WEST" not in words
    assert "4417" not in words and "[redacted]" in words and words.count("tok_") == 3


def test_luhn_invalid_digits_are_not_redacted() -> None:
    """16 digits failing Luhn (an order id) stay."""
    m = build_masker()
    assert m.strings.scan("order 4111111111111112") is None


def test_url_encoded_secret_in_text_is_found() -> None:
    """A card hidden by URL encoding inside free text is redacted."""
    m = build_masker()
    out = m.strings.scan("GET /pay?c=4111%201111%201111%201111 failed")
    assert out is not None and "4111" not in out[0]


def test_url_query_userinfo_path_and_fragment() -> None:
    """Credential params redacted, identity params tokenized, SSN in path and fragment found,
    URL password redacted; other params untouched."""
    m = build_masker()
    out = m.strings.url(
        "https://u:pw@x.test/clients/078-05-1120?token=abc&q=hello&acct=12345678#/c?access_token=zz"
    )
    assert out is not None
    url = out[0]
    assert ":pw@" not in url and "078-05-1120" not in url and "token=abc" not in url
    assert "access_token=zz" not in url and "q=hello" in url and "acct=tok_" in url


def test_url_without_anything_sensitive_is_unchanged() -> None:
    """The common case returns None (no copy)."""
    m = build_masker()
    assert m.strings.url("https://x.test/app?page=2") is None


def test_email_normalised_before_tokenizing() -> None:
    """E-mail fields tokenize case-insensitively."""
    m = build_masker()
    hit = m.rules.hits["email-inputs"]
    a, b = m.strings.apply("Jane@X.test", hit), m.strings.apply(" jane@x.TEST", hit)
    assert a is not None and b is not None and a[0] == b[0] and TOK.match(a[0])
