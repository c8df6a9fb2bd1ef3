"""Two real HTTP sites for kiosk tests and a kiosk recording on them.

The allowed site is ``http://127.0.0.1:PORT``; the other one, never allowed, is
``http://localhost:PORT2``. Each site keeps an access log (``hits``): a bypass attempt failed
when the other site's log has no request for the document it tried to show.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.capture.session import CaptureSession
from agent.clock import SystemClock
from agent.config import Config, load_config
from agent.events import Event
from agent.kiosk.enforce import kiosk_gate
from agent.kiosk.policy import KioskPolicy, kiosk_args
from agent.testing import MemorySink
from tests.capture.servers import capture_config

EVIL = "evil document from the other site"
DOWNLOAD_BODY = b"statement of account\n" * 100

ALLOWED_PAGES: dict[str, str] = {
    "start.html": """<!doctype html><html><head><title>Start</title></head><body>
<h1 id=h>kiosk start</h1>
<a id=link href="{b}/evil.html">link</a>
<a id=redir href="/hop1">redirect chain</a>
<button id=open onclick="window.open('{b}/evil.html')">window.open</button>
<a id=blank href="{b}/evil.html" target=_blank>new tab</a>
<form id=f method=post action="{b}/collect"><input name=q value=1><button id=fb>post</button></form>
<a id=data href="data:text/html,<h1>data document</h1>">data</a>
<button id=dataopen onclick="window.open('data:text/html,<h1>data popup</h1>')">data popup</button>
<a id=js href="javascript:location.href='{b}/evil.html'">js</a>
<a id=file href="file:///etc/hostname">file</a>
<a id=ok href="/ok.html">ok</a>
<a id=dl href="/download">download</a>
<img id=img src="{b}/pixel.png">
</body></html>""",
    "ok.html": """<!doctype html><html><head><title>OK</title></head><body>
<p id=ok>allowed page</p></body></html>""",
    # What the page itself saw of the customer's input: keys and clicks counted by its own
    # capture-phase listeners (registered by the page, after the kiosk's controls).
    "type.html": """<!doctype html><html><head><title>Type</title></head><body>
<input id=field autofocus><button id=press type=button>press</button>
<script>
window.seen = {{keys: 0, clicks: 0}};
addEventListener('keydown', () => window.seen.keys++, true);
addEventListener('click', () => window.seen.clicks++, true);
</script></body></html>""",
    "meta.html": """<!doctype html><html><head><title>Meta</title>
<meta http-equiv="refresh" content="0;url={b}/evil.html"></head><body>refreshing</body></html>""",
    "frame.html": """<!doctype html><html><head><title>Frames</title></head><body>
<iframe id=xo src="{b}/evil.html"></iframe>
<iframe id=dataframe src="data:text/html,<p id=d>data frame</p>"></iframe>
</body></html>""",
    "sw.html": """<!doctype html><html><head><title>SW</title></head><body>
<script>
window.swReady = navigator.serviceWorker.register('/sw.js').then(
  () => navigator.serviceWorker.ready).then(() => 'ready', e => 'failed: ' + e);
</script></body></html>""",
}

# Leaves every kind of browser state a customer could leave (leaveState) and reads it back
# (probeState); the next customer's browser must have none of it.
STATE_PAGE = """<!doctype html><html><head><title>State</title></head><body>
<p id=state>browser state</p>
<script>
const idbNames = async () => (await indexedDB.databases()).map(d => d.name);
window.leaveState = async () => {
  document.cookie = 'customer=1; max-age=86400; path=/';
  localStorage.setItem('customer', '1');
  sessionStorage.setItem('customer', '1');
  await new Promise((ok, no) => {
    const r = indexedDB.open('customer-db', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('s');
    r.onsuccess = () => { r.result.close(); ok(); };
    r.onerror = () => no(r.error);
  });
  await (await caches.open('customer-cache')).put('/ok.html', new Response('cached'));
  await navigator.serviceWorker.register('/sw.js');
  await navigator.serviceWorker.ready;
  return window.probeState();
};
window.probeState = async () => ({
  cookie: document.cookie,
  local: localStorage.getItem('customer'),
  session: sessionStorage.getItem('customer'),
  idb: await idbNames(),
  caches: await caches.keys(),
  workers: (await navigator.serviceWorker.getRegistrations()).length,
});
</script></body></html>"""
ALLOWED_PAGES["state.html"] = STATE_PAGE.replace("{", "{{").replace("}", "}}")

SW_JS = """const html = t => new Response(t, {headers: {'content-type': 'text/html'}});
self.addEventListener('install', e => self.skipWaiting());
self.addEventListener('activate', e => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', e => {
  if (new URL(e.request.url).pathname === '/sw-proxy') {
    e.respondWith(fetch('__B__/evil.html', {mode: 'no-cors'}).then(
      r => r.ok ? new Response(r.body, {headers: {'content-type': 'text/html'}})
                : html('<p id=swfail>proxy failed</p>'),
      () => html('<p id=swfail>proxy blocked</p>')));
  }
});"""


@dataclass
class KioskSites:
    """Base URLs of the allowed site (``a``) and the other site (``b``), with access logs."""

    a: str = ""
    b: str = ""
    hits_a: list[str] = field(default_factory=list)
    hits_b: list[str] = field(default_factory=list)

    def b_paths(self) -> list[str]:
        """Paths the other site was asked for."""
        return list(self.hits_b)


def _app(s: KioskSites, allowed: bool) -> web.Application:
    hits = s.hits_a if allowed else s.hits_b

    @web.middleware
    async def log(request: web.Request, handler: Any) -> web.StreamResponse:
        hits.append(request.path)
        resp: web.StreamResponse = await handler(request)
        return resp

    async def page(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not allowed:
            return web.Response(text=f"<h1 id=evil>{EVIL}</h1>", content_type="text/html")
        if name not in ALLOWED_PAGES:
            raise web.HTTPNotFound()
        return web.Response(text=ALLOWED_PAGES[name].format(b=s.b), content_type="text/html")

    async def hop1(request: web.Request) -> web.Response:
        raise web.HTTPFound("/hop2")

    async def hop2(request: web.Request) -> web.Response:
        raise web.HTTPFound(s.b + "/evil.html")

    async def sw(request: web.Request) -> web.Response:
        return web.Response(text=SW_JS.replace("__B__", s.b), content_type="text/javascript")

    async def collect(request: web.Request) -> web.Response:
        return web.Response(text=f"<h1 id=evil>{EVIL}</h1>", content_type="text/html")

    async def ws(request: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        await sock.send_str("hello from the allowed site" if allowed else EVIL)
        await sock.close()
        return sock

    async def download(request: web.Request) -> web.Response:
        disposition = 'attachment; filename="statement.txt"'
        return web.Response(body=DOWNLOAD_BODY, headers={"Content-Disposition": disposition})

    app = web.Application(middlewares=[log])
    app.router.add_get("/download", download)
    app.router.add_get("/hop1", hop1)
    app.router.add_get("/hop2", hop2)
    app.router.add_get("/sw.js", sw)
    app.router.add_get("/ws", ws)
    app.router.add_post("/collect", collect)
    app.router.add_get("/{name}", page)
    return app


@contextlib.asynccontextmanager
async def kiosk_sites() -> AsyncIterator[KioskSites]:
    """Start the allowed site and the other one."""
    s = KioskSites()
    runners = []
    for host, allowed in (("127.0.0.1", True), ("localhost", False)):
        runner = web.AppRunner(_app(s, allowed), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        runners.append(runner)
        if allowed:
            s.a = f"http://{host}:{port}"
        else:
            s.b = f"http://{host}:{port}"
    try:
        yield s
    finally:
        for r in runners:
            await r.cleanup()


@contextlib.asynccontextmanager
async def kiosk(
    home: Path, s: KioskSites, path: str = "/start.html", *, headless: bool = True, **kw: Any
) -> AsyncIterator[tuple[CaptureSession, MemorySink, KioskPolicy]]:
    """A kiosk recording that allows only site A, started on ``path``."""
    policy = KioskPolicy.build(s.a + "/start.html", [s.a], **kw)
    cfg = capture_config(
        headless="true" if headless else "false", extra_args=kiosk_args(policy, headless=headless)
    )
    sink = MemorySink()
    session = CaptureSession(cfg, sink, SystemClock(), home, gate=kiosk_gate(policy))
    await session.start(s.a + path)
    try:
        yield session, sink, policy
    finally:
        await session.stop()


def blocked(sink: MemorySink) -> list[Event]:
    """The ``kiosk.blocked`` events so far."""
    return [e for e in sink.events if e.kind == "kiosk.blocked"]


def kiosk_config() -> Config:
    """The default config with the test capture settings (for ``KioskService``)."""
    return load_config(env={}).model_copy(update={"capture": capture_config()})
