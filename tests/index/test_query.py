"""The query language: every operator, phrases, time zones, and clear errors."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.errors import UsageError
from agent.index.query import parse, parse_time


def _ns(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> int:
    return int(dt.datetime(y, mo, d, h, mi, tzinfo=dt.UTC).timestamp()) * 1_000_000_000


def test_free_words_and_quoted_phrases() -> None:
    """Bare words and "quoted phrases" are the text part, quoted for FTS5."""
    q = parse('cancel "Send (WS)" WS-000001 acc*')
    assert q.terms == ("cancel", "WS-000001", "acc*")
    assert q.phrases == ("Send (WS)",)
    assert q.fts_expr() == '"cancel" AND "WS-000001" AND "acc" * AND "Send (WS)"'
    assert q.has_event_filters


def test_every_operator() -> None:
    """user host url kind token session held from to, each parsed to its field."""
    q = parse(
        "user:trader1 user:alice host:Example.COM url:/api/orders kind:click "
        "kind:net.request token:tok_1b0291152bfb9d97 session:20261126T10 held:yes "
        "from:2026-11-26T10:00Z to:2026-11-26T11:00Z"
    )
    assert q.users == ("trader1", "alice") and q.hosts == ("example.com",)
    assert q.urls == ("/api/orders",) and q.kinds == ("click", "net.request")
    assert q.tokens == ("tok_1b0291152bfb9d97",) and q.sessions == ("20261126T10",)
    assert q.held is True
    assert (q.t_from, q.t_to) == (_ns(2026, 11, 26, 10), _ns(2026, 11, 26, 11))
    assert q.fts_expr() == 'url : "/api/orders"'


def test_field_scoped_token() -> None:
    """``account:tok_…`` is a token scoped to a field name."""
    q = parse("account:tok_1b0291152bfb9d97 Account_Number:esc_0011223344556677")
    assert q.field_tokens == (
        ("account", "tok_1b0291152bfb9d97"),
        ("account_number", "esc_0011223344556677"),
    )
    assert not q.has_text and q.has_event_filters


def test_session_only_query_has_no_event_filters() -> None:
    """user: + time alone ask for sessions, not events."""
    q = parse("user:trader1 from:2026-11-26 held:no")
    assert not q.has_event_filters and q.held is False


def test_quoted_operator_value() -> None:
    """An operator value may be quoted (with doubled quotes inside)."""
    q = parse('user:"jane doe" "say ""hi"""')
    assert q.users == ("jane doe",) and q.phrases == ('say "hi"',)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-26T10:00Z", _ns(2026, 11, 26, 10)),
        ("2026-11-26T10:00:30Z", _ns(2026, 11, 26, 10) + 30 * 10**9),
        ("2026-11-26T10:00+05:00", _ns(2026, 11, 26, 5)),
        ("2026-11-26T10:00-0330", _ns(2026, 11, 26, 13, 30)),
        ("2026-11-26T10:00[America/New_York]", _ns(2026, 11, 26, 15)),  # EST, UTC-5
        ("2026-07-01T10:00[America/New_York]", _ns(2026, 7, 1, 14)),  # EDT, UTC-4
        ("2026-11-26", _ns(2026, 11, 26)),
    ],
)
def test_times_utc_offsets_and_zones(value: str, expected: int) -> None:
    """UTC, numeric offsets and IANA zones (with DST) all become UTC ns."""
    assert parse_time(value) == expected


def test_to_a_bare_date_means_the_end_of_that_day() -> None:
    """``to:2026-11-26`` includes the whole day."""
    assert parse("to:2026-11-26").t_to == _ns(2026, 11, 27) - 1


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("foo:bar", "'foo:'"),
        ("from:2026-11-26T10:00", "no zone"),
        ("from:yesterday", "from:yesterday"),
        ("from:2026-11-26T10:00[Mars/Base]", "Mars/Base"),
        ("held:maybe", "held:maybe"),
        ("kind:nonsense", "kind:nonsense"),
        ("token:ACCT-4417-2290", "token:ACCT-4417-2290"),
        ('"unbalanced', "unbalanced quote"),
        ("user:", "user:"),
        ("*", "'*'"),
        ("from:2026-11-26T11:00Z to:2026-11-26T10:00Z", "before"),
        ("from:2026-11-26 from:2026-11-27", "at most once"),
        ("from:2026-01-01T00:00+99:99", "bad UTC offset '+99:99'"),
        ("from:2026-01-01T00:00+24:00", "bad UTC offset '+24:00'"),
        ("from:0001-01-01T00:00+05:00", "'from:0001-01-01T00:00+05:00' is outside"),
        ("from:9999-12-31T23:59-05:00", "'from:9999-12-31T23:59-05:00' is outside"),
        ("to:1600-01-01T00:00[Europe/Paris]", "'to:1600-01-01T00:00[Europe/Paris]' is outside"),
    ],
)
def test_bad_syntax_is_a_usage_error_naming_the_item(query: str, names: str) -> None:
    """Each mistake raises UsageError whose message names the offending item."""
    with pytest.raises(UsageError) as info:
        parse(query)
    assert names in info.value.message


def test_value_operator_keeps_the_clear_value_for_resolution_and_hides_it_for_audit() -> None:
    """``value:"…"`` is parsed into ``values`` (not text, not tokens); ``hide_values`` puts
    what the audit may show in its place and leaves other items alone."""
    from agent.index.query import hide_values

    q = parse('value:"ACCT-4417-2290" value:AAPL kind:click')
    assert q.values == ("ACCT-4417-2290", "AAPL") and not q.tokens and not q.has_text
    assert q.has_event_filters
    shown = hide_values('value:"ACCT-4417-2290" kind:click value:AAPL', lambda v: f"<{len(v)}>")
    assert shown == "value:<14> kind:click value:<4>"
