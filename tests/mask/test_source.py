"""Page source in bodies: HTML form controls, script literals, broken JSON, console text."""

from __future__ import annotations

import json

from agent.mask.testing import build_masker
from agent.testing import make_event


def _mask(kind: str, payload: dict[str, object]) -> dict[str, object]:
    return build_masker().mask_event(make_event(kind, payload)).payload


def test_truncated_json_body_still_masks_named_fields() -> None:
    """JSON cut by capture's body cap no longer parses; its password field is still masked."""
    p = _mask(
        "net.response",
        {
            "mime": "application/json",
            "body": '{"user": "jo", "password": "hunter2", "items": [1, 2',
        },
    )
    assert "hunter2" not in str(p["body"]) and '"password": "[redacted]"' in str(p["body"])


def test_html_document_body_masks_inputs_and_script_literals() -> None:
    """Server-rendered password and data-sensitive values and `password: '...'` literals in
    page source are masked; a plain field (the login name) is kept by the default mode."""
    page = (
        '<html><input name="username" value="trader1"><input type="password" '
        'value="pw1"><input type="submit" value="Go"><textarea data-sensitive>wire '
        "to x</textarea><script>var S = {password: 'Tr4der!Secret-2026', "
        "apiKey: 'ak_demo_3c9e1f7a2b8d'};</script></html>"
    )
    p = _mask("net.response", {"mime": "text/html", "body": page})
    body = str(p["body"])
    for secret in ("pw1", "Tr4der!Secret-2026", "ak_demo_3c9e1f7a2b8d", "wire to x"):
        assert secret not in body, secret
    assert 'value="Go"' in body and 'value="trader1"' in body


def test_console_messages_with_json_or_pairs_are_masked_by_field_name() -> None:
    """console.log of an object or of `password=...` masks the named fields."""
    c = _mask(
        "page.console",
        {
            "text": '{"password": "hunter2", "qty": 5}',
            "args": ["login password=hunter2 user=jo", "cfg {token: 'abc123def'}"],
        },
    )
    dumped = json.dumps(c)
    assert "hunter2" not in dumped and "abc123def" not in dumped and "user=jo" in dumped
