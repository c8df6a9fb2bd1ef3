"""Header masking: maps, ``{name, value}`` and pair lists, raw header text, content type."""

from __future__ import annotations

from typing import Any

from agent.mask.ctx import Ctx
from agent.mask.headers import HeaderMasker, content_type, is_url
from agent.mask.strings import MARKER
from agent.mask.testing import build_masker


def _headers() -> HeaderMasker:
    masker = build_masker()
    return HeaderMasker(masker.strings, masker.net.walk)


def test_credential_header_in_name_value_and_pair_lists_is_redacted_others_kept() -> None:
    """A header rule matches by name in both list shapes; a plain header stays as it was."""
    h = _headers()
    items: list[Any] = [
        {"name": "Authorization", "value": "Bearer abc"},
        ["Cookie", "sid=1"],
        {"name": "Accept", "value": "text/html"},
    ]
    out = h.headers(items, Ctx(), "$.headers")
    assert out[0] == {"name": "Authorization", "value": MARKER}
    assert out[1] == ["Cookie", MARKER]
    assert out[2] is items[2]


def test_raw_header_text_masks_values_and_keeps_line_endings_and_request_line() -> None:
    """``Name: value`` lines are masked by header rule; CRLF and the request line survive."""
    text = "GET /orders HTTP/1.1\r\nCookie: sid=1\r\nAccept: */*\r\n"
    out = _headers().headers_text(text, Ctx(), "$.headers_text")
    assert out == f"GET /orders HTTP/1.1\r\nCookie: {MARKER}\r\nAccept: */*\r\n"


def test_clean_header_map_is_returned_unchanged() -> None:
    """Nothing to mask: the same object comes back (no copy)."""
    h = {"Accept": "application/json", "User-Agent": "test"}
    assert _headers().headers(h, Ctx(), "$.headers") is h


def test_content_type_is_found_by_key_or_in_either_header_shape() -> None:
    """A content-type key wins; else the Content-Type header, in a map or a list."""
    assert content_type({"mime": "text/plain", "headers": {"Content-Type": "x"}}) == "text/plain"
    assert content_type({"headers": {"content-type": "application/json"}}) == "application/json"
    assert content_type({"headers": [{"name": "Content-Type", "value": "text/csv"}]}) == "text/csv"
    assert content_type({"body": "{}"}) == ""


def test_is_url_recognises_recorded_schemes_only() -> None:
    """http(s), ws(s), file, blob and data URLs; not a bare host."""
    assert is_url("wss://feed.test/ws") and is_url("data:text/plain,x")
    assert not is_url("example.com/path")
