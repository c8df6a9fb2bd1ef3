"""Where a kiosk browser may go: URL patterns and the decision for one URL in one scope.

Pattern syntax (one pattern per ``--allow``), close to Chromium's URLAllowlist but stricter::

    scheme://host[:port][/path-prefix]

- ``scheme`` is ``http`` or ``https`` (exactly; ``https`` does not allow ``http``).
- ``host`` is a DNS name (Unicode allowed: stored as punycode), an IPv4 address, or an
  ``[IPv6]`` address. ``*.example.com`` allows every subdomain of ``example.com`` but not
  ``example.com`` itself (list both when both are wanted). A wildcard anywhere else, or over a
  single label (``*.com``), is an error.
- ``port`` is a number, or ``*`` for any port; omitted means the scheme's default port only.
- ``path-prefix`` matches whole segments: ``/app`` allows ``/app``, ``/app/`` and ``/app/x``,
  not ``/apples``. Omitted (or ``/``) allows every path. No query, fragment or userinfo.

Scopes: ``top`` (top-level navigations, popups included), ``frame`` (iframe documents),
``subresource`` (scripts, styles, images, fetch/XHR, worker scripts ...), each enforced
unless the policy turns it off. Subresources follow ``subresources``: ``allowlist`` (must match
a pattern), ``any-https`` (any https URL, plus what the patterns allow) or ``any`` (unchecked).

URLs that are not http(s): ``about:blank`` and ``about:srcdoc`` are allowed in every scope (no
content from anywhere); ``data:`` only as a subresource (an inline image or font), never as a
document; ``blob:`` and ``filesystem:`` as their inner origin is; every other scheme
(``file:``, ``chrome:``, ``javascript:``, ``view-source:``, ``ftp:`` ...) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from agent.errors import ConfigError
from agent.kiosk.urls import (
    DEFAULT_PORTS,
    NetURL,
    normalise_host,
    normalise_path,
    parse_net_url,
    scheme_of,
)

Scope = Literal["top", "frame", "subresource"]
SCOPES: tuple[Scope, ...] = ("top", "frame", "subresource")
SubresourcePolicy = Literal["allowlist", "any-https", "any"]
SUBRESOURCE_POLICIES: tuple[SubresourcePolicy, ...] = ("allowlist", "any-https", "any")

_PATTERN = re.compile(
    r"^(?P<scheme>[a-z]+)://(?P<host>\[[^\]/]*\]|[^:/\[\]]+)(?::(?P<port>[^/]*))?(?P<path>/.*)?$"
)
_ALWAYS = ("about:blank", "about:srcdoc")


@dataclass(frozen=True, slots=True)
class Pattern:
    """One parsed allowlist pattern."""

    text: str
    scheme: str
    host: str  # normalised; for a wildcard the parent domain
    subdomains: bool  # "*." prefix: strict subdomains of ``host``
    port: int | None  # None: any port
    path: str  # normalised prefix, "/" for any

    def matches(self, u: NetURL) -> bool:
        """Whether the normalised URL ``u`` falls under this pattern."""
        if u.scheme != self.scheme:
            return False
        if self.subdomains:
            if not u.host.endswith("." + self.host) or u.host.startswith("["):
                return False
        elif u.host != self.host:
            return False
        if self.port is not None and u.port != self.port:
            return False
        if self.path == "/":
            return True
        prefix = self.path.rstrip("/")
        return u.path == prefix or u.path.startswith(prefix + "/")


def _bad(text: str, why: str) -> ConfigError:
    return ConfigError(f"kiosk allow pattern {text!r}: {why}")


def parse_pattern(text: str) -> Pattern:
    """Parse one pattern; an invalid or ambiguous one is a one-line ``ConfigError``."""
    if not text or text != text.strip() or re.search(r"[\s\\]", text):
        raise _bad(text, "empty, or contains whitespace or a backslash")
    m = _PATTERN.match(text)
    if m is None:
        raise _bad(text, "expected scheme://host[:port][/path-prefix]")
    scheme, raw_host = m.group("scheme"), m.group("host")
    if scheme not in ("http", "https"):
        raise _bad(text, "scheme must be http or https")
    if "@" in raw_host:
        raise _bad(text, "userinfo (user@host) is not allowed")
    subdomains = raw_host.startswith("*.")
    bare = raw_host[2:] if subdomains else raw_host
    if "*" in bare:
        raise _bad(text, "a wildcard is only allowed as a leading '*.' label")
    host = normalise_host(bare)
    if host is None or "%" in bare:
        raise _bad(text, "invalid host")
    if subdomains and ("." not in host or host.startswith("[") or host[-1].isdigit()):
        raise _bad(text, "'*.' needs a domain of at least two labels")
    path = m.group("path") or "/"
    if "?" in path or "#" in path or "*" in path:
        raise _bad(text, "no query, fragment or wildcard in the path prefix")
    port = _pattern_port(text, m.group("port"), scheme)
    return Pattern(text, scheme, host, subdomains, port, normalise_path(path))


def _pattern_port(text: str, port: str | None, scheme: str) -> int | None:
    if port is None:
        return DEFAULT_PORTS[scheme]
    if port == "*":
        return None
    if not port.isdigit() or not 0 < int(port) <= 65535:
        raise _bad(text, "port must be 1-65535 or *")
    return int(port)


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one URL: allowed or not, and the rule that decided."""

    allowed: bool
    reason: str  # "pattern <text>", "not in allowlist", "scheme file", ...


class Allowlist:
    """An ordered set of patterns plus the per-scope rules for non-http(s) URLs."""

    def __init__(
        self,
        patterns: Iterable[str],
        *,
        scopes: Iterable[Scope] = SCOPES,
        subresources: SubresourcePolicy = "allowlist",
    ) -> None:
        parsed = [parse_pattern(text) for text in patterns]
        if not parsed:
            raise ConfigError("kiosk allowlist: at least one --allow pattern is required")
        self.patterns: tuple[Pattern, ...] = tuple(parsed)
        self.scopes = frozenset(scopes)
        unknown = self.scopes - set(SCOPES)
        if unknown:
            raise ConfigError(f"kiosk scopes: unknown {sorted(unknown)}; expected {SCOPES}")
        if subresources not in SUBRESOURCE_POLICIES:
            raise ConfigError(
                f"kiosk subresources {subresources!r}: expected one of {SUBRESOURCE_POLICIES}"
            )
        self.subresources: SubresourcePolicy = subresources

    def match(self, url: str) -> Pattern | None:
        """The first pattern an http(s) URL falls under (None: none, or not http(s))."""
        u = parse_net_url(url)
        if u is None or u.scheme not in ("http", "https"):
            return None
        return next((p for p in self.patterns if p.matches(u)), None)

    def decide(self, url: str, scope: Scope) -> Decision:
        """Whether ``url`` may load in ``scope``."""
        if scope not in self.scopes:
            return Decision(True, f"scope {scope} not enforced")
        if url in _ALWAYS or url.startswith(("about:blank#", "about:blank?", "about:srcdoc")):
            return Decision(True, "empty document")
        scheme = scheme_of(url)
        if scheme in ("blob", "filesystem"):
            inner = url[len(scheme) + 1 :]
            d = self.decide(inner, scope) if scheme_of(inner) in ("http", "https") else None
            return d if d is not None else Decision(False, f"scheme {scheme} of an opaque origin")
        if scheme == "data":
            ok = scope == "subresource"
            return Decision(ok, "inline data" if ok else "data: document")
        if scheme not in ("http", "https", "ws", "wss"):
            return Decision(False, f"scheme {scheme or 'missing'}")
        if scheme in ("ws", "wss"):
            url = ("http" if scheme == "ws" else "https") + url[len(scheme) :]
        p = self.match(url)
        if p is not None:
            return Decision(True, f"pattern {p.text}")
        if scope == "subresource" and self.subresources == "any":
            return Decision(True, "subresources unchecked")
        if scope == "subresource" and self.subresources == "any-https" and scheme == "https":
            return Decision(True, "any https subresource")
        if parse_net_url(url) is None:
            return Decision(False, "unparseable URL")
        return Decision(False, "not in allowlist")
