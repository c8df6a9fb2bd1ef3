"""From a known value to its token: ``token_answers`` and the audited ``sessiontape token``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.audit import audit_records
from agent.errors import UsageError
from agent.mask.lookup import lookup_tokens, token_answers
from agent.mask.testing import build_masker, el, rr_input, rr_snapshot
from agent.mask.tokens import Tokenizer, hmac_key_path, load_or_create_hmac_key
from agent.testing import make_event
from tests.cli.clirun import run_main

ACCOUNT, SSN = "ACCT-4417-2290", "078-05-1120"


def _masked_token(value: str, field: str) -> str:
    """The token the masker stores when ``value`` is typed into an input named ``field``."""
    m = build_masker()
    m.mask_event(make_event("rrweb.full_snapshot", rr_snapshot(el(3, "input", {"name": field}))))
    out = m.mask_event(make_event("rrweb.input", rr_input(3, value)))
    return str(out.payload["data"]["text"])


def test_the_token_of_a_value_is_the_one_the_masker_stores_for_it() -> None:
    """The account and the SSN: one answer each (the pattern decides), equal to the token of
    the typed value in a recording, whatever the separators."""
    m = build_masker()
    for value, field, rule in ((ACCOUNT, "account", "account-number"), (SSN, "ssn", "ssn")):
        answers = token_answers(m.rules, m.strings.tokenizer, value)
        assert [(a.rule_id, a.mode) for a in answers] == [(rule, "tokenize")]
        assert answers[0].token == _masked_token(value, field)
    plain = token_answers(m.rules, m.strings.tokenizer, "078051120")
    assert plain[0].token == _masked_token(SSN, "ssn")


def test_redacted_escrowed_and_clear_values_say_so() -> None:
    """A card number is redacted (no token); a value no pattern knows lists the field rules'
    tokens and says it is otherwise in clear; an unknown rule is a usage error."""
    m = build_masker()
    card = token_answers(m.rules, m.strings.tokenizer, "4111 1111 1111 1111")
    assert [(a.rule_id, a.mode, a.token) for a in card] == [("builtin.card", "redact", None)]
    assert "redacted" in card[0].line()
    clear = token_answers(m.rules, m.strings.tokenizer, "AAPL")
    assert clear[-1].mode == "keep" and "in clear" in clear[-1].line()
    assert all(a.token for a in clear[:-1]) and "account-fields" in " ".join(
        a.rule_id for a in clear
    )
    with pytest.raises(UsageError, match="no masking rule 'nope'"):
        token_answers(m.rules, m.strings.tokenizer, "AAPL", "nope")
    with pytest.raises(UsageError, match="does not match"):
        token_answers(m.rules, m.strings.tokenizer, "AAPL", "ssn")


def test_an_escrow_rule_answers_with_reveal_not_a_token() -> None:
    """Under an escrow rule the answer has no token and points to reveal."""
    from agent.mask.escrow import generate_keypair

    _, pub = generate_keypair()
    m = build_masker(
        '[[rules]]\nid = "ref"\nkind = "selector"\nmode = "escrow"\nselector = "#ref"\n',
        escrow_public_key=pub,
    )
    (a,) = token_answers(m.rules, m.strings.tokenizer, "CR-77-QX12", "ref")
    assert a.token is None and "reveal" in a.line()


def test_a_failing_audit_means_no_token() -> None:
    """The audit record is written before the answer; if it fails, nothing is returned."""
    m = build_masker()

    def broken(rec: object) -> None:
        raise OSError("audit disk gone")

    with pytest.raises(OSError):
        lookup_tokens(m.rules, m.strings.tokenizer, ACCOUNT, audit=broken)


def test_token_cli_prints_the_token_and_audits_without_the_value(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``sessiontape token`` prints the token the home's key gives; an audit.token record
    (actor, rule, reason, token) is sealed; the value is in no file under the home."""
    key = load_or_create_hmac_key(hmac_key_path(home))
    expected = Tokenizer(key).token("44172290")
    rc, out, err = run_main(
        capsys, "--home", str(home), "token", ACCOUNT, "--reason", "inquiry 114"
    )
    assert rc == 0, err
    assert out.split()[0] == expected and "account-number" in out
    (rec,) = audit_records(home, "audit.token")
    assert (rec["rule"], rec["reason"], rec["tokens"], rec["via"]) == (
        "*",
        "inquiry 114",
        [expected],
        "token",
    )
    assert rec["actor"] and ACCOUNT not in json.dumps(rec) and "44172290" not in json.dumps(rec)
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert ACCOUNT.encode() not in data and b"44172290" not in data, path


def test_token_cli_without_a_masking_key_is_a_clear_error(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No key under the home: exit 2 naming the file, and no key is created."""
    rc, _, err = run_main(capsys, "--home", str(home), "token", ACCOUNT)
    assert rc == 2 and "no masking key" in err
    assert not hmac_key_path(home).exists()
