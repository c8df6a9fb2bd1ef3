"""The kiosk's start screen and the operator's controls inside the kiosk browser.

The start screen is not a site: its URL (``LOBBY_URL``, a reserved ``.invalid`` name that
resolves nowhere) is answered by the kiosk gate itself from ``Fetch``, so it needs no server
and no allowlist entry, and nothing else can serve it.

The controls live in an isolated world of their own (``CONTROL_WORLD``): a script added to
every new document there listens, in the capture phase, for trusted input only
(``isTrusted``: a page script cannot synthesise it) and reports through a CDP binding exposed
to that world alone, so the page's own scripts can neither call it nor see it:

- ``start``: a trusted click on the start screen's Start button (on ``LOBBY_URL`` only);
- ``end``: the operator's key combination, Ctrl+Alt+End (``END_KEYS``), in any frame;
- ``activity``: any trusted key, pointer, wheel or touch input (at most once a second, at
  once while the idle warning shows), which restarts the idle clock.

The idle warning is drawn by the same world: ``__stKiosk.warn(seconds)`` shows a countdown in
a closed shadow root over the page; any input hides it.

A supervisor's pause (``__stKiosk.pause()``) draws "please wait for assistance" the same way
over the top frame (drawn again if a page script removes it) and makes the world's first
capture-phase listeners, registered before any page script, stop every trusted input event
(the agent also makes the browser ignore input, ``Input.setIgnoreInputEvents``: these
listeners are the second line); ``__stKiosk.resume()`` lifts both. ``__stKiosk.note(text)``
writes a line on the start screen (the refused Start of ``--require-supervisor``).
"""

from __future__ import annotations

import html
import json

LOBBY_URL = "https://sessiontape-kiosk.invalid/start"
CONTROL_WORLD = "__sessiontape_kiosk_controls"
CONTROL_BINDING = "__st_kiosk_control"
END_KEYS = "Ctrl+Alt+End"
START_BUTTON = "st-kiosk-start"
WARNING_HOST = "st-kiosk-idle-warning"
PAUSE_HOST = "st-kiosk-paused"
NOTE = "st-kiosk-note"
PAUSE_TEXT = "Please wait for assistance. A supervisor has paused this session."

_LOBBY = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title><link rel="icon" href="data:,">
<style>body{{margin:0;font:20px/1.5 system-ui,sans-serif;
background:#1d2330;color:#fff;display:flex;align-items:center;justify-content:center;
min-height:100vh}}main{{text-align:center}}h1{{font-size:2em;margin:0 0 .3em}}
button{{font:inherit;font-size:1.4em;padding:.6em 2.4em;border:0;border-radius:10px;
background:#2f7df6;color:#fff;cursor:pointer}}p{{color:#b8c0cc}}</style></head>
<body><main><h1>{title}</h1><p>This session will be recorded. The operator starts it.</p>
<button id="{button}" type="button">Start</button>
<p id="{note}" role="alert"></p></main></body></html>"""

_CONTROLS = r"""(() => {
  const send = globalThis.__BINDING__;
  if (typeof send !== 'function' || globalThis.__stKiosk) return;
  const LOBBY = __LOBBY__;
  let last = 0, host = null, timer = null, paused = false, screen = null, keep = null;
  const BLOCKED = ['keydown', 'keypress', 'keyup', 'beforeinput', 'input', 'pointerdown',
    'pointerup', 'pointermove', 'mousedown', 'mouseup', 'mousemove', 'click', 'dblclick',
    'auxclick', 'contextmenu', 'wheel', 'touchstart', 'touchmove', 'touchend', 'dragstart',
    'drop', 'paste', 'cut', 'copy', 'compositionstart', 'focusin'];
  const block = (e) => {
    if (!paused || !e.isTrusted) return;
    e.stopImmediatePropagation();
    if (e.cancelable) e.preventDefault();
  };
  for (const t of BLOCKED) addEventListener(t, block, {capture: true, passive: false});
  const overlay = (id, text) => {
    const el = document.createElement('div');
    el.id = id;
    el.style.cssText = 'all:initial;position:fixed;inset:0;z-index:2147483647;' +
      'display:flex;align-items:center;justify-content:center;background:rgba(0,0,0,.55)';
    const root = el.attachShadow({mode: 'closed'});
    const box = document.createElement('div');
    box.style.cssText = 'font:22px/1.5 system-ui,sans-serif;background:#fff;color:#1d2330;' +
      'padding:1.5em 2em;border-radius:12px;text-align:center;max-width:30em';
    box.append(...text);
    root.append(box);
    return el;
  };
  const mount = () => {
    const parent = document.body || document.documentElement;
    // In a window its first real document reused, the old screen is still "connected", to
    // the document that went away.
    const ours = screen && screen.ownerDocument === document;
    if (!paused || !parent || (ours && screen.isConnected)) return;
    if (!ours) screen = overlay(__PAUSE_HOST__, [__PAUSE_TEXT__]);
    parent.append(screen);
  };
  const pause = () => {
    paused = true;
    hide();
    if (globalThis.top !== globalThis) return false;
    mount();
    if (keep) clearInterval(keep);  // a reused window's new document lost the old timer
    keep = setInterval(mount, 250);
    return true;
  };
  const resume = () => {
    paused = false;
    if (keep) clearInterval(keep);
    keep = null;
    if (screen) screen.remove();
    screen = null;
    return true;
  };
  const note = (text) => {
    const el = document.getElementById(__NOTE__);
    if (!el || location.href !== LOBBY) return false;
    el.textContent = String(text);
    return true;
  };
  const hide = () => {
    if (timer) clearInterval(timer);
    timer = null;
    if (host) host.remove();
    host = null;
  };
  const warn = (seconds) => {
    hide();
    if (paused) return false;
    const count = document.createElement('strong');
    host = overlay(__HOST__, ['Are you still there? This session ends in ', count,
      ' seconds. Touch the screen or press a key to continue.']);
    let left = Math.max(0, Math.round(seconds));
    count.textContent = String(left);
    timer = setInterval(() => { left = Math.max(0, left - 1); count.textContent = String(left); },
      1000);
    (document.body || document.documentElement).append(host);
    return true;
  };
  const activity = (e) => {
    if (!e.isTrusted) return;
    const showing = host !== null;
    hide();
    const now = Date.now();
    if (showing || now - last > 1000) { last = now; send('activity'); }
  };
  for (const t of ['keydown', 'pointerdown', 'pointermove', 'wheel', 'touchstart']) {
    addEventListener(t, activity, {capture: true, passive: true});
  }
  addEventListener('keydown', (e) => {
    if (e.isTrusted && e.ctrlKey && e.altKey && e.code === 'End') send('end');
  }, true);
  addEventListener('click', (e) => {
    const el = e.target instanceof Element ? e.target.closest('#' + __BUTTON__) : null;
    if (e.isTrusted && el && location.href === LOBBY) send('start');
  }, true);
  const api = Object.freeze({warn, hide, pause, resume, note});
  Object.defineProperty(globalThis, '__stKiosk', {value: api});
})();"""


def lobby_page(brand: str = "") -> str:
    """The start screen (the operator's Start button and a line for notes), branded."""
    title = html.escape(brand) if brand else "Welcome"
    return _LOBBY.format(title=title, button=START_BUTTON, note=NOTE)


def control_script() -> str:
    """The controls' script for the isolated world (see the module docstring)."""
    return (
        _CONTROLS.replace("__BINDING__", CONTROL_BINDING)
        .replace("__LOBBY__", json.dumps(LOBBY_URL))
        .replace("__HOST__", json.dumps(WARNING_HOST))
        .replace("__BUTTON__", json.dumps(START_BUTTON))
        .replace("__PAUSE_HOST__", json.dumps(PAUSE_HOST))
        .replace("__PAUSE_TEXT__", json.dumps(PAUSE_TEXT))
        .replace("__NOTE__", json.dumps(NOTE))
    )
