"""Payload values → search text and tokens: URLs, JSON/form/plain bodies, masked values.

Masked values never become search text: ``tok_…``/``esc_…`` tokens are pulled out as
(token, field) pairs - the field being the JSON key, form or query parameter they were
found under - and ``[redacted]`` is dropped.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

from agent.index.dom import clean, norm_field

TOKEN_RE = re.compile(r"\b(?:tok|esc)_[0-9a-f]{16}\b")
TEXT_MIMES = ("json", "text/plain", "xml", "x-www-form-urlencoded")
_REDACTED = "[redacted]"


def host_of(url: str) -> str:
    """Lower-case host of a URL ('' for about:, data: and the like)."""
    try:
        return (urllib.parse.urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def path_of(url: str) -> str:
    """The path of a URL."""
    try:
        return urllib.parse.urlsplit(url).path
    except ValueError:
        return ""


def strip_tokens(text: str) -> str:
    """Text without masked values (tokens and ``[redacted]``), for the full-text column."""
    return clean(TOKEN_RE.sub(" ", text.replace(_REDACTED, " ")))


def tokens_in(obj: Any, fld: str = "") -> list[tuple[str, str]]:
    """Every ``tok_``/``esc_`` token in a JSON value, with the key it was found under."""
    out: list[tuple[str, str]] = []
    stack: list[tuple[Any, str]] = [(obj, fld)]
    while stack:
        cur, f = stack.pop()
        if isinstance(cur, str):
            out.extend((t, f) for t in TOKEN_RE.findall(cur))
        elif isinstance(cur, dict):
            stack.extend((v, norm_field(str(k))) for k, v in cur.items())
        elif isinstance(cur, list):
            stack.extend((v, f) for v in cur)
    return out


def flatten(obj: Any, limit: int) -> str:
    """``key value key value`` text of a JSON value (masked values removed), capped."""
    parts: list[str] = []
    size = 0
    stack: list[Any] = [obj]
    while stack and size < limit:
        cur = stack.pop()
        if isinstance(cur, dict):
            for k, v in reversed(list(cur.items())):
                stack.append(v)
                stack.append(str(k))
        elif isinstance(cur, list):
            stack.extend(reversed(cur))
        elif cur is not None and not isinstance(cur, bool):
            s = strip_tokens(str(cur))
            if s:
                parts.append(s)
                size += len(s) + 1
    return " ".join(parts)[:limit]


def parse_body(body: str, limit: int) -> tuple[str, list[tuple[str, str]]]:
    """(search text, tokens) of a request/response/WebSocket body: JSON, form or plain."""
    body = body[: limit * 4]
    s = body.strip()
    if s[:1] in ("{", "["):
        try:
            obj = json.loads(s)
        except ValueError:
            pass
        else:
            return flatten(obj, limit), tokens_in(obj)
    if "=" in s and " " not in s[:200]:
        pairs = urllib.parse.parse_qsl(s, keep_blank_values=True)
        if pairs:
            toks = [(t, norm_field(k)) for k, v in pairs for t in TOKEN_RE.findall(v)]
            return strip_tokens(" ".join(f"{k} {v}" for k, v in pairs))[:limit], toks
    return strip_tokens(s)[:limit], [(t, "") for t in TOKEN_RE.findall(s)]


def url_tokens(url: str) -> list[tuple[str, str]]:
    """Tokens in a URL's query string, with the parameter name as field."""
    if "tok_" not in url and "esc_" not in url:
        return []
    try:
        q = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True)
    except ValueError:
        q = []
    out = [(t, norm_field(k)) for k, v in q for t in TOKEN_RE.findall(v)]
    return out or [(t, "") for t in TOKEN_RE.findall(url)]


def url_text(url: str) -> str:
    """A URL as searchable words (tokens removed)."""
    return strip_tokens(urllib.parse.unquote(url))
