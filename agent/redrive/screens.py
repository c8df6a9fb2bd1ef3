"""The screen of each step: the re-driven page (a Playwright screenshot) against the original
moment (the recorded events up to just before the person's next action, rebuilt by the rrweb
replayer in a headless Chromium of the agent's own - :class:`agent.replay.render.Renderer`,
archived assets only, never the network), at the recorded viewport size and device scale 1.

Both sides are made still before the picture: animations and transitions off, no caret, no
scrollbars. From both sides the same probe also reads the acted-on element's region (its
nearest form, section, landmark or dialog; its text, bounded) and the boxes of elements whose
text an ``--ignore`` pattern - or a masking token, which is never the real value - matches:
those boxes (clipped to their scrolling containers) are left out of the pixel comparison on
both pictures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from agent.capture.config import CaptureConfig
from agent.errors import CaptureError
from agent.events import Record
from agent.redrive.pixels import Box, PixelDiff, compare, open_png
from agent.redrive.shapes import Shape, recorded_shapes
from agent.redrive.text import REGION_CHARS
from agent.replay.assets import OCTET_STREAM, asset_path, served_type, url_map
from agent.replay.render import Renderer
from agent.replay.rrweb_urls import OfflineUrls
from agent.replay.session import ReplaySession
from agent.replay.thumbs import Moment, replay_events
from agent.rrweb import EventType

MASKED_VALUE = r"\b(?:tok|esc)_[0-9a-f]{16}\b|\[redacted\]"
"""What the masking writes instead of a value: always masked on screen (never the real value)."""

STILL_CSS = (
    "*,*::before,*::after{animation:none!important;transition:none!important;"
    "caret-color:transparent!important;scroll-behavior:auto!important}"
    "::-webkit-scrollbar{display:none}"
)

PROBE_JS = """function (doc, el, patterns, cap) {
  var rx = patterns.map(function (p) { return new RegExp(p); });
  var win = doc.defaultView, vw = win.innerWidth, vh = win.innerHeight;
  var boxes = [];
  var all = doc.body ? doc.body.querySelectorAll('*') : [];
  for (var i = 0; i < all.length && boxes.length < 5000; i++) {
    var e = all[i], own = '', frame = /^(IFRAME|FRAME|EMBED|OBJECT)$/.test(e.tagName);
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(e.tagName)) {
      own = String(e.value || '') + ' ' + String(e.getAttribute('placeholder') || ''); }
    else { for (var c = e.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === 3) { own += c.nodeValue; } } }
    if (!frame && (!own.trim() || !rx.some(function (r) { return r.test(own); }))) { continue; }
    var b = e.getBoundingClientRect();
    var l = Math.max(0, Math.floor(b.left)), t = Math.max(0, Math.floor(b.top));
    var r = Math.min(vw, Math.ceil(b.right)), btm = Math.min(vh, Math.ceil(b.bottom));
    for (var p = e.parentElement; p && p !== doc.body && r > l && btm > t; p = p.parentElement) {
      if (win.getComputedStyle(p).overflow === 'visible') { continue; }
      var pb = p.getBoundingClientRect();
      l = Math.max(l, Math.floor(pb.left)); t = Math.max(t, Math.floor(pb.top));
      r = Math.min(r, Math.ceil(pb.right)); btm = Math.min(btm, Math.ceil(pb.bottom));
    }
    if (r > l && btm > t) { boxes.push([l, t, r, btm]); }
  }
  var region = '', text = '', ebox = null;
  if (el) {
    var eb = el.getBoundingClientRect();
    ebox = [Math.round(eb.left), Math.round(eb.top), Math.round(eb.right), Math.round(eb.bottom)];
    var box = el.closest('form,section,main,nav,aside,header,footer,dialog,fieldset,' +
      '[role=form],[role=region],[role=main],[role=navigation],[role=dialog]') || doc.body;
    region = (box.innerText || box.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, cap);
    text = (el.getAttribute('aria-label') || (el.innerText || '').trim() || el.value ||
      el.title || '');
  }
  return {boxes: boxes, region: region, text: text, box: ebox, w: vw, h: vh};
}"""


@dataclass
class Recording:
    """What the comparisons need from the recording besides the actions: its rrweb events
    (URLs pointed at archived assets), keyframes, the archived assets, and the shapes of
    recorded JSON responses by the ``net.request`` seq."""

    events: list[dict[str, Any]]
    keyframes: dict[str, list[dict[str, Any]]]
    assets: dict[str, bytes] = field(default_factory=dict)  # sha256 -> body (servable ones)
    shapes: dict[int, Shape] = field(default_factory=dict)
    last_seq: int = 0
    drawn: dict[tuple[Any, ...], Any] = field(default_factory=dict)  # moments drawn so far

    def viewport(self) -> tuple[int, int] | None:
        """The viewport of the first page as recorded (its first Meta event)."""
        for e in self.events:
            p = e["payload"]
            if isinstance(p, dict) and p.get("type") == EventType.META:
                d = p.get("data") or {}
                if d.get("width") and d.get("height"):
                    return int(d["width"]), int(d["height"])
        return None

    def moment_events(self, page: str | None, seq: int) -> list[dict[str, Any]]:
        """The events that rebuild ``page``'s main frame at ``seq``."""
        data = {"keyframes": {"streams": self.keyframes}, "events": self.events}
        return replay_events(data, Moment(seq, page))


@dataclass(frozen=True)
class Probe:
    """What one side shows: boxes to mask, the acted-on element's text and region."""

    boxes: list[Box]
    text: str
    region: str
    size: tuple[int, int]
    box: Box | None = None  # the acted-on element's box

    @staticmethod
    def of(raw: Any) -> Probe:
        d = raw if isinstance(raw, dict) else {}
        boxes = [(int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in d.get("boxes") or []]
        text = " ".join(str(d.get("text") or "").split())
        eb = d.get("box")
        box = (int(eb[0]), int(eb[1]), int(eb[2]), int(eb[3])) if eb else None
        size = (int(d.get("w") or 0), int(d.get("h") or 0))
        return Probe(boxes, text, str(d.get("region") or ""), size, box)


@dataclass
class Screen:
    """One step's screen comparison."""

    original: bytes  # PNG of the recorded moment
    redriven: bytes  # PNG of the re-driven page
    diff: PixelDiff
    recorded: Probe
    now: Probe
    scroll: tuple[int, int] = (0, 0)  # the recorded window scroll (the re-driven one follows)


_RENDER_PROBE_JS = """(function (css, patterns, cap) {
  var f = document.querySelector('#root iframe');
  if (!f || !f.contentDocument) { return null; }
  var doc = f.contentDocument, el = null;
  try { el = css ? doc.querySelector(css) : null; } catch (e) { el = null; }
  var st = doc.createElement('style'); st.textContent = %s;
  (doc.head || doc.documentElement).appendChild(st);
  var out = (%s)(doc, el, patterns, cap), b = f.getBoundingClientRect();
  out.x = Math.round(b.left + f.clientLeft); out.y = Math.round(b.top + f.clientTop);
  out.w = f.clientWidth; out.h = f.clientHeight;
  var win = doc.defaultView, scrolls = [[[], win.scrollX, win.scrollY]];
  var path = function (e) { var p = [];
    for (; e && e !== doc.body; e = e.parentElement) {
      p.unshift(Array.prototype.indexOf.call(e.parentElement.children, e)); }
    return p; };
  var all = doc.body ? doc.body.querySelectorAll('*') : [];
  for (var i = 0; i < all.length && scrolls.length < 50; i++) {
    if (all[i].scrollTop || all[i].scrollLeft) {
      scrolls.push([path(all[i]), all[i].scrollLeft, all[i].scrollTop]); } }
  out.scrolls = scrolls;
  return out;
})"""

_SCROLL_JS = """(scrolls) => { for (const [path, x, y] of scrolls) {
  let e = document.body;
  for (const i of path) { e = e && e.children[i]; }
  if (!path.length) { window.scrollTo(x, y); } else if (e) { e.scrollLeft = x; e.scrollTop = y; }
} }"""


class Screens:
    """Renders original moments and compares them with the re-driven page."""

    def __init__(self, rec: Recording, renderer: Renderer, patterns: list[str]) -> None:
        """``patterns``: regular expressions (JavaScript-compatible) whose text is masked."""
        self.rec = rec
        self.renderer = renderer
        self.patterns = [*patterns, MASKED_VALUE]
        self._probe_js = _RENDER_PROBE_JS % (json.dumps(STILL_CSS), PROBE_JS)
        self._scrolls: list[Any] = []  # the recorded scroll positions of the last moment

    @classmethod
    async def start(cls, rec: Recording, executable: str, patterns: list[str]) -> Screens:
        """Launch the rendering browser and load the replayer (``CaptureError`` if it fails)."""
        r = await Renderer.start(CaptureConfig(executable=executable))
        try:
            for sha, body in rec.assets.items():
                r.serve(f"assets/{sha}", body)
            await r.open_replayer()
        except BaseException:
            await r.close()
            raise
        return cls(rec, r, patterns)

    async def close(self) -> None:
        await self.renderer.close()

    async def original(self, page_id: str | None, seq: int, css: str) -> tuple[bytes, Probe]:
        """The recorded moment as PNG and what it shows (``CaptureError`` when it cannot);
        drawn once per recording (a moment is the same in every re-drive)."""
        key = ("screen", page_id, seq, css, *self.patterns)
        if key not in self.rec.drawn:
            self.rec.drawn[key] = await self._original(page_id, seq, css)
        shot, probe, self._scrolls = self.rec.drawn[key]
        return shot, probe

    async def _original(
        self, page_id: str | None, seq: int, css: str
    ) -> tuple[bytes, Probe, list[Any]]:
        events = self.rec.moment_events(page_id, seq)
        if len(events) < 2:
            raise CaptureError("no snapshot of this page before this moment")
        await self.renderer.draw(events)
        raw = await self.renderer.evaluate(
            f"{self._probe_js}({json.dumps(css)}, {json.dumps(self.patterns)}, {REGION_CHARS})"
        )
        probe = Probe.of(raw)
        d = raw if isinstance(raw, dict) else {}
        shot = await self.renderer.png(int(d.get("x") or 0), int(d.get("y") or 0), *probe.size)
        return shot, probe, list(d.get("scrolls") or [])

    async def recorded_region(self, page_id: str | None, seq: int, css: str) -> str:
        """The recorded region text of the element at ``css`` at ``seq`` ("" when unknown)."""
        key = ("region", page_id, seq, css)
        if key not in self.rec.drawn:
            self.rec.drawn[key] = await self._recorded_region(page_id, seq, css)
        return str(self.rec.drawn[key])

    async def _recorded_region(self, page_id: str | None, seq: int, css: str) -> str:
        events = self.rec.moment_events(page_id, seq)
        if len(events) < 2 or not css:
            return ""
        try:
            await self.renderer.draw(events)
            raw = await self.renderer.evaluate(
                f"{self._probe_js}({json.dumps(css)}, [], {REGION_CHARS})"
            )
        except CaptureError:
            return ""
        return Probe.of(raw).region

    async def live_region(self, el: Any) -> str:
        """The re-driven region text of an element handle ("" when it cannot be read)."""
        js = f"(el, cap) => ({PROBE_JS})(el.ownerDocument, el, [], cap).region"
        try:
            return str(await el.evaluate(js, REGION_CHARS))
        except PlaywrightError:
            return ""

    async def redriven(self, page: Page, size: tuple[int, int], el: Any) -> tuple[bytes, Probe]:
        """The re-driven page at ``size`` as PNG and what it shows."""
        if page.viewport_size != {"width": size[0], "height": size[1]}:
            await page.set_viewport_size({"width": size[0], "height": size[1]})
        await page.add_style_tag(content=STILL_CSS)
        await page.evaluate(_SCROLL_JS, self._scrolls)
        js = f"([el, patterns, cap]) => ({PROBE_JS})(document, el, patterns, cap)"
        raw = await page.evaluate(js, [el, self.patterns, REGION_CHARS])
        shot = await page.screenshot(animations="disabled", caret="hide", scale="css")
        return shot, Probe.of(raw)

    async def compare(
        self, page: Page, page_id: str | None, seq: int, css: str, el: Any
    ) -> Screen | None:
        """Both sides of one step; None when the original moment cannot be drawn."""
        try:
            orig, rec = await self.original(page_id, seq, css)
        except CaptureError:
            return None
        try:
            shot, now = await self.redriven(page, rec.size, el)
        except PlaywrightError:
            return None
        diff = compare(open_png(orig), open_png(shot), rec.boxes + now.boxes)
        win = [(int(x), int(y)) for path, x, y in self._scrolls if not path]
        return Screen(orig, shot, diff, rec, now, win[0] if win else (0, 0))


def load_recording(home: Path, rs: ReplaySession, records: list[Record]) -> Recording:
    """The rrweb events (URLs pointed at ``assets/<sha256>``), the archived assets a
    rendering may load (images, fonts, stylesheets), and the recorded response shapes."""
    urls = OfflineUrls(url_map(rs.assets), "assets/")
    events = [
        {"seq": r.seq, "kind": r.kind, "page": r.page, "frame": r.frame,
         "payload": urls.event(r.payload)}
        for r in records
        if r.kind.startswith("rrweb.")
    ]  # fmt: skip
    assets: dict[str, bytes] = {}
    for sha, meta in rs.assets.items():
        p = asset_path(home / "assets", sha)
        body = p.read_bytes() if p.is_file() else None
        if body is not None and served_type(body, str(meta.get("mime") or "")) != OCTET_STREAM:
            assets[sha] = body
    last = records[-1].seq if records else 0
    return Recording(events, rs.keyframes, assets, recorded_shapes(records), last)
