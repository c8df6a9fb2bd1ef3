"""Allowlist patterns and matching: one test per normalisation trick, and every refusal."""

from __future__ import annotations

import pytest

from agent.errors import ConfigError
from agent.kiosk.allowlist import Allowlist, parse_pattern
from agent.kiosk.urls import parse_net_url

ALLOW = Allowlist(
    [
        "https://bank.example",
        "https://*.cdn.example",
        "http://127.0.0.1:*/app",
        "https://bücher.example",
        "https://[::1]:8443",
    ]
)


def _top(url: str) -> bool:
    return ALLOW.decide(url, "top").allowed


def test_userinfo_never_names_the_host() -> None:
    """``https://bank.example@evil.example`` goes to evil.example: refused; the reverse is
    allowed, and so is a backslash, which a URL parser reads as a path separator."""
    assert not _top("https://bank.example@evil.example/")
    assert not _top("https://bank.example:443@evil.example/")
    assert _top("https://evil.example@bank.example/")
    assert _top("https://bank.example\\@evil.example/")
    assert parse_net_url("https://bank.example\\@evil.example/").host == "bank.example"  # type: ignore[union-attr]


def test_case_trailing_dot_and_percent_encoded_host() -> None:
    assert _top("HTTPS://BANK.Example/x")
    assert _top("https://bank.example./x")
    assert _top("https://%62ank.example/")
    assert not _top("https://bank.example.evil.example/")
    assert not _top("https://bank.example..")


def test_default_and_zero_padded_ports() -> None:
    assert _top("https://bank.example:443/")
    assert _top("https://bank.example:0443/")
    assert not _top("https://bank.example:8443/")
    assert not _top("https://bank.example:99999/")


def test_scheme_must_match_exactly() -> None:
    assert not _top("http://bank.example/")
    assert not _top("ftp://bank.example/")


def test_idna_unicode_and_punycode_are_one_host() -> None:
    assert _top("https://BÜCHER.example/")
    assert _top("https://xn--bcher-kva.example/")
    assert not _top("https://bucher.example/")


def test_ipv4_spellings_are_one_address() -> None:
    """Decimal, hex, octal and short IPv4 forms all reach 127.0.0.1."""
    for host in ("127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.1", "127.1"):
        assert _top(f"http://{host}:8080/app/x"), host
    assert not _top("http://127.0.0.2:8080/app")
    assert parse_net_url("http://1.2.3.256/") is None


def test_ipv6_literal() -> None:
    assert _top("https://[::1]:8443/")
    assert not _top("https://[::2]:8443/")


def test_subdomain_wildcard_excludes_the_parent_and_lookalikes() -> None:
    assert _top("https://a.cdn.example/x.js")
    assert _top("https://a.b.cdn.example/")
    assert not _top("https://cdn.example/")
    assert not _top("https://evilcdn.example/")
    assert not _top("https://cdn.example.evil.example/")


def test_path_prefix_matches_whole_segments_after_normalisation() -> None:
    assert _top("http://127.0.0.1:1/app")
    assert _top("http://127.0.0.1:1/app/")
    assert _top("http://127.0.0.1:1/app/deep?q=1#f")
    assert not _top("http://127.0.0.1:1/apples")
    assert not _top("http://127.0.0.1:1/app/../admin")
    assert not _top("http://127.0.0.1:1/app/%2e%2e/admin")
    assert not _top("http://127.0.0.1:1/app/%2E%2e/admin")
    assert _top("http://127.0.0.1:1/%61pp/x")  # %61 is "a"


def test_control_characters_and_tabs_inside_a_url() -> None:
    """WHATWG drops tabs and newlines anywhere; a host with other controls is refused."""
    assert _top("https://bank.exa\tmple/")
    assert not _top("https://bank.example%00.evil/")


def test_non_http_schemes_per_scope() -> None:
    assert ALLOW.decide("about:blank", "top").allowed
    assert ALLOW.decide("about:srcdoc", "frame").allowed
    assert not ALLOW.decide("data:text/html,<h1>x</h1>", "top").allowed
    assert not ALLOW.decide("data:text/html,<h1>x</h1>", "frame").allowed
    assert ALLOW.decide("data:image/png;base64,AAAA", "subresource").allowed
    assert ALLOW.decide("blob:https://bank.example/6f1c", "top").allowed
    assert not ALLOW.decide("blob:https://evil.example/6f1c", "top").allowed
    assert not ALLOW.decide("blob:null/6f1c", "frame").allowed
    for url in ("file:///etc/passwd", "javascript:alert(1)", "chrome://settings", "view-source:x"):
        d = ALLOW.decide(url, "top")
        assert not d.allowed and d.reason.startswith("scheme"), url


def test_subresource_policies() -> None:
    strict = Allowlist(["https://bank.example"])
    https = Allowlist(["https://bank.example"], subresources="any-https")
    anything = Allowlist(["https://bank.example"], subresources="any")
    assert not strict.decide("https://cdn.other/x.js", "subresource").allowed
    assert https.decide("https://cdn.other/x.js", "subresource").allowed
    assert not https.decide("http://cdn.other/x.js", "subresource").allowed
    assert not https.decide("https://cdn.other/", "top").allowed  # documents still confined
    assert anything.decide("http://cdn.other/x.js", "subresource").allowed
    assert strict.decide("wss://bank.example/ws", "subresource").allowed


def test_scopes_can_be_left_unenforced() -> None:
    frames_free = Allowlist(["https://bank.example"], scopes=("top", "subresource"))
    assert frames_free.decide("https://video.other/embed", "frame").allowed
    assert not frames_free.decide("https://video.other/", "top").allowed


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("bank.example", "expected scheme://host"),
        ("ftp://bank.example", "scheme must be http or https"),
        ("https://user@bank.example", "userinfo"),
        ("https://ba*nk.example", "wildcard"),
        ("https://*", "wildcard"),
        ("https://*.com", "at least two labels"),
        ("https://*.*.example", "wildcard"),
        ("https://bank.example:0", "port must be"),
        ("https://bank.example:http", "port must be"),
        ("https://bank.example/a?b", "no query"),
        ("https://bank.example/a*", "no query"),
        ("https://bank .example", "whitespace"),
        ("https://bank.example\\x", "backslash"),
        ("https://%62ank.example", "invalid host"),
        ("https://ba_nk..example", "invalid host"),
        ("", "empty"),
    ],
)
def test_invalid_patterns_are_one_line_errors(pattern: str, why: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_pattern(pattern)
    assert why in str(err.value)
    assert "\n" not in str(err.value)
    assert repr(pattern) in str(err.value)


def test_an_empty_allowlist_or_unknown_policy_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        Allowlist([])
    with pytest.raises(ConfigError, match="subresources"):
        Allowlist(["https://a.example"], subresources="most")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="scopes"):
        Allowlist(["https://a.example"], scopes=["popups"])  # type: ignore[list-item]
