"""Pointing the URLs of recorded rrweb events at the archive, for a replay that must never
contact the recorded sites (the offline viewer of an export, opened from ``file://``).

The walk visits what rrweb's Replayer turns into requests: URL attributes of serialized
nodes and attribute mutations (``src``, ``href``, ``srcset``, ``poster``...), CSS text
(``_cssText``, ``style``, ``<style>`` text, inserted rules, declarations: ``url(...)`` and
``@import``), ``<meta http-equiv=refresh>`` targets and font sources. Every URL with an
archived copy becomes ``<prefix><sha256>``; every other one becomes nothing (the attribute
becomes ``null``, which rrweb leaves out or removes; ``url("data:,")`` in CSS; an
``@import`` is dropped), except ``data:`` URLs and in-page ``#`` links. A link (``<a>``,
``<area>``) in a serialized node keeps ``href="#"`` instead: without one it would be drawn as
plain text, not as the link the page showed (``#`` goes nowhere). Meta events (the page's
address) are kept.
"""

from __future__ import annotations

import re
from typing import Any

from agent.rrweb import EventType

URL_KEYS = frozenset(
    {
        "src",
        "href",
        "xlink:href",
        "poster",
        "background",
        "data",
        "action",
        "formaction",
        "ping",
        "lowsrc",
        "longdesc",
        "cite",
        "codebase",
        "manifest",
        "icon",
        "profile",
        "fontSource",
    }
)
SRCSET_KEYS = frozenset({"srcset", "imagesrcset"})
CSS_KEYS = frozenset({"_cssText", "style", "rule", "cssText"})
LINK_TAGS = frozenset({"a", "area"})
INERT_LINK = "#"
"""What a link's ``href`` without an archived copy becomes: still a link, going nowhere."""
NOTHING_CSS = "data:,"
_CSS_REF = re.compile(
    r"""@import\s+(?:url\(\s*)?(?:"([^"]*)"|'([^']*)'|([^)'"\s;]+))\s*\)?"""
    r"""|url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""",
    re.I,
)
_REFRESH = re.compile(r"""^(\s*\d*\s*[;,]?\s*url\s*=\s*)(.*)$""", re.I | re.S)


class OfflineUrls:
    """Rewrites recorded URLs: archived ones to ``prefix + sha``, the rest to nothing."""

    def __init__(self, urls: dict[str, str], prefix: str) -> None:
        self.urls = urls
        self.prefix = prefix

    def url(self, u: str) -> str | None:
        """One URL; None (nothing) for a URL without an archived copy."""
        s = u.strip()
        sha = self.urls.get(s)
        if sha is not None:
            return self.prefix + sha
        if s.startswith(("data:", "#")) or not s:
            return u
        return None

    def srcset(self, value: str) -> str | None:
        """A ``srcset``: each candidate's URL rewritten, candidates with nothing dropped."""
        out = []
        for cand in value.split(","):
            parts = cand.strip().split(None, 1)
            u = self.url(parts[0]) if parts else None
            if u is not None:
                out.append(" ".join([u, *parts[1:]]))
        return ", ".join(out) or None

    def css(self, text: str) -> str:
        """CSS text: every ``url(...)`` and ``@import``; an import of nothing is dropped."""

        def one(m: re.Match[str]) -> str:
            u = self.url(next(g for g in m.groups() if g is not None))
            if m.group(0)[:1] == "@":
                return f'@import url("{u}")' if u is not None else "/* not archived */"
            return f'url("{u if u is not None else NOTHING_CSS}")'

        low = text.lower()
        return _CSS_REF.sub(one, text) if "url(" in low or "@import" in low else text

    def _value(self, key: str, v: str, obj: dict[str, Any], css: bool) -> str | None:
        if css:  # a property of a style object (``background``: not the HTML attribute)
            return self.css(v)
        if key in URL_KEYS:
            return self.url(v)
        if key in SRCSET_KEYS:
            return self.srcset(v)
        if key == "content" and _REFRESH.match(v):
            return None
        if key in CSS_KEYS or (key == "textContent" and obj.get("isStyle")):
            return self.css(v)
        return v

    def walk(self, obj: Any, css: bool = False) -> Any:
        """A rewritten copy of a JSON value (``css``: every string in it is CSS)."""
        if isinstance(obj, list):
            return [self.walk(x, css) for x in obj]
        if not isinstance(obj, dict):
            return self.css(obj) if css and isinstance(obj, str) else obj
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if isinstance(v, str):
                out[k] = self._value(k, v, obj, css)
            else:
                out[k] = self.walk(v, css or k == "style")
        if obj.get("tagName") in LINK_TAGS:
            _keep_link(obj, out)
        return out

    def event(self, payload: Any) -> Any:
        """An rrweb event's payload, rewritten (a Meta event is kept as recorded)."""
        if isinstance(payload, dict) and payload.get("type") == EventType.META:
            return payload
        return self.walk(payload)


def _keep_link(node: dict[str, Any], out: dict[str, Any]) -> None:
    """A serialized link whose ``href`` became nothing gets :data:`INERT_LINK`."""
    attrs, new = node.get("attributes"), out.get("attributes")
    if not isinstance(attrs, dict) or not isinstance(new, dict):
        return
    for key in ("href", "xlink:href"):
        if isinstance(attrs.get(key), str) and new.get(key) is None:
            new[key] = INERT_LINK
