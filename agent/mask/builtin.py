"""The built-in masking floor: rules added to every rules file, which no file can remove.

Passwords, PINs, passcodes, one-time codes and payment cards (numbers and security codes)
are redacted wherever a field, a name or a pattern identifies them: a token of a 4-digit PIN
or a 6-digit code is enumerable with the HMAC key, and a card number must not be kept at all.
Ids start with ``builtin.``; a rules file may not use that prefix.
"""

from __future__ import annotations

from agent.mask.patterns import CARD_REGEX
from agent.mask.rules import (
    AttributeRule,
    FormFieldRule,
    InputTypeRule,
    JsonPathRule,
    PatternRule,
    QueryParamRule,
    SelectorRule,
    WsPathRule,
    _Rule,
)

PASSWORD_NAMES = [
    "*password*",
    "*passwd*",
    "pwd",
    "*passphrase*",
    "*passcode*",
    "pin",
    "pincode",
    "pinnumber",
]
CARD_NAMES = [
    "*cardnumber*",
    "*card_number*",
    "*card-number*",
    "cc",
    "ccnum",
    "cc_num*",
    "cc-num*",
    "pan",
    "cvv",
    "cvv2",
    "cvc",
    "cvc2",
    "csc",
    "*card_cvv*",
    "*card_cvc*",
    "*securitycode*",
    "*security_code*",
]
# One-time codes (compared folded: case, "_" and "-" ignored).
OTP_NAMES = [
    "otp",
    "*otpcode*",
    "totp",
    "*onetimecode*",
    "*onetimepassword*",
    "*verificationcode*",
    "mfacode",
    "2fa*",
    "*twofactor*",
]
_FLOOR = PASSWORD_NAMES + CARD_NAMES + OTP_NAMES


def _field_selector(exact: list[str], contains: list[str]) -> str:
    """Inputs whose name or id is one of ``exact`` or contains one of ``contains``. Values are
    quoted: ``2fa`` is not a CSS identifier, and the browser refuses it unquoted."""
    parts = [f'input[{a}="{n}" i]' for n in exact for a in ("name", "id")]
    parts += [f'input[{a}*="{n}" i]' for n in contains for a in ("name", "id")]
    return ", ".join(parts)


PIN_OTP_SELECTOR = (
    _field_selector(
        ["pin", "otp", "totp", "mfa_code", "2fa", "2fa_code"],
        [
            "pincode",
            "pin_code",
            "pin-code",
            "passcode",
            "one-time",
            "onetime",
            "one_time",
            "otp_code",
            "otp-code",
            "verification_code",
            "verification-code",
            "verificationcode",
        ],
    )
    + ', input[aria-label*="one-time" i], input[aria-label*="passcode" i]'
    + ', input[aria-label*="verification code" i]'
)
CARD_FIELD_SELECTOR = _field_selector(
    ["cc", "ccnum", "pan", "cvv", "cvv2", "cvc", "cvc2", "csc"],
    [
        "cardnumber",
        "card_number",
        "card-number",
        "card_cvv",
        "card_cvc",
        "securitycode",
        "security_code",
        "security-code",
    ],
)

BUILTIN_RULES: tuple[_Rule, ...] = (
    InputTypeRule(
        id="builtin.password",
        kind="input_type",
        types=["password"],
        mode="redact",
        description="Password inputs are always redacted.",
    ),
    AttributeRule(
        id="builtin.password-autocomplete",
        kind="attribute",
        name="autocomplete",
        values=["*password*", "one-time-code"],
        mode="redact",
        description="Fields the page marks as passwords are always redacted.",
    ),
    SelectorRule(
        id="builtin.pin-otp-fields",
        kind="selector",
        selector=PIN_OTP_SELECTOR,
        mode="redact",
        description="PIN, passcode and one-time-code inputs are always redacted (10^4-10^6 "
        "values: a token would be enumerable with the HMAC key).",
    ),
    SelectorRule(
        id="builtin.card-fields",
        kind="selector",
        selector=CARD_FIELD_SELECTOR,
        mode="redact",
        description="Inputs named for card numbers and security codes are always redacted.",
    ),
    AttributeRule(
        id="builtin.cc-autocomplete",
        kind="attribute",
        name="autocomplete",
        values=["cc-*"],
        mode="redact",
        description="Payment-card fields (autocomplete=cc-*) are always redacted.",
    ),
    PatternRule(
        id="builtin.card",
        kind="pattern",
        regex=CARD_REGEX,
        check="luhn",
        normalize="digits",
        mode="redact",
        description="Card numbers (Luhn-valid) are always redacted.",
    ),
    FormFieldRule(
        id="builtin.secret-form-fields",
        kind="form_field",
        names=_FLOOR,
        mode="redact",
        description="Password/PIN/one-time-code/card form fields are always redacted.",
    ),
    QueryParamRule(
        id="builtin.secret-query",
        kind="query_param",
        names=_FLOOR,
        mode="redact",
        description="Password/PIN/one-time-code/card query parameters are always redacted.",
    ),
    JsonPathRule(
        id="builtin.secret-json",
        kind="json_path",
        paths=[f"$..{n}" for n in _FLOOR],
        mode="redact",
        description="Password/PIN/one-time-code/card JSON fields are always redacted.",
    ),
    WsPathRule(
        id="builtin.secret-ws",
        kind="ws_path",
        paths=[f"$..{n}" for n in _FLOOR],
        mode="redact",
        description="Password/PIN/one-time-code/card WebSocket fields are always redacted.",
    ),
)
