"""Network payloads: headers, query strings, JSON/form/multipart bodies, WebSocket, console."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import orjson

from agent.demo_app import DEMO_SECRETS
from agent.mask.strings import MARKER
from agent.mask.testing import build_masker
from agent.testing import make_event


def _mask(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return build_masker().mask_event(make_event(kind, payload)).payload


def test_default_credential_headers_are_redacted_case_insensitively() -> None:
    """Authorization, Cookie, Set-Cookie, X-Api-Key -> [redacted]; others kept."""
    p = _mask(
        "net.request",
        {
            "url": "https://x.test/",
            "headers": {
                "authorization": "Bearer abc",
                "Cookie": "sid=1",
                "X-API-KEY": "k",
                "Accept": "application/json",
            },
        },
    )
    assert p["headers"] == {
        "authorization": MARKER,
        "Cookie": MARKER,
        "X-API-KEY": MARKER,
        "Accept": "application/json",
    }
    r = _mask(
        "net.response",
        {
            "url": "https://x.test/",
            "headers": [{"name": "Set-Cookie", "value": "sid=2"}, {"name": "ETag", "value": "W/1"}],
        },
    )
    assert r["headers"] == [
        {"name": "Set-Cookie", "value": MARKER},
        {"name": "ETag", "value": "W/1"},
    ]


def test_raw_headers_map_from_extra_info_is_masked() -> None:
    """capture's raw_headers (cookies included) get the same header rules."""
    p = _mask(
        "net.request",
        {
            "url": "https://x.test/",
            "raw_headers": {"Cookie": "sid=1", "X-Client-Ssn": "078-05-1120"},
        },
    )
    assert p["raw_headers"]["Cookie"] == MARKER
    assert p["raw_headers"]["X-Client-Ssn"].startswith("tok_")


def test_header_text_block_is_masked() -> None:
    """Raw header text: request line URL and credential lines."""
    p = _mask(
        "net.request", {"headers_text": "GET /a?token=s3 HTTP/1.1\r\nCookie: sid=1\r\nHost: x\r\n"}
    )
    assert p["headers_text"] == (
        "GET /a?token=[redacted] HTTP/1.1\r\nCookie: [redacted]\r\nHost: x\r\n"
    )


def test_json_body_fields_by_path_and_patterns() -> None:
    """$..password redacted, $..ssn tokenized, a card in a note redacted, numbers scanned."""
    body = json.dumps(
        {
            "user": {"Password": "p4ss", "ssn": "078 05 1120"},
            "note": "card 4111-1111-1111-1111",
            "n": 4111111111111111,
            "qty": 100,
        }
    )
    p = _mask(
        "net.request",
        {
            "url": "https://x.test/api",
            "headers": {"Content-Type": "application/json"},
            "post_data": body,
            "post_data_sha256": hashlib.sha256(body.encode()).hexdigest(),
        },
    )
    out = json.loads(p["post_data"])
    assert out["user"]["Password"] == MARKER
    assert out["user"]["ssn"].startswith("tok_")
    assert out["note"] == "card " + MARKER and out["n"] == MARKER and out["qty"] == 100
    assert p["post_data_sha256"] == hashlib.sha256(p["post_data"].encode()).hexdigest()
    assert p["post_data_masked"] is True


def test_json_path_rules_anchor_and_wildcards() -> None:
    """$.a.b matches only at the root; * matches one key; arrays are transparent."""
    m = build_masker(
        '[[rules]]\nid = "deep"\nkind = "json_path"\nmode = "redact"\npaths = ["$.order.*.memo"]\n'
    )
    body = json.dumps({"order": {"x": {"memo": "m1"}, "items": [{"memo": "m2"}]}, "memo": "top"})
    p = m.mask_event(
        make_event(
            "net.request", {"post_data": body, "headers": {"content-type": "application/json"}}
        )
    )
    out = json.loads(p.payload["post_data"])
    assert out["order"]["x"]["memo"] == MARKER and out["order"]["items"][0]["memo"] == MARKER
    assert out["memo"] == "top"


def test_urlencoded_form_fields_by_name() -> None:
    """password redacted, acct tokenized, free field scanned."""
    p = _mask(
        "net.request",
        {
            "url": "https://x.test/login",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            "post_data": "user=jo&password=hunter2&acct=ACCT-4417-2290&q=078-05-1120",
        },
    )
    body = str(p["post_data"])
    assert "hunter2" not in body and "4417" not in body and "078-05" not in body
    assert body.startswith("user=jo&password=%5Bredacted%5D&acct=tok_")


def test_multipart_form_fields_by_name() -> None:
    """Multipart parts named password/ssn are masked; the structure is kept."""
    body = (
        '--XyZ\r\nContent-Disposition: form-data; name="password"\r\n\r\nhunter2\r\n'
        '--XyZ\r\nContent-Disposition: form-data; name="ssn"\r\n\r\n078051120\r\n'
        '--XyZ\r\nContent-Disposition: form-data; name="memo"\r\n\r\nhello\r\n--XyZ--\r\n'
    )
    p = _mask(
        "net.request",
        {"headers": {"Content-Type": "multipart/form-data; boundary=XyZ"}, "post_data": body},
    )
    out = str(p["post_data"])
    assert "hunter2" not in out and "078051120" not in out and "\r\n\r\nhello\r\n" in out
    assert out.count("--XyZ") == 4 and "\r\n\r\n[redacted]\r\n" in out


def test_websocket_json_fields_by_path() -> None:
    """WS frames: $..account tokenized by the ws_path rule."""
    data = json.dumps({"type": "transfer", "account": "5531-0086", "amount": "250000.00"})
    p = _mask("net.ws_frame", {"direction": "sent", "opcode": 1, "data": data})
    out = json.loads(p["data"])
    assert out["account"].startswith("tok_") and out["amount"] == "250000.00"


def test_base64_bodies_are_decoded_masked_and_reencoded() -> None:
    """A base64 response body (CDP base64Encoded) with an SSN is masked inside."""
    raw = json.dumps({"ssn": "078-05-1120"}).encode()
    p = _mask(
        "net.response",
        {
            "mime": "application/json",
            "body_encoding": "base64",
            "body": base64.b64encode(raw).decode(),
        },
    )
    decoded = base64.b64decode(p["body"]).decode()
    assert "078-05-1120" not in decoded and "tok_" in decoded


def test_console_and_navigation_urls() -> None:
    """Console text is scanned; navigation URLs get query rules."""
    c = _mask(
        "page.console",
        {
            "level": "log",
            "text": "lookup 078-05-1120 / ACCT-4417-2290",
            "args": ["4111 1111 1111 1111"],
        },
    )
    assert "078-05" not in str(c) and "4417" not in str(c) and "4111" not in str(c)
    n = _mask("page.navigate", {"url": "https://x.test/cb?code=abc&state=1"})
    assert n["url"] == "https://x.test/cb?code=[redacted]&state=1"


def test_every_demo_secret_in_a_fixture_request_is_masked() -> None:
    """The fx_secrets XHR (query, headers, JSON body) carries no demo secret after masking."""
    s = DEMO_SECRETS
    p = _mask(
        "net.request",
        {
            "url": f"http://127.0.0.1/api/echo?ssn=078-05-1120&account={s['account']}",
            "headers": {
                "Content-Type": "application/json",
                "Authorization": "Bearer " + s["bearer_token"],
                "X-Api-Key": s["api_key"],
                "X-Client-Ssn": s["ssn"],
            },
            "post_data": orjson.dumps(
                {"ssn": s["ssn"], "account": s["account"], "card": s["card"]}
            ).decode(),
        },
    )
    dumped = json.dumps(p)
    for k in ("ssn", "account", "card", "bearer_token", "api_key"):
        assert s[k] not in dumped, k


def test_price_feed_frame_is_kept_verbatim_without_parsing() -> None:
    """A WS tick (short strings, a ms timestamp, no sensitive names) stays byte-identical;
    the same frame with a card number as a JSON number does not."""
    m = build_masker()
    tick = (
        '{"type": "tick", "tick": 109, "t": 1795697786595, "cells": [[41, 7, "115.02"], '
        '[46, 19, "303.08"]]}'
    )
    assert m.net.plainly_clean(tick)
    ev = make_event("net.ws_frame", {"direction": "received", "data": tick})
    assert m.mask_event(ev) is ev
    card = tick.replace("1795697786595", "4111111111111111")
    assert not m.net.plainly_clean(card)
    out = m.mask_event(make_event("net.ws_frame", {"direction": "received", "data": card}))
    assert "4111111111111111" not in out.payload["data"]
    assert not m.net.plainly_clean('{"pwd": "x"}')
