"""The branded "not available here" page a blocked document is answered with."""

from __future__ import annotations

import html

BLOCK_STATUS = 403  # the truth for scripts that look; the browser renders the body anyway
BLOCK_MARK = "sessiontape-kiosk-blocked"  # the id of the page's root element, for tests

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Not available here</title><meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<style>body{{margin:0;font:18px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1d2330;
display:flex;align-items:center;justify-content:center;min-height:100vh}}
main{{max-width:36em;padding:2em 2.5em;background:#fff;border-radius:12px;
box-shadow:0 2px 12px rgba(0,0,0,.08)}}h1{{font-size:1.5em;margin:0 0 .4em}}
.u{{font:13px monospace;color:#5a6270;word-break:break-all}}</style></head>
<body><main id="{mark}"><div>{brand}</div><h1>This page is not available here</h1>
<p>This terminal only opens the services it was set up for. Please ask the operator if you
need something else.</p><p class="u">{url}</p></main></body></html>"""


def block_page(url: str, brand: str = "") -> str:
    """The block page for ``url`` (shown to the customer, so only the URL, escaped)."""
    return _PAGE.format(mark=BLOCK_MARK, brand=html.escape(brand), url=html.escape(url[:300]))
