"""Archived assets in replay: rewrite recorded URLs to the archive, placeholders for gaps.

The recorder inlines stylesheets (rrweb ``_cssText``); images, fonts and non-inlined sheets
keep their live URLs. The viewer never fetches the live site: URLs the journal archived
(``net.asset`` events) are rewritten to ``<prefix><sha256>`` (the viewer's ``/assets/`` route,
or ``assets/`` in an offline bundle), and the viewer's CSP (``img-src 'self'``...) blocks the
rest. An archived hash whose file is missing is served as a placeholder, and listed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PLACEHOLDER_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
    b'<rect width="120" height="40" fill="#eee" stroke="#c00" stroke-dasharray="4"/>'
    b'<text x="60" y="24" font-size="10" text-anchor="middle" fill="#c00">asset missing</text>'
    b"</svg>"
)


def asset_path(root: Path, sha: str) -> Path:
    """Where the asset store keeps ``sha`` (see agent.capture.assets.AssetStore)."""
    return root / sha[:2] / sha[2:]


def is_sha256(text: str) -> bool:
    """A lowercase hex SHA-256."""
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def placeholder(mime: str, sha: str) -> tuple[bytes, str]:
    """Body and content type standing in for a missing asset of type ``mime``."""
    if "css" in mime:
        return f"/* sessiontape: asset {sha} is missing from the archive */".encode(), "text/css"
    if mime.startswith("font"):
        return b"", mime
    return PLACEHOLDER_SVG, "image/svg+xml"


def url_map(assets: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Recorded URL -> sha256 for every archived asset with a URL."""
    return {str(a["url"]): sha for sha, a in assets.items() if a.get("url")}


def rewrite(event: dict[str, Any], urls: dict[str, str], prefix: str) -> dict[str, Any]:
    """A copy of a record dict whose payload points archived URLs at ``prefix + sha``."""
    if not urls:
        return event
    text = json.dumps(event, ensure_ascii=False)
    changed = False
    for url, sha in urls.items():
        esc = json.dumps(url, ensure_ascii=False)[1:-1]
        if esc in text:
            text = text.replace(esc, prefix + sha)
            changed = True
    return json.loads(text) if changed else event
