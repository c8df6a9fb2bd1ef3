"""The audited search: ``value:"..."`` items resolved to tokens (or phrases), audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.audit import audit_records
from agent.config import Config
from agent.errors import UsageError
from agent.index.indexer import index_new_segments
from agent.index.search import search
from agent.mask.tokens import Tokenizer, hmac_key_path, load_or_create_hmac_key
from agent.testing import FakeClock
from tests.index.backends import BACKEND_NAMES, config_for
from tests.journals import write_scripted_session


@pytest.fixture(params=BACKEND_NAMES)
def cfg(request: pytest.FixtureRequest, cfg: Config) -> Config:
    """Each test runs on both index backends."""
    return config_for(request, cfg, request.param)


ACCOUNT = "ACCT-4417-2290"


def _session(home: Path, cfg: Config, clock: FakeClock) -> tuple[str, str]:
    """A session whose lookup request carries the account's token (as masking writes it) and
    whose order request carries a symbol in clear; (session id, account token)."""
    token = Tokenizer(load_or_create_hmac_key(hmac_key_path(home))).token("44172290")
    events = [
        (
            "net.request",
            {"url": f"http://demo.test/api/lookup?account={token}", "method": "POST"},
            "F",
        ),
        (
            "net.request",
            {"url": "http://demo.test/api/orders?symbol=AAPL&quantity=250", "method": "POST"},
            "F",
        ),
    ]
    sid = write_scripted_session(home, cfg, clock, [events]).session_id
    index_new_segments(home, cfg)
    return sid, token


def test_value_search_finds_the_tokenized_account_and_audits_only_its_token(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """``value:"ACCT-4417-2290"`` finds the event holding its token; the audit.token and
    audit.search records name the token, never the value."""
    sid, token = _session(home, cfg, clock)
    hits = search(home, cfg, f'value:"{ACCOUNT}"')
    assert [(h.session_id, h.action) for h in hits] == [(sid, "request")]
    assert token in hits[0].url
    (tok_rec,) = audit_records(home, "audit.token")
    assert tok_rec["tokens"] == [token] and tok_rec["via"] == "search"
    (search_rec,) = audit_records(home, "audit.search")
    assert search_rec["query"] == f"value:({token})" and search_rec["result_count"] == 1
    assert ACCOUNT not in json.dumps([tok_rec, search_rec])


def test_value_search_for_a_clear_value_is_a_phrase(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """A value kept in clear (a symbol) is found as a phrase."""
    _session(home, cfg, clock)
    hits = search(home, cfg, 'value:"AAPL"')
    assert [h.url for h in hits] == ["http://demo.test/api/orders?symbol=AAPL&quantity=250"]


def test_value_search_for_a_redacted_value_and_unknown_operators_are_usage_errors(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """A card number is never recorded (redacted): searching it says so; ``account:`` with a
    clear value is still an unknown operator, and the message points to ``value:``."""
    _session(home, cfg, clock)
    with pytest.raises(UsageError, match="redacted"):
        search(home, cfg, 'value:"4111 1111 1111 1111"')
    with pytest.raises(UsageError, match=r"unknown operator 'account:'.*value:"):
        search(home, cfg, f"account:{ACCOUNT}")


def test_query_as_recorded_shows_tokens_in_place_of_values(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """What an export's custody record keeps of a value: query (its token), without writing
    another audit record."""
    from agent.index.search import query_as_recorded

    _, token = _session(home, cfg, clock)
    shown = query_as_recorded(home, cfg, f'kind:request value:"{ACCOUNT}"')
    assert shown == f"kind:request value:({token})"
    assert query_as_recorded(home, cfg, "AAPL kind:request") == "AAPL kind:request"
    assert audit_records(home, "audit.token") == []
