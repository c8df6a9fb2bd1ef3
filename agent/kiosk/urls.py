"""Strict URL normalisation for allowlist matching: one canonical (scheme, host, port, path).

The browser hands us URLs it has already canonicalised, but the decision must not depend on
that: every URL is parsed here the way a WHATWG URL parser reads a special (http/https/ws/wss)
URL, and anything it cannot read unambiguously is ``None`` (never allowed). The tricks it
resolves: userinfo (``https://allowed.com@evil.com`` is host ``evil.com``), backslashes as
slashes, percent-encoded and upper-case hosts, IDNA (UTS #46, non-transitional: what Chromium
uses), one trailing dot, IPv4 in decimal/hex/octal or short forms, default and zero-padded
ports, dot segments (also ``%2e``) and percent-encoded unreserved characters in the path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

import idna

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_HOST_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_\-]*[a-z0-9_])?$")
_UNRESERVED = re.compile(r"%([0-9A-Fa-f]{2})")
_FORBIDDEN_HOST = set(" #%/:<>?@[\\]^|")


@dataclass(frozen=True, slots=True)
class NetURL:
    """A network URL reduced to what an allowlist decides on."""

    scheme: str  # lower case
    host: str  # ASCII (punycode), lower case, no trailing dot; IPv6 in brackets
    port: int  # explicit or the scheme's default
    path: str  # percent-encoding normalised, dot segments removed; starts with "/"

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` with a default port left out."""
        default = DEFAULT_PORTS.get(self.scheme)
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{self.host}{port}"


def scheme_of(url: str) -> str:
    """The lower-case scheme of ``url`` ("" when it has none)."""
    m = _SCHEME.match(url.strip())
    return m.group(1).lower() if m else ""


def parse_net_url(url: str) -> NetURL | None:
    """``url`` (http, https, ws, wss) normalised, or None when it is not one or is ambiguous."""
    url = url.strip("\x00-\x20")
    url = re.sub(r"[\t\n\r]", "", url)  # WHATWG strips these anywhere
    scheme = scheme_of(url)
    if scheme not in DEFAULT_PORTS:
        return None
    rest = url[len(scheme) + 1 :].replace("\\", "/")
    rest = rest.lstrip("/")  # "http:/x", "http:///x" read as authority x
    end = len(rest)
    for sep in "/?#":
        i = rest.find(sep)
        if i != -1:
            end = min(end, i)
    authority, tail = rest[:end], rest[end:]
    hostport = authority.rpartition("@")[2]  # userinfo never names the host
    split = _split_port(hostport, scheme)
    if split is None:
        return None
    host = normalise_host(split[0])
    if host is None:
        return None
    path = normalise_path(re.split(r"[?#]", tail, maxsplit=1)[0])
    return NetURL(scheme, host, split[1], path)


def _split_port(hostport: str, scheme: str) -> tuple[str, int] | None:
    if hostport.startswith("["):
        close = hostport.find("]")
        if close == -1:
            return None
        host, after = hostport[: close + 1], hostport[close + 1 :]
        if after and not after.startswith(":"):
            return None
        port_s = after[1:]
    else:
        host, _, port_s = hostport.partition(":")
    if port_s == "":
        return host, DEFAULT_PORTS[scheme]
    if not port_s.isascii() or not port_s.isdigit() or int(port_s) > 65535:
        return None
    return host, int(port_s)


def normalise_host(host: str) -> str | None:
    """A host as the browser would connect to it (IPv4 dotted, punycode, lower case)."""
    if host.startswith("["):
        inner = host[1:-1].lower()
        if not inner or not re.fullmatch(r"[0-9a-f:.]+", inner):
            return None
        return f"[{inner}]"
    host = unquote(host, errors="strict") if "%" in host else host
    if not host or _CONTROL.search(host):
        return None
    try:
        ascii_host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        ascii_host = host.lower() if host.isascii() else ""
    ascii_host = ascii_host.lower()
    if ascii_host.endswith("."):
        ascii_host = ascii_host[:-1]
    if not ascii_host or any(c in _FORBIDDEN_HOST for c in ascii_host):
        return None
    ipv4 = _ipv4(ascii_host)
    if ipv4 is not None:
        return ipv4
    if ascii_host.rsplit(".", 1)[-1].isdigit() or ascii_host.rsplit(".", 1)[-1].startswith("0x"):
        return None  # looks numeric but is no valid IPv4: WHATWG fails such a URL
    labels = ascii_host.split(".")
    if not all(_HOST_LABEL.match(label) for label in labels):
        return None
    return ascii_host


def _ipv4_part(part: str) -> int | None:
    try:
        if part.lower().startswith("0x"):
            return int(part[2:] or "0", 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        return int(part, 10) if part.isdigit() else None
    except ValueError:
        return None


def _ipv4(host: str) -> str | None:
    """The dotted quad of a WHATWG IPv4 host (``2130706433``, ``0x7f.1``), else None."""
    parts = host.split(".")
    if len(parts) > 4 or not all(parts):
        return None
    nums = [_ipv4_part(p) for p in parts]
    if any(n is None for n in nums):
        return None
    values = [n for n in nums if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    addr = values[-1]
    for i, n in enumerate(values[:-1]):
        addr += n << (8 * (3 - i))
    return ".".join(str((addr >> s) & 255) for s in (24, 16, 8, 0))


def _unescape_unreserved(m: re.Match[str]) -> str:
    ch = chr(int(m.group(1), 16))
    if ch.isascii() and (ch.isalnum() or ch in "-._~"):
        return ch
    return "%" + m.group(1).upper()


def normalise_path(path: str) -> str:
    """Percent-encoding normalised (unreserved decoded, hex upper case), dot segments gone."""
    path = _UNRESERVED.sub(_unescape_unreserved, path)
    out: list[str] = []
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
            continue
        if seg == "..":
            if out:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(seg)
    return "/" + "/".join(out)
