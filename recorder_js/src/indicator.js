// The recording notice: a thin bar across the top of the viewport saying the session is
// recorded, drawn from this isolated world in a closed shadow root, and kept there.
//
// The bar is a <div> child of <html> shown as a manual popover, so it sits in the top layer
// above every z-index; its inline style is `all: initial !important` plus our own important
// declarations, which no page stylesheet outranks. It takes no focus and lets every click
// through (pointer-events: none): it hides the top INDICATOR_PX of the page, blocks nothing.
//
// It is never recorded: the mirror holds it as an ignored node, so snapshots and mutations
// skip it and replays show the page as it was drawn by the page.
//
// Kept there: a MutationObserver on the document and <html> (not their subtrees: that would
// cost on every page mutation) and on the bar's own attributes puts the bar
// back when page script removes it, replaces <html>, empties the document or rewrites the
// bar's attributes; a toggle listener re-opens it when hidePopover() closes it; a check every
// CHECK_MS does all of that again (in case the page starves the observer) and raises the bar
// above any top-layer element the page opened after it (a modal dialog, a popover, a
// fullscreen element). Each attempt is counted and reported as an `indicator.tampered` event
// per kind of attempt per check (how, detail, count). A page whose own observer removes the bar
// as soon as it is back would loop with ours forever: after FIGHT_BUDGET immediate repairs in
// one check period, repairs wait for the next check.

import { push } from './queue.js';
import { ignoreNode } from './snapshot.js';
import { G, MO, clock, doc, noticeText, userCfg } from './world.js';

export const INDICATOR_PX = 22;
export const CHECK_MS = 500;
const FIGHT_BUDGET = 20;

const HOST_STYLE = [
  'all: initial', 'display: block', 'position: fixed', 'inset: 0 0 auto 0',
  `height: ${INDICATOR_PX}px`, 'width: 100vw', 'margin: 0', 'padding: 0', 'border: 0',
  'overflow: hidden', 'pointer-events: none', 'user-select: none', 'opacity: 1',
  'visibility: visible', 'z-index: 2147483647', 'background: transparent', 'transform: none',
  'filter: none', 'clip-path: none', 'contain: strict',
].map((d) => d + ' !important').join('; ');

const BAR_CSS = `div{box-sizing:border-box;height:${INDICATOR_PX}px;width:100%;` +
  'padding:0 12px;display:flex;align-items:center;justify-content:center;' +
  'font:600 12px/1 system-ui,sans-serif;color:#fff;background:rgba(160,20,20,.92);' +
  'white-space:nowrap;overflow:hidden;text-overflow:ellipsis;letter-spacing:.02em}';

const HOST_ATTRS = { style: HOST_STYLE, popover: 'manual' };

const matches = G.Element.prototype.matches;
const showPopover = G.HTMLElement.prototype.showPopover;
const hidePopover = G.HTMLElement.prototype.hidePopover;

let host = null;
let guard = null;
let placed = false; // the bar was in the document once (its absence now is a removal)
let watched = null; // the <html> element the guard watches
let counts = new Map(); // how + detail -> [how, detail, count] since the last check
let repairs = 0;
let lastCover = -Infinity;
let coverCost = 0;
let below = new WeakSet(); // top-layer elements that were open when the bar was last raised

function note(how, detail) {
  const key = how + '/' + detail;
  const c = counts.get(key);
  if (c) c[2] += 1;
  else counts.set(key, [how, detail, 1]);
}

function isOpen() {
  try {
    return matches.call(host, ':popover-open');
  } catch {
    return false;
  }
}

function openBar() {
  if (host.isConnected && !isOpen()) {
    try {
      showPopover.call(host);
    } catch { /* not connected to a document that renders: the check retries */ }
  }
}

function build() {
  host = doc.createElement('div');
  for (const [k, v] of Object.entries(HOST_ATTRS)) host.setAttribute(k, v);
  const root = host.attachShadow({ mode: 'closed' });
  const style = doc.createElement('style');
  style.textContent = BAR_CSS;
  const bar = doc.createElement('div');
  bar.setAttribute('role', 'status');
  bar.textContent = noticeText;
  root.append(style, bar);
  ignoreNode(host);
  host.addEventListener('toggle', () => {
    if (!isOpen()) repair();
  });
}

// Put back what the page changed; true when something was changed.
function restore() {
  let inserted = false;
  let attrs = false;
  if (!host.isConnected) {
    const root = doc.documentElement;
    if (!root) return false;
    root.appendChild(host);
    inserted = true;
    placed = true;
  }
  for (const a of Array.from(host.attributes)) {
    if (!(a.name in HOST_ATTRS)) {
      note('attribute', a.name);
      host.removeAttribute(a.name);
      attrs = true;
    }
  }
  for (const [k, v] of Object.entries(HOST_ATTRS)) {
    if (host.getAttribute(k) !== v) {
      note('attribute', k);
      host.setAttribute(k, v);
      attrs = true;
    }
  }
  if (isOpen()) return inserted || attrs;
  if (!inserted && !attrs) note('hidden', 'popover closed');
  openBar();
  return true;
}

// Watch <html> (the bar's parent) as well as the document: replacing <html> moves the watch.
function watchRoot() {
  const root = doc.documentElement;
  if (root && root !== watched) {
    watched = root;
    guard.observe(root, { childList: true });
  }
}

function repair() {
  if (repairs >= FIGHT_BUDGET) return;
  if (restore()) repairs += 1;
  watchRoot();
  guard.takeRecords(); // our own repairs are not attempts
}

function onRecords() {
  if (placed && !host.isConnected) {
    note('removed', doc.documentElement ? 'detached' : 'no root element');
  }
  repair();
}

// Raise the bar above top-layer elements opened after it: close and reopen it. The query
// walks the whole document (0.18 ms at 1k elements, measured): on big pages it backs off to at
// most 2% of the main thread, like the recorder's other scans.
function raiseIfCovered() {
  const t = clock();
  if (t - lastCover < coverCost * 50) return; // the check period is the floor
  lastCover = t;
  findCover();
  coverCost = clock() - t;
}

function findCover() {
  const fs = doc.fullscreenElement;
  let over = fs && fs !== host && !below.has(fs) ? fs : null;
  if (!over) {
    const open = doc.querySelectorAll(':modal, :popover-open');
    for (const el of open) {
      if (el !== host && !below.has(el)) {
        over = el;
        break;
      }
    }
  }
  if (!over) return;
  note('covered', String(over.tagName).toLowerCase());
  for (const el of doc.querySelectorAll(':modal, :popover-open')) below.add(el);
  if (fs) below.add(fs);
  try {
    hidePopover.call(host);
  } catch { /* reopened below */ }
  openBar();
}

function report() {
  for (const [how, detail, count] of counts.values()) {
    push('indicator.tampered', { how, count, detail });
  }
  counts = new Map();
}

// The check every CHECK_MS (the notice's loop in recorder.js runs it).
export function checkIndicator() {
  if (!host) return;
  repairs = 0;
  if (host.isConnected) raiseIfCovered();
  else if (placed) note('removed', 'found detached');
  restore();
  watchRoot();
  guard.takeRecords();
  report();
}

// Draw the notice when the agent asks for it (top-level documents only: a frame's document is
// inside the page the bar already covers); true when the bar is drawn and needs its checks.
export function startIndicator() {
  const ic = userCfg.indicator;
  if (!ic || !ic.banner || host) return false;
  try {
    if (G.top !== G) return false;
  } catch {
    return false;
  }
  below = new WeakSet();
  build();
  guard = new MO(onRecords);
  guard.observe(doc, { childList: true });
  guard.observe(host, { attributes: true });
  restore();
  watchRoot();
  guard.takeRecords();
  return true;
}

// For the agent's probes and tests: whether the bar is connected, open and drawn.
export function indicatorState() {
  if (!host) return null;
  const r = host.getBoundingClientRect();
  return { connected: host.isConnected, open: isOpen(), height: Math.round(r.height),
    visible: host.checkVisibility({ opacityProperty: true, visibilityProperty: true }) };
}
