"""Payload values → search text and tokens."""

from __future__ import annotations

from agent.index.text import flatten, parse_body, strip_tokens, tokens_in, url_tokens


def test_parse_body_and_strip_tokens() -> None:
    """Form bodies keep parameter names as token fields; markers never reach the text."""
    text, toks = parse_body(
        "username=trader1&password=%5Bredacted%5D&acct=tok_1b0291152bfb9d97", 100
    )
    assert "trader1" in text and "redacted" not in text and "tok_" not in text
    assert toks == [("tok_1b0291152bfb9d97", "acct")]
    assert strip_tokens("wire to tok_1b0291152bfb9d97 [redacted] now") == "wire to now"


def test_json_tokens_keep_their_key_and_text_drops_them() -> None:
    """Nested JSON: every token with its key; the flattened text has words only."""
    obj = {
        "order": {"account": "tok_1b0291152bfb9d97", "legs": [{"ssn": "esc_0011223344556677"}]},
        "note": "ok",
    }
    assert sorted(tokens_in(obj)) == [
        ("esc_0011223344556677", "ssn"),
        ("tok_1b0291152bfb9d97", "account"),
    ]
    assert flatten(obj, 100) == "order account legs ssn note ok"


def test_url_query_tokens_by_parameter() -> None:
    """A token in a query string is scoped to its parameter name."""
    url = "http://h/confirm?symbol=AAPL&account=tok_3035a77b5240ae55&order=BIG-2"
    assert url_tokens(url) == [("tok_3035a77b5240ae55", "account")]
    assert url_tokens("http://h/x") == []
