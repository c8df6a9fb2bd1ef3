"""Archived assets in replay: rewrite recorded URLs to the archive, placeholders for gaps.

The recorder inlines stylesheets (rrweb ``_cssText``); images, fonts and non-inlined sheets
keep their live URLs. The viewer never fetches the live site: every URL under which the
journal archived an asset (``net.asset`` events) is rewritten to ``<prefix><sha256>`` (the
viewer's ``/assets/<asset key>/`` route, or ``assets/`` in an offline bundle) and every other
URL is removed (:mod:`agent.replay.rrweb_urls`); the viewer's CSP (``img-src 'self'``...)
would block any left. An archived hash whose file is missing is served as a placeholder,
and listed.

Archived bytes came from a page the recorded person (or a hostile site) controlled, so their
recorded ``Content-Type`` is not trusted: :func:`served_type` decides from the bytes
themselves (magic numbers of raster images and fonts; SVG and CSS only when the bytes look
like SVG or CSS) and everything else is served as an attachment of
``application/octet-stream`` (see :data:`ASSET_HEADERS`), so a recorded HTML page or script
never renders as a document of the viewer's origin.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

PLACEHOLDER_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
    b'<rect width="120" height="40" fill="#eee" stroke="#c00" stroke-dasharray="4"/>'
    b'<text x="60" y="24" font-size="10" text-anchor="middle" fill="#c00">asset missing</text>'
    b"</svg>"
)


OCTET_STREAM = "application/octet-stream"
ASSET_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
ASSET_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": ASSET_CSP,
    "Cross-Origin-Resource-Policy": "same-origin",
}
"""Headers on every archived asset: no sniffing, no script (``sandbox`` gives the document an
opaque origin without ``allow-scripts``), no loads, and not embeddable by another origin."""

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"\x00\x00\x01\x00", 0, "image/x-icon"),
    (b"BM", 0, "image/bmp"),
    (b"wOFF", 0, "font/woff"),
    (b"wOF2", 0, "font/woff2"),
    (b"OTTO", 0, "font/otf"),
    (b"\x00\x01\x00\x00", 0, "font/ttf"),
    (b"true", 0, "font/ttf"),
    (b"ttcf", 0, "font/collection"),
)


def _sniff_binary(data: bytes) -> str | None:
    """The image or font type the magic number of ``data`` says, if any."""
    for magic, at, mime in _MAGIC:
        if data[at : at + len(magic)] == magic:
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "image/avif"
    return None


def _text(data: bytes) -> str | None:
    """``data`` as UTF-8 text without NUL bytes (a BOM dropped), else None."""
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _looks_like_svg(text: str) -> bool:
    """An XML document whose root element is ``<svg``, after any prolog/comments/doctype."""
    head = text.lstrip()
    while head.startswith(("<?xml", "<!--", "<!DOCTYPE svg", "<!doctype svg")):
        end = head.find("-->" if head.startswith("<!--") else ">")
        if end < 0:
            return False
        head = head[end + (3 if head.startswith("<!--") else 1) :].lstrip()
    return head.startswith("<svg") and head[4:5] in (" ", ">", "\n", "\t", "\r", "/")


def served_type(data: bytes, recorded_mime: str) -> str:
    """The ``Content-Type`` the viewer serves an archived asset with (never a document type
    that runs script): a sniffed image/font type, SVG or CSS when the recorded type says so
    and the bytes agree, else ``application/octet-stream``."""
    sniffed = _sniff_binary(data)
    if sniffed is not None:
        return sniffed
    base = recorded_mime.split(";", 1)[0].strip().lower()
    text = _text(data) if base in ("image/svg+xml", "text/css") else None
    if text is None:
        return OCTET_STREAM
    if base == "image/svg+xml" and _looks_like_svg(text):
        return "image/svg+xml"
    if base == "text/css" and not text.lstrip().startswith("<"):
        return "text/css; charset=utf-8"
    return OCTET_STREAM


def asset_headers(ctype: str, sha: str) -> dict[str, str]:
    """The headers of an archived asset served as ``ctype``: :data:`ASSET_HEADERS`, plus a
    download disposition for anything not on the allow-list."""
    headers = {**ASSET_HEADERS, "Content-Type": ctype}
    if ctype == OCTET_STREAM:
        headers["Content-Disposition"] = f'attachment; filename="{sha}.bin"'
    return headers


def asset_path(root: Path, sha: str) -> Path:
    """Where the asset store keeps ``sha`` (see agent.capture.assets.AssetStore)."""
    return root / sha[:2] / sha[2:]


AssetFinder = Callable[[str], Path]
"""Where an archive keeps the asset with a given SHA-256 (the file may be missing)."""


def in_store(root: Path) -> AssetFinder:
    """The finder of an asset store (``<home>/assets``: ``ab/cdef…``)."""
    return lambda sha: asset_path(root, sha)


def in_flat_dir(root: Path) -> AssetFinder:
    """The finder of a bundle's ``viewer/<session>/assets`` (one file per hash)."""
    return lambda sha: root / sha


def is_sha256(text: str) -> bool:
    """A lowercase hex SHA-256."""
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def placeholder(mime: str, sha: str) -> tuple[bytes, str]:
    """Body and content type standing in for a missing asset of type ``mime``."""
    if "css" in mime:
        return f"/* sessiontape: asset {sha} is missing from the archive */".encode(), "text/css"
    if mime.startswith("font"):
        return b"", OCTET_STREAM
    return PLACEHOLDER_SVG, "image/svg+xml"


def url_map(assets: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Recorded URL -> sha256 for every URL under which an archived asset was recorded (the
    same bytes are often served under several URLs)."""
    return {
        str(u): sha for sha, a in assets.items() for u in (a.get("urls") or [a.get("url")]) if u
    }
