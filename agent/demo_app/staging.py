"""The staging variant of the demo app's pages: what a QA re-drive must tell apart."""

from __future__ import annotations

STAGING_REST_BUTTON = "Post (REST)"
"""The REST button's staging name (as wide as the old one: the button row does not wrap)."""
STAGING_WS_CONFIRM = "Send over the WebSocket?"
STAGING_LOOKUP_DELAY_S = 1.5
STAGING_MOVED = "#lookup-submit"
"""The element the staging page has moved (the lookup form's button, from last to first)."""
_LOOKUP_BUTTON = '      <button id="lookup-submit" type="submit">Look up</button>\n'
_LOOKUP_FIRST = "      <label>Client name"
_STAGING_SCRIPT = (
    "<script>document.getElementById('send-ws').addEventListener('click', function () "
    f"{{ confirm('{STAGING_WS_CONFIRM}'); }});</script>\n"
)


def staging_html(html: str) -> str:
    """The staging variant of a page: a renamed button, a download link with another id, a
    moved button (the lookup form's, first instead of last) and a confirmation dialog before a
    WebSocket order."""
    html = html.replace(">Send (REST)<", f">{STAGING_REST_BUTTON}<")
    if _LOOKUP_BUTTON in html:
        html = html.replace(_LOOKUP_BUTTON, "").replace(
            _LOOKUP_FIRST, _LOOKUP_BUTTON + _LOOKUP_FIRST, 1
        )
    html = html.replace('id="download-report"', 'id="report-link"')
    return html.replace(
        '<script src="/static/app.js">', _STAGING_SCRIPT + '<script src="/static/app.js">'
    )
