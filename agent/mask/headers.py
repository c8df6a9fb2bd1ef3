"""Masking of HTTP headers: header maps, ``{name, value}`` lists and raw header text.

A header whose name a header rule matches is masked by that rule's mode; any other value is
masked as a URL when it looks like one, else scanned for value patterns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from agent.mask.ctx import Ctx
from agent.mask.strings import StringMasker

HEADER_KEYS = frozenset(
    {
        "headers",
        "requestheaders",
        "responseheaders",
        "request_headers",
        "response_headers",
        "extra_headers",
        "extraheaders",
    }
)
HEADER_TEXT_KEYS = frozenset({"headerstext", "headers_text", "raw_headers", "rawheaders"})
CT_KEYS = ("mime_type", "mimeType", "mime", "content_type", "contentType")
URL_PREFIXES = ("http://", "https://", "ws://", "wss://", "file:", "blob:", "data:")
_REQUEST_LINE = re.compile(r"^[A-Z]+ \S+ HTTP/")

#: Masks a value that is not a string (the payload walk of :class:`~agent.mask.net.NetMasker`).
Walk = Callable[[Any, Ctx, str], Any]


def is_url(s: str) -> bool:
    """True for a string that starts with a URL scheme capture records."""
    return s.startswith(URL_PREFIXES)


def content_type(d: dict[str, Any]) -> str:
    """The content type a payload names, by a content-type key or in its headers."""
    for k in CT_KEYS:
        v = d.get(k)
        if isinstance(v, str):
            return v
    for hk in ("headers", "response_headers", "request_headers", "responseHeaders"):
        h = d.get(hk)
        if isinstance(h, dict):
            for name, v in h.items():
                if name.lower() == "content-type" and isinstance(v, str):
                    return v
        elif isinstance(h, list):
            for item in h:
                if isinstance(item, dict) and str(item.get("name", "")).lower() == "content-type":
                    return str(item.get("value", ""))
    return ""


class HeaderMasker:
    """Masks header values by header rule, URL shape or value pattern."""

    def __init__(self, sm: StringMasker, walk: Walk) -> None:
        self.sm = sm
        self.rules = sm.rules
        self.walk = walk

    def _header_value(self, name: str, value: Any, ctx: Ctx, path: str) -> Any:
        if not isinstance(value, str):
            return self.walk(value, ctx, path)
        hit = self.rules.name_hit("header", name)
        if hit is not None:
            return ctx.take(value, self.sm.apply(value, hit), path)
        return ctx.take(value, self.sm.url(value) if is_url(value) else self.sm.scan(value), path)

    def headers(self, h: dict[str, Any] | list[Any], ctx: Ctx, path: str) -> Any:
        """Mask a header map or a list of ``{name, value}`` / ``[name, value]``."""
        if isinstance(h, dict):
            new: dict[str, Any] | None = None
            for name, v in h.items():
                nv = self._header_value(str(name), v, ctx, f"{path}.{name}")
                if nv is not v:
                    new = new if new is not None else dict(h)
                    new[name] = nv
            return h if new is None else new
        out: list[Any] | None = None
        for i, item in enumerate(h):
            if isinstance(item, dict) and "name" in item:
                v = item.get("value")
                nv = self._header_value(str(item["name"]), v, ctx, f"{path}[{i}].value")
                nitem: Any = item if nv is v else {**item, "value": nv}
            elif isinstance(item, list | tuple) and len(item) == 2:
                nv = self._header_value(str(item[0]), item[1], ctx, f"{path}[{i}][1]")
                nitem = item if nv is item[1] else [item[0], nv]
            else:
                nitem = self.walk(item, ctx, f"{path}[{i}]")
            if nitem is not item:
                out = out if out is not None else list(h)
                out[i] = nitem
        return h if out is None else out

    def headers_text(self, text: str, ctx: Ctx, path: str) -> str:
        """Mask raw header text (request/status line + ``Name: value`` lines)."""
        lines = text.split("\n")
        changed = False
        for i, line in enumerate(lines):
            name, sep, value = line.partition(":")
            if i == 0 and _REQUEST_LINE.match(line):
                words = line.split(" ")
                words[1] = ctx.take(words[1], self.sm.url(words[1]), path)
                new_line = " ".join(words)
            elif sep:
                nv = self._header_value(name.strip(), value.strip().rstrip("\r"), ctx, path)
                cr = "\r" if line.endswith("\r") else ""
                new_line = line if nv == value.strip().rstrip("\r") else f"{name}: {nv}{cr}"
            else:
                new_line = ctx.take(line, self.sm.scan(line), path)
            if new_line != line:
                lines[i] = new_line
                changed = True
        return "\n".join(lines) if changed else text
