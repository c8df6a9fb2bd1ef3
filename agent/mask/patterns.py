"""Value checks and normalisers used by pattern rules (Luhn, IBAN mod-97, ABA, SSN, cards).

A pattern rule finds candidates with a regex; a *check* then confirms the candidate (so a
16-digit order id that fails Luhn is not a card), and a *normaliser* turns the value into the
canonical form that is tokenized, so ``078-05-1120`` and ``078051120`` give the same token.
"""

from __future__ import annotations

from collections.abc import Callable

# US SSN: area 001-899 except 666, group 01-99, serial 0001-9999; consistent separators
# (dash, space) or none. Written without back-references so it can join a union prefilter.
SSN_REGEX = (
    r"(?<![\w-])(?!000|666|9\d\d)\d{3}"
    r"(?:-(?!00)\d{2}-(?!0000)\d{4}|\s(?!00)\d{2}\s(?!0000)\d{4}|(?!00)\d{2}(?!0000)\d{4})"
    r"(?![\w-])"
)
# Payment card numbers: 13-19 digits, optional single space/dash separators, first digit 2-6
# (Mastercard 2-series and 5, Amex 3, Visa 4, Discover/UnionPay 6); confirmed by Luhn.
CARD_REGEX = r"(?<![\w-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\w-])"
# IBAN: country code, two check digits, 11-30 alphanumerics (optionally grouped by spaces);
# confirmed by the ISO 13616 mod-97 check.
IBAN_REGEX = r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])"


def luhn_ok(value: str) -> bool:
    """True when the digits of ``value`` (13-19 of them) pass the Luhn check."""
    digits = [ord(c) - 48 for c in value if "0" <= c <= "9"]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(value: str) -> bool:
    """True when ``value`` (spaces ignored) is an IBAN passing the mod-97 check (ISO 13616)."""
    s = "".join(value.split()).upper()
    if not 15 <= len(s) <= 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    if not s.isalnum() or not s.isascii():
        return False
    moved = s[4:] + s[:4]
    num = "".join(str(int(c, 36)) for c in moved)
    return int(num) % 97 == 1


def aba_ok(value: str) -> bool:
    """True when ``value`` holds exactly 9 digits passing the ABA routing-number checksum
    (3, 7, 1 weights: 3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) is a multiple of 10)."""
    d = [ord(c) - 48 for c in value if "0" <= c <= "9"]
    if len(d) != 9:
        return False
    total = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]
    return total % 10 == 0


def _always(_: str) -> bool:
    return True


CHECKS: dict[str, Callable[[str], bool]] = {
    "none": _always,
    "luhn": luhn_ok,
    "mod97": iban_ok,
    "aba": aba_ok,
}


def _norm_none(v: str) -> str:
    return v


def _norm_trim(v: str) -> str:
    return v.strip()


def _norm_digits(v: str) -> str:
    digits = "".join(c for c in v if c.isdigit())
    return digits or v.strip()


def _norm_alnum_upper(v: str) -> str:
    out = "".join(c for c in v if c.isalnum()).upper()
    return out or v.strip()


def _norm_casefold(v: str) -> str:
    return v.strip().casefold()


NORMALIZERS: dict[str, Callable[[str], str]] = {
    "none": _norm_none,
    "trim": _norm_trim,
    "digits": _norm_digits,
    "alnum_upper": _norm_alnum_upper,
    "casefold": _norm_casefold,
}
