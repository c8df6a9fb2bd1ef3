"""The cross-origin market-news widget: a second aiohttp site on another port.

A different port is a different origin, so the app's ``<iframe>`` of it is cross-origin
(Chromium may still keep it in-process without strict site isolation; a recorder must
reach it through target auto-attach either way).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"


async def start_widget_site(
    host: str, port: int, app_origin: str, on_click: Callable[[], None] | None
) -> tuple[web.AppRunner, str]:
    """Serve ``/widget``; ``on_click`` runs for each POST /widget/click (no such route without
    it: the widget's front end only). Returns the URL."""

    async def widget(request: web.Request) -> web.Response:
        html = (STATIC / "widget.html").read_text(encoding="utf-8")
        return web.Response(
            text=html.replace("__APP_ORIGIN__", app_origin), content_type="text/html"
        )

    async def click(request: web.Request) -> web.Response:
        if on_click is not None:
            on_click()
        return web.json_response({"ok": True})

    async def script(request: web.Request) -> web.Response:
        return web.Response(
            text=(STATIC / "widget.js").read_text(encoding="utf-8"),
            content_type="application/javascript",
        )

    app = web.Application()
    app.router.add_get("/widget", widget)
    if on_click is not None:
        app.router.add_post("/widget/click", click)
    app.router.add_get("/widget.js", script)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound = runner.addresses[0][1]
    return runner, f"http://{host}:{bound}/widget"
