"""mask test's analysis: element, control, pattern and request-field hits, masked previews."""

from __future__ import annotations

from agent.mask.probe import KEPT, analyze, render
from agent.mask.testing import build_masker


def test_analyze_reports_hits_per_source_with_masked_previews_only() -> None:
    """Hits for an element rule, a default-mode control (kept in clear: shown as such, not
    printed), a pattern, a query parameter, a header and a JSON body field; no clear value in
    the report."""
    m = build_masker()
    collected = {
        "elements": [
            {
                "rule": "builtin.password",
                "selector": "input#pw",
                "tag": "input",
                "value": "hunter2",
                "text": "",
            },
            {"rule": "x", "error": "SyntaxError: bad selector"},
        ],
        "controls": [
            {"selector": "input#q", "tag": "input", "type": "text", "value": "AAPL", "rules": []},
            {"selector": "input#go", "tag": "input", "type": "submit", "value": "Go", "rules": []},
        ],
        "items": [{"selector": "p#s", "where": "text", "value": "SSN 078-05-1120"}],
    }
    requests = [
        {
            "url": "https://x.test/api?token=abc",
            "headers": {"Authorization": "B x"},
            "post_data": '{"user": {"password": "p4ss"}}',
        }
    ]
    report = analyze(m, "https://x.test/", collected, requests)
    got = {(h.rule, h.source) for h in report.hits}
    assert got == {
        ("builtin.password", "element"),
        ("default.input", "control"),
        ("ssn", "pattern"),
        ("credential-query", "query_param"),
        ("credential-headers", "header"),
        ("builtin.secret-json", "json_path"),
    }
    assert report.errors == ["rule x: selector rejected by the browser: SyntaxError: bad selector"]
    text = render(report) + report.as_json()
    for secret in ("hunter2", "AAPL", "078-05-1120", "token=abc", "B x", "p4ss"):
        assert secret not in text, secret
    (control,) = [h for h in report.hits if h.rule == "default.input"]
    assert control.preview == KEPT


def test_analyze_with_a_tokenizing_default_shows_the_control_token() -> None:
    """A firm that tightens input_mode to tokenize sees the token mask test predicts."""
    m = build_masker('[defaults]\ninput_mode = "tokenize"\n')
    collected = {
        "controls": [
            {"selector": "input#q", "tag": "input", "type": "text", "value": "AAPL", "rules": []}
        ]
    }
    (control,) = analyze(m, "https://x.test/", collected, []).hits
    assert control.preview == m.strings.tokenizer.token("AAPL")
