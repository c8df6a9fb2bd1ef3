"""Loading and validating masking.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agent.errors import MaskError
from agent.mask.builtin import BUILTIN_RULES
from agent.mask.rules import default_rules_path, load_rules_file


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "masking.toml"
    p.write_text("version = 1\n" + body, encoding="utf-8")
    return p


def test_shipped_rules_load_and_every_key_is_commented() -> None:
    """config/masking.toml validates, and each top-level/defaults/escrow key has a comment."""
    f = load_rules_file()
    assert {r.id for r in f.rules} >= {"ssn", "iban", "account-number", "credential-headers"}
    lines = default_rules_path().read_text(encoding="utf-8").splitlines()
    data = tomllib.loads("\n".join(lines))
    for section in ("defaults", "escrow"):
        for key in data[section]:
            i = next(n for n, line in enumerate(lines) if line.startswith(f"{key} ="))
            assert lines[i - 1].lstrip().startswith("#"), f"{section}.{key} lacks a comment"


def test_bad_regex_names_file_rule_and_key(tmp_path: Path) -> None:
    """A regex that does not compile is a MaskError naming the file, rule and key."""
    p = _write(
        tmp_path,
        '[[rules]]\nid = "acct"\nkind = "pattern"\nmode = "tokenize"\nregex = "(unclosed"\n',
    )
    with pytest.raises(MaskError) as exc:
        load_rules_file(p)
    msg = exc.value.message
    assert str(p) in msg and "rules[0]" in msg and "acct" in msg and "regex" in msg


def test_unknown_mode_is_rejected(tmp_path: Path) -> None:
    """mode must be redact, tokenize, escrow or keep."""
    p = _write(tmp_path, '[[rules]]\nid = "h"\nkind = "header"\nmode = "hash"\nnames = ["x"]\n')
    with pytest.raises(MaskError, match=r"rules\[0\].*mode"):
        load_rules_file(p)


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    """An unknown key in a rule or a section is named."""
    p = _write(
        tmp_path,
        '[[rules]]\nid = "h"\nkind = "header"\nmode = "redact"\nnames = ["x"]\ncolour = "red"\n',
    )
    with pytest.raises(MaskError, match=r"colour: unknown key"):
        load_rules_file(p)
    p = _write(tmp_path, "[defaults]\ninput_mod = 'redact'\n")
    with pytest.raises(MaskError, match=r"defaults.input_mod: unknown key"):
        load_rules_file(p)


def test_unknown_rule_kind_is_rejected(tmp_path: Path) -> None:
    """kind must be one of the rule sources."""
    p = _write(tmp_path, '[[rules]]\nid = "h"\nkind = "cookie"\nmode = "redact"\n')
    with pytest.raises(MaskError, match="cookie"):
        load_rules_file(p)


def test_escrow_rule_without_public_key_is_rejected(tmp_path: Path) -> None:
    """An escrow rule needs [escrow] public_key."""
    p = _write(
        tmp_path, '[[rules]]\nid = "n"\nkind = "selector"\nmode = "escrow"\nselector = "#notes"\n'
    )
    with pytest.raises(MaskError, match="escrow needs"):
        load_rules_file(p)


def test_builtin_ids_are_reserved_and_ids_unique(tmp_path: Path) -> None:
    """Rules cannot reuse builtin.* ids or duplicate ids."""
    p = _write(
        tmp_path,
        '[[rules]]\nid = "builtin.password"\nkind = "input_type"\n'
        'mode = "keep"\ntypes = ["password"]\n',
    )
    with pytest.raises(MaskError, match="reserved"):
        load_rules_file(p)
    rule = '[[rules]]\nid = "a"\nkind = "header"\nmode = "redact"\nnames = ["x"]\n'
    with pytest.raises(MaskError, match="duplicate"):
        load_rules_file(_write(tmp_path, rule + rule))


def test_keep_mode_only_for_element_rules(tmp_path: Path) -> None:
    """keep on a header rule would disable masking of headers: refused."""
    p = _write(tmp_path, '[[rules]]\nid = "h"\nkind = "header"\nmode = "keep"\nnames = ["*"]\n')
    with pytest.raises(MaskError, match="keep"):
        load_rules_file(p)


def test_bad_selector_and_json_path_are_rejected(tmp_path: Path) -> None:
    """Malformed CSS and JSON paths fail at load."""
    with pytest.raises(MaskError, match="selector"):
        load_rules_file(
            _write(
                tmp_path,
                '[[rules]]\nid = "s"\nkind = "selector"\n'
                'mode = "redact"\nselector = "input[name=x"\n',
            )
        )
    with pytest.raises(MaskError, match="JSON path"):
        load_rules_file(
            _write(
                tmp_path,
                '[[rules]]\nid = "j"\nkind = "json_path"\nmode = "redact"\npaths = ["a.b"]\n',
            )
        )


def test_missing_file_and_bad_toml_are_mask_errors(tmp_path: Path) -> None:
    """The file must exist and parse."""
    with pytest.raises(MaskError, match="not found"):
        load_rules_file(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("version = = 1", encoding="utf-8")
    with pytest.raises(MaskError, match="not valid TOML"):
        load_rules_file(bad)
    with pytest.raises(MaskError, match="masking rules file is a directory, not a file"):
        load_rules_file(tmp_path)


def test_password_and_card_builtins_are_redact() -> None:
    """The floor: password inputs, cc-* autocomplete and Luhn cards redact."""
    modes = {r.id: r.mode for r in BUILTIN_RULES}
    assert modes["builtin.password"] == "redact"
    assert modes["builtin.card"] == "redact"
    assert modes["builtin.cc-autocomplete"] == "redact"


def test_shipped_rules_redact_pin_inputs_that_are_not_password_fields() -> None:
    """A text input named or id'd pin/pincode is redacted (a 4-digit token is enumerable with
    the HMAC key); names that merely contain the letters (shipping, spinner) are not."""
    from agent.mask.rules import REDACT
    from agent.mask.testing import build_masker

    rules = build_masker().rules
    for attrs in ({"name": "PIN"}, {"id": "pin"}, {"name": "pincode", "type": "text"}):
        hit = rules.element_hit("input", attrs)
        assert hit is not None and (hit.rule_id, hit.strength) == (
            "builtin.pin-otp-fields",
            REDACT,
        ), attrs
    for attrs in ({"name": "shipping"}, {"id": "spinner"}):
        hit = rules.element_hit("input", attrs)
        assert hit is None or hit.rule_id != "builtin.pin-otp-fields", attrs
