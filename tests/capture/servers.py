"""Local test sites for capture tests: two real aiohttp servers on 127.0.0.1.

Site A (``a``) is reached as ``http://127.0.0.1:PORT``; site B (``b``) as
``http://localhost:PORT`` so that an iframe from B inside a page of A is cross-site and
Chromium puts it in its own renderer (an out-of-process iframe, a separate CDP target).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from agent.capture.config import CaptureConfig
from agent.capture.session import CaptureSession
from agent.clock import SystemClock
from agent.events import Event
from agent.testing import MemorySink

BIG_BODY = bytes(range(256)) * 8192  # 2 MiB of binary
UNREAD_BODY = b'{"secret_quote": 4242, "note": "never read by the page"}'
DOWNLOAD_BODY = b"trade-confirmations\n" * 5000
WS_FLOOD = 300

PAGES: dict[str, str] = {
    "main.html": """<!doctype html><html><head><title>Main</title></head><body>
<h1 id=h>main page</h1>
<a id=blank href="/child.html?via=blank" target="_blank">new tab</a>
<button id=open onclick="window.open('/child.html?via=open', 'w1')">popup</button>
<iframe id=xo src="{b}/frame.html" width=300 height=100></iframe>
</body></html>""",
    "child.html": """<!doctype html><html><head><title>Child</title></head><body>
<p id=p>child page</p><button id=c onclick="this.textContent='clicked'">c</button>
</body></html>""",
    "frame.html": """<!doctype html><html><head><title>Frame</title></head><body>
<p id=fp>cross-site frame</p>
<button id=fb onclick="fetch('/frame-api').then(r=>r.text()).then(t=>{{this.textContent=t}})">
fb</button></body></html>""",
    "net.html": """<!doctype html><html><head><title>Net</title>
<link rel=stylesheet href="/style.css"></head><body>
<button id=go onclick="go()">go</button><div id=out></div>
<script>
async function go() {{
  const r = await fetch('/api/data', {{method: 'POST', body: JSON.stringify({{qty: 7}}),
                                       headers: {{'content-type': 'application/json'}}}});
  document.getElementById('out').textContent = (await r.json()).price;
}}
window.unread = () => fetch('/api/unread');            // the body is never read
window.redirect = () => fetch('/redirect').then(r => r.text());
window.fail = () => fetch('{dead}/nothing').catch(e => 'failed');
window.big = () => fetch('/api/big').then(r => r.arrayBuffer()).then(b => b.byteLength);
</script></body></html>""",
    "ws.html": """<!doctype html><html><head><title>WS</title></head><body>
<button id=order onclick="ws.send(JSON.stringify({{side: 'buy', qty: 100}}))">order</button>
<script>
window.ws = new WebSocket('ws://' + location.host + '/ws');
window.got = 0;
ws.binaryType = 'arraybuffer';
ws.onmessage = () => {{ window.got++; }};
window.flood = () => ws.send('flood');
window.bin = () => ws.send(new Uint8Array([0, 1, 2, 255]));
</script></body></html>""",
    "dialog.html": """<!doctype html><html><head><title>Dialogs</title></head><body>
<button id=al onclick="alert('Order sent')">alert</button>
<button id=cf onclick="window.c = confirm('Cancel all orders?')">confirm</button>
<button id=pr onclick="window.p = prompt('Account?', 'ACC-1')">prompt</button>
<a id=dl href="/download">download</a>
<button id=err onclick="console.error('bad quote', 42); null.x">err</button>
</body></html>""",
    "plain.html": """<!doctype html><html><head><title>Plain</title></head><body>
<p id=p>plain</p><button id=b onclick="document.getElementById('p').textContent='changed'">b
</button></body></html>""",
    "field.html": """<!doctype html><html><head><title>Field</title></head><body>
<input id=field name=field></body></html>""",
    # DOMContentLoaded waits for /stall.js, which answers only when the sites shut down.
    "loading.html": """<!doctype html><html><head><title>Loading</title></head><body>
<input id=field name=field>
<script src="/stall.js"></script></body></html>""",
    # A dedicated, a shared and a service worker, each fetching at once when it starts.
    "workers.html": """<!doctype html><html><head><title>Workers</title></head><body>
<p id=p>workers</p>
<script>
const w = new Worker('/w.js');
w.onmessage = (e) => {{ window.workerGot = e.data; }};
const shw = new SharedWorker('/shw.js');
shw.port.onmessage = (e) => {{ window.sharedGot = e.data; }};
window.swReady = navigator.serviceWorker.register('/sw.js')
  .then(() => navigator.serviceWorker.ready).then(() => 'ready', (e) => 'failed: ' + e);
</script></body></html>""",
    # Popups whose document is their first request and whose first subresource follows at once.
    "opener.html": """<!doctype html><html><head><title>Opener</title></head><body>
<button id=same onclick="window.open('/popped.html?n=' + (++window.n))">same-site</button>
<button id=other onclick="window.open('{b}/popped.html?n=' + (++window.n))">cross-site</button>
<a id=blank href="/popped.html?n=link" target="_blank">link</a>
<button id=noopener onclick="window.open('/popped.html?n=' + (++window.n), '_blank', 'noopener')">
noopener</button>
<script>window.n = 0;</script></body></html>""",
    "popped.html": """<!doctype html><html><head><title>Popped</title>
<script src="/first.js"></script></head><body><p id=p>popped</p>
<script>fetch('/api/plain?first=' + location.search.slice(3));</script></body></html>""",
    # Custom elements with closed shadow roots: one defined at once, one defined later, one
    # added later; the page keeps the roots to change them.
    "closed.html": """<!doctype html><html><head><title>Closed</title></head><body>
<p id=p>light text</p><x-vault id=v></x-vault><x-late id=l></x-late>
<script>
window.roots = {{}};
function closedRoot(el, name, html) {{
  const r = el.attachShadow({{mode: 'closed'}});
  r.innerHTML = html;
  window.roots[name] = r;
}}
customElements.define('x-vault', class extends HTMLElement {{
  constructor() {{
    super();
    closedRoot(this, 'vault', '<span id=msg>closed hello</span>'
      + '<input id=pw type=password value="hunter2-secret">');
  }}
}});
window.defineLate = () => customElements.define('x-late', class extends HTMLElement {{
  constructor() {{ super(); closedRoot(this, 'late', '<b>late defined</b>'); }}
}});
window.addLater = () => {{
  customElements.define('x-added', class extends HTMLElement {{
    constructor() {{ super(); closedRoot(this, 'added', '<i>added later</i>'); }}
  }});
  document.body.append(document.createElement('x-added'));
}};
window.change = () => {{
  window.roots.vault.getElementById('msg').textContent = 'closed changed';
  window.roots.vault.getElementById('pw').value = 'typed-secret';
}};
</script></body></html>""",
    # Closed roots on built-in elements: a div and a span (page script), a section (declared
    # in HTML); window.attachLater() gives the paragraph #later one after load. The texts
    # page script puts in the roots are split in its source, which is recorded too.
    "closed_builtin.html": """<!doctype html><html><head><title>Builtin</title></head><body>
<p id=p>light text</p><div id=d></div><span id=s><em>unslotted light</em></span>
<section id=decl><template shadowrootmode="closed"><u>declared closed</u></template></section>
<p id=later>later light</p>
<script>
window.roots = {{}};
function closedRoot(id, html) {{
  const r = document.getElementById(id).attachShadow({{mode: 'closed'}});
  r.innerHTML = html;
  window.roots[id] = r;
}}
closedRoot('d', '<b id=msg>div ' + 'closed</b>');
closedRoot('s', '<i>span ' + 'closed</i>');
window.attachLater = () => closedRoot('later', '<tt>attached ' + 'later</tt>');
window.change = () => {{ window.roots.d.getElementById('msg').textContent = 'div ' + 'changed'; }};
</script></body></html>""",
    # Thousands of plain divs (no shadow root) and, on request, 30 chains of divs nested 200
    # deep (deeper than one describeNode of a document scan goes) with a closed root at the
    # bottom of the last one.
    "many_divs.html": """<!doctype html><html><head><title>Many</title></head><body>
<div id=flat></div><div id=deep></div>
<script>
const flat = document.getElementById('flat');
for (let i = 0; i < 5000; i++) {{
  const d = document.createElement('div');
  d.textContent = 'cell ' + i;
  flat.append(d);
}}
window.nestDeep = () => {{
  let last = null;
  for (let c = 0; c < 30; c++) {{
    let el = document.getElementById('deep');
    for (let i = 0; i < 200; i++) el = el.appendChild(document.createElement('div'));
    last = el;
  }}
  last.attachShadow({{mode: 'closed'}}).innerHTML = '<b>deep ' + 'closed</b>';
}};
</script></body></html>""",
}

# Worker scripts (served as JavaScript); their first line is a request.
SCRIPTS: dict[str, str] = {
    "w.js": """fetch('/api/w', {headers: {'Authorization': 'Bearer worker-secret-token'}})
  .then((r) => r.text()).then((t) => postMessage(t));""",
    "first.js": "window.firstRan = true;",
    "shw.js": """const got = fetch('/api/w?shared=1').then((r) => r.text());
onconnect = (e) => got.then((t) => e.ports[0].postMessage(t));""",
    "sw.js": """self.addEventListener('install', (e) => {
  e.waitUntil(fetch('/api/sw?install=1').then((r) => r.text()));
});
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));""",
}
WORKER_BODY = '{"quote": "w-ok", "card": "4111 1111 1111 1111"}'
SW_BODY = '{"quote": "sw-ok", "card": "5555 5555 5555 4444"}'


@dataclass
class Sites:
    """Base URLs of the two test sites."""

    a: str
    b: str
    hits: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # lets /stall.js answer


async def _worker_api(request: web.Request) -> web.Response:
    return web.Response(text=WORKER_BODY, content_type="application/json")


async def _sw_api(request: web.Request) -> web.Response:
    return web.Response(text=SW_BODY, content_type="application/json")


async def _big(request: web.Request) -> web.Response:
    return web.Response(body=BIG_BODY, content_type="application/octet-stream")


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/api/plain")


async def _plain(request: web.Request) -> web.Response:
    return web.Response(text="landed")


async def _style(request: web.Request) -> web.Response:
    return web.Response(text="body { color: rgb(1, 2, 3); }", content_type="text/css")


async def _frame_api(request: web.Request) -> web.Response:
    return web.Response(text="frame-ok")


async def _download(request: web.Request) -> web.Response:
    return web.Response(
        body=DOWNLOAD_BODY,
        headers={
            "Content-Disposition": 'attachment; filename="confirms.txt"',
            "Content-Type": "application/octet-stream",
        },
    )


async def _script(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in SCRIPTS:
        raise web.HTTPNotFound()
    return web.Response(text=SCRIPTS[name], content_type="text/javascript")


async def _ws(request: web.Request) -> web.WebSocketResponse:
    sock = web.WebSocketResponse()
    await sock.prepare(request)
    await sock.send_str('{"type":"hello"}')
    async for msg in sock:
        if msg.type == WSMsgType.TEXT and msg.data == "flood":
            for i in range(WS_FLOOD):
                await sock.send_str(f'{{"tick":{i}}}')
        elif msg.type == WSMsgType.TEXT:
            await sock.send_str('{"ack":' + msg.data + "}")
        elif msg.type == WSMsgType.BINARY:
            await sock.send_bytes(bytes(reversed(msg.data)))
    return sock


def _app(sites: Sites) -> web.Application:
    async def page(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in PAGES:
            raise web.HTTPNotFound()
        html = PAGES[name].format(b=sites.b, dead="http://127.0.0.1:9")
        return web.Response(text=html, content_type="text/html")

    async def data(request: web.Request) -> web.Response:
        body = await request.read()
        sites.hits.append("data:" + body.decode())
        return web.json_response({"price": 101.25, "echo": body.decode()})

    async def unread(request: web.Request) -> web.Response:
        sites.hits.append("unread")
        return web.Response(body=UNREAD_BODY, content_type="application/json")

    async def stall(request: web.Request) -> web.Response:
        await sites.release.wait()
        return web.Response(text="", content_type="text/javascript")

    app = web.Application()
    app.router.add_get("/stall.js", stall)
    app.router.add_get("/api/unread", unread)
    app.router.add_post("/api/data", data)
    app.router.add_get("/api/big", _big)
    app.router.add_get("/api/plain", _plain)
    app.router.add_get("/redirect", _redirect)
    app.router.add_get("/style.css", _style)
    app.router.add_get("/frame-api", _frame_api)
    app.router.add_get("/download", _download)
    app.router.add_get("/ws", _ws)
    app.router.add_get("/api/w", _worker_api)
    app.router.add_get("/api/sw", _sw_api)
    app.router.add_get("/{name:[a-z]+\\.js}", _script)
    app.router.add_get("/{name}", page)
    return app


@contextlib.asynccontextmanager
async def sites() -> AsyncIterator[Sites]:
    """Start sites A and B; yield their base URLs."""
    s = Sites("", "")
    runners = []
    urls = []
    for host in ("127.0.0.1", "localhost"):
        runner = web.AppRunner(_app(s), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        # aiohttp exposes the bound port only on the private server (port 0 picks a free one)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        runners.append(runner)
        urls.append(f"http://{host}:{port}")
    s.a, s.b = urls
    try:
        yield s
    finally:
        s.release.set()
        for r in runners:
            await r.cleanup()


def capture_config(**overrides: Any) -> CaptureConfig:
    """Capture config for tests: headless, small caps so limits are exercised."""
    base: dict[str, Any] = {
        "headless": "true",
        "body_cap_bytes": 4096,
        "executable": "/usr/lib/chromium/chromium",
    }
    base.update(overrides)
    return CaptureConfig(**base)


class SkippingClock(SystemClock):
    """The system clock plus an offset a test moves forward: a time window (a per-second
    budget) passes at once instead of after a real sleep."""

    def __init__(self) -> None:
        self.offset_ns = 0

    def utc_ns(self) -> int:
        return super().utc_ns() + self.offset_ns

    def mono_ns(self) -> int:
        return super().mono_ns() + self.offset_ns

    def skip_s(self, s: float) -> None:
        """Move both clocks ``s`` seconds forward."""
        self.offset_ns += int(s * 1_000_000_000)


@contextlib.asynccontextmanager
async def recording(
    home: Path, url: str | None = None, *, clock: SystemClock | None = None, **overrides: Any
) -> AsyncIterator[tuple[CaptureSession, MemorySink]]:
    """A started ``CaptureSession`` writing to a ``MemorySink``; stopped on exit."""
    sink = MemorySink()
    session = CaptureSession(capture_config(**overrides), sink, clock or SystemClock(), home)
    await session.start(url)
    try:
        yield session, sink
    finally:
        await session.stop()


def of_kind(sink: MemorySink, kind: str) -> list[Event]:
    """Events of one kind, in order."""
    return [e for e in sink.events if e.kind == kind]


async def wait_for(pred: Any, timeout: float = 10.0, step: float = 0.05) -> Any:
    """Poll ``pred()`` until it returns a truthy value (the value) or fail after ``timeout``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if loop.time() > end:
            raise AssertionError(f"condition not met in {timeout}s")
        await asyncio.sleep(step)
