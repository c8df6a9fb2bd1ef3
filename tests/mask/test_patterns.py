"""Value checks (Luhn, IBAN mod-97) and normalisers."""

from __future__ import annotations

import re

from agent.mask.patterns import CARD_REGEX, IBAN_REGEX, NORMALIZERS, SSN_REGEX, iban_ok, luhn_ok


def test_luhn_accepts_valid_card_numbers_with_separators() -> None:
    """Visa/Amex test numbers pass Luhn whatever the grouping."""
    assert luhn_ok("4111 1111 1111 1111")
    assert luhn_ok("4111-1111-1111-1111")
    assert luhn_ok("378282246310005")


def test_luhn_rejects_one_changed_digit_and_bad_lengths() -> None:
    """A single changed digit, or fewer than 13 digits, fails."""
    assert not luhn_ok("4111 1111 1111 1112")
    assert not luhn_ok("411111111111")  # 12 digits
    assert not luhn_ok("41111111111111111111")  # 20 digits


def test_iban_mod97_accepts_valid_and_rejects_altered() -> None:
    """GB82 WEST 1234 5698 7654 32 is valid; changing a digit or the check digits fails."""
    assert iban_ok("GB82 WEST 1234 5698 7654 32")
    assert iban_ok("DE89370400440532013000")
    assert not iban_ok("GB82 WEST 1234 5698 7654 33")
    assert not iban_ok("GB83WEST12345698765432")
    assert not iban_ok("GB82")


def test_ssn_regex_matches_three_formats_and_skips_invalid_areas() -> None:
    """078-05-1120, 078 05 1120 and 078051120 match; 000-, 666- and 9xx- areas do not."""
    rx = re.compile(SSN_REGEX)
    for ok in ("078-05-1120", "078 05 1120", "078051120", "SSN: 078-05-1120."):
        assert rx.search(ok), ok
    for bad in (
        "000-12-3456",
        "666-12-3456",
        "912-12-3456",
        "078-00-1120",
        "078-05-0000",
        "1078-05-1120",
        "078-05-11201",
        "078-05 1120",
    ):
        assert not rx.search(bad), bad


def test_card_regex_needs_a_card_shape() -> None:
    """Card candidates start with 2-6 and have 13-19 digits; epoch-ms timestamps do not match."""
    rx = re.compile(CARD_REGEX)
    card = rx.search("card 4111 1111 1111 1111 on file")
    assert card is not None and card.group(0) == "4111 1111 1111 1111"
    assert not rx.search("ts 1767225600000")


def test_iban_regex_finds_grouped_iban_in_text() -> None:
    """An IBAN in prose is found with its spaces."""
    m = re.compile(IBAN_REGEX).search("pay to GB82 WEST 1234 5698 7654 32 today")
    assert m is not None and m.group(0) == "GB82 WEST 1234 5698 7654 32"


def test_normalisers_make_formats_equal() -> None:
    """Digits-only, alnum-upper and casefold normalisation."""
    assert NORMALIZERS["digits"]("078-05-1120") == NORMALIZERS["digits"]("078 05 1120")
    assert NORMALIZERS["alnum_upper"]("gb82 west 1234") == "GB82WEST1234"
    assert NORMALIZERS["casefold"]("  Jane@Example.COM ") == "jane@example.com"
    assert NORMALIZERS["trim"]("  x ") == "x"
