// User input: mouse and touch interactions, keys, clipboard, submits, focus, scroll, resize,
// selection, and form control input (values: controls.js). Listeners are capturing and
// passive on each recorded document; high-rate ones (mouse moves, scrolls, resize) and
// control input only note what happened and the flush sends it; the selection is read at
// flushes after gestures.

import { described, newEdit, noteInput, pollControls, sendNoted } from './controls.js';
import { applyMode } from './mask.js';
import { flushGuarded } from './loop.js';
import { push, rr } from './queue.js';
import {
  DOCUMENT_NODE, ELEMENT_NODE, EventType, IncrementalSource, MouseInteractions, PointerTypes,
} from './rrweb_types.js';
import { known, mirror } from './snapshot.js';
import { actionable } from './target.js';
import { cfg, doc, masker, mathRound, now, userCfg, viewportH, viewportW } from './world.js';

// ---- listeners ------------------------------------------------------------------------------
let moves = [];
let lastMoveT = 0;
const scrolls = new Map();
let resized = false;
let lastSelection = ''; // the ranges last sent, as "start,offset,end,offset;..."
let selectionHint = false; // a gesture that can select happened since the selection was read
let lastSelectionRead = 0;
const SELECTION_MS = 1000; // without such a gesture, the selection is read this often

// A short CSS path of el for the agent's input events (up to 4 levels, stops at an id).
function cssPath(el) {
  const parts = [];
  let e = el;
  for (let depth = 0; e && e.nodeType === ELEMENT_NODE && depth < 4; depth++) {
    let s = e.tagName.toLowerCase();
    if (e.id) {
      parts.unshift(s + '#' + e.id);
      break;
    }
    const name = e.getAttribute('name');
    if (name) s += '[name="' + name + '"]';
    parts.unshift(s);
    e = e.parentElement;
  }
  return parts.join(' > ');
}

// The event's innermost target. It differs from e.target only inside an open shadow root of
// e.target (a closed one hides its nodes from composedPath too), so composedPath(), which
// wraps every node of the path for this world, runs only then.
function innerTarget(e) {
  const t0 = e.target;
  return t0 && t0.shadowRoot && e.composedPath ? e.composedPath()[0] : t0;
}

// [the event's innermost target, its id or -1].
function targetId(e) {
  const t = innerTarget(e);
  return [t, t && known(t) ? mirror.getId(t) : -1];
}

// Clicks a person means (not mouse down/up, touches, focus): these carry the description.
const NAMED_CLICKS = new Set([MouseInteractions.Click, MouseInteractions.DblClick,
  MouseInteractions.ContextMenu]);

function onMouse(type) {
  return (e) => {
    sendNoted();
    selectionHint = true;
    const [t, id] = targetId(e);
    const data = { source: IncrementalSource.MouseInteraction, type, id };
    if (typeof e.clientX === 'number') {
      data.x = mathRound(e.clientX);
      data.y = mathRound(e.clientY);
    } else if (e.changedTouches && e.changedTouches.length) {
      data.x = mathRound(e.changedTouches[0].clientX);
      data.y = mathRound(e.changedTouches[0].clientY);
    }
    if (type >= MouseInteractions.TouchStart) data.pointerType = PointerTypes.Touch;
    let element = null;
    if (NAMED_CLICKS.has(type)) {
      pollControls(); // values scripts set since the last poll come before the click
      const el = actionable(t);
      if (el) newEdit(el);
      element = described(el);
    }
    rr(EventType.IncrementalSnapshot, data, undefined, element);
  };
}

function onFocusChange(type) {
  return (e) => {
    sendNoted();
    const [t, id] = targetId(e);
    if (t && type === MouseInteractions.Focus) newEdit(t);
    rr(EventType.IncrementalSnapshot, { source: IncrementalSource.MouseInteraction, type, id });
  };
}

function onKey(e) {
  sendNoted();
  selectionHint = true;
  const [t, id] = targetId(e);
  let key = e.key;
  let code = e.code;
  const el = t && t.nodeType === ELEMENT_NODE ? t : null;
  let rule = null;
  if (el) {
    rule = masker.isControl(el) ? masker.controlRule(el) : masker.ruleFor(el);
    if (!rule && el.isContentEditable) rule = masker.ruleFor(el);
  }
  if (rule && rule.mode !== 'none' && typeof key === 'string' && key.length === 1) {
    // One printable character: never in clear in a masked field (tokens of single
    // characters would be a substitution cipher), whatever the rule's mode.
    key = '[redacted]';
    code = '[redacted]';
  }
  const p = { key, code, alt: !!e.altKey, ctrl: !!e.ctrlKey, meta: !!e.metaKey,
    shift: !!e.shiftKey, target: id, selector: el ? cssPath(el) : null };
  // Shortcuts and Enter/Escape/F-keys are actions of their own: they carry the description.
  if (el && (e.ctrlKey || e.altKey || e.metaKey || SHORTCUT_KEYS.test(String(e.key)))) {
    p.element = described(el);
  }
  push('input.key', p);
}

const SHORTCUT_KEYS = /^(Enter|Escape|F[0-9]{1,2})$/;

function onInput(e) {
  const t = innerTarget(e);
  if (!t || t.nodeType !== ELEMENT_NODE) return;
  const tag = t.tagName;
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') {
    noteInput(t);
    if (tag === 'INPUT' && t.type === 'radio') pollControls(); // the group's other radios
  }
}

// Clipboard text only when configured (clipboardContent), masked by the target's rule.
function clipContent(action, e, el) {
  let text;
  try {
    if (action === 'paste') {
      text = e.clipboardData ? e.clipboardData.getData('text/plain') : '';
    } else if (masker.isControl(el) && typeof el.selectionStart === 'number') {
      text = String(el.value).slice(el.selectionStart, el.selectionEnd);
    } else {
      text = String(el.ownerDocument.getSelection() || '');
    }
  } catch {
    text = '';
  }
  text = text.slice(0, 10000);
  const rule = masker.isControl(el) ? masker.controlRule(el) : masker.ruleFor(el);
  return rule ? applyMode(rule, text) : text;
}

function onClipboard(action) {
  return (e) => {
    sendNoted();
    const [t, id] = targetId(e);
    const el = t && t.nodeType === ELEMENT_NODE ? t : (t && t.parentElement) || null;
    const p = { action, target: id, selector: el ? cssPath(el) : null };
    if (userCfg.clipboardContent === true && el) p.content = clipContent(action, e, el);
    push('input.clipboard', p);
  };
}

function onSubmit(e) {
  pollControls(); // the form as submitted (noted inputs first)
  const f = e.target;
  push('input.submit', { target: known(f) ? mirror.getId(f) : -1, selector: cssPath(f),
    action: f.getAttribute ? f.getAttribute('action') : null,
    method: f.getAttribute ? (f.getAttribute('method') || 'get').toLowerCase() : null,
    element: described(f) });
}

function onMouseMove(e) {
  const t = now();
  if (t - lastMoveT < cfg.mouseMoveMs || moves.length > 200) return;
  lastMoveT = t;
  const [, id] = targetId(e);
  moves.push({ x: mathRound(e.clientX), y: mathRound(e.clientY), id, t });
}

// Listen to d's user input (once per document).
export function instrument(d) {
  if (d.__st_listeners) return;
  d.__st_listeners = true;
  const on = (type, fn) => d.addEventListener(type, fn, { capture: true, passive: true });
  on('mousedown', onMouse(MouseInteractions.MouseDown));
  on('mouseup', onMouse(MouseInteractions.MouseUp));
  on('click', onMouse(MouseInteractions.Click));
  on('dblclick', onMouse(MouseInteractions.DblClick));
  on('contextmenu', onMouse(MouseInteractions.ContextMenu));
  on('touchstart', onMouse(MouseInteractions.TouchStart));
  on('touchend', onMouse(MouseInteractions.TouchEnd));
  on('touchcancel', onMouse(MouseInteractions.TouchCancel));
  on('focus', onFocusChange(MouseInteractions.Focus));
  on('blur', onFocusChange(MouseInteractions.Blur));
  on('mousemove', onMouseMove);
  on('scroll', (e) => { scrolls.set(e.target, true); });
  on('input', onInput);
  on('change', onInput);
  on('keydown', onKey);
  on('copy', onClipboard('copy'));
  on('cut', onClipboard('cut'));
  on('paste', onClipboard('paste'));
  on('submit', onSubmit);
  const w = d.defaultView;
  if (w) w.addEventListener('resize', () => { resized = true; }, { passive: true });
  if (w && d === doc) flushWhenLeaving(w, d);
}

// Up to flushMs of events would die with the document: flush when it goes away or hides.
// (Measured: a binding call from pagehide/unload never arrives; from beforeunload it does.)
function flushWhenLeaving(w, d) {
  w.addEventListener('beforeunload', () => flushGuarded(), { capture: true });
  w.addEventListener('pagehide', () => flushGuarded(), { capture: true });
  d.addEventListener('visibilitychange', () => {
    if (d.visibilityState === 'hidden') flushGuarded();
  }, { capture: true });
}

// ---- noted input, sent at flush --------------------------------------------------------------
function flushMoves() {
  const t = now();
  const positions = moves.map((m) => ({ x: m.x, y: m.y, id: m.id, timeOffset: m.t - t }));
  moves = [];
  rr(EventType.IncrementalSnapshot, { source: IncrementalSource.MouseMove, positions });
}

function flushScrolls() {
  scrolls.forEach((_v, t) => {
    const el = t.nodeType === DOCUMENT_NODE ? (t.scrollingElement || t.documentElement) : t;
    const id = mirror.getId(t);
    if (!el || id < 0) return;
    rr(EventType.IncrementalSnapshot, { source: IncrementalSource.Scroll, id,
      x: mathRound(el.scrollLeft), y: mathRound(el.scrollTop) });
  });
  scrolls.clear();
}

// The selection is read at a flush after a gesture that can select (a mouse or touch
// interaction, a key), at least every SELECTION_MS otherwise (a script's selection), and at
// every flush the agent asks for; it is sent when it differs from the last one sent. No
// selectionchange listener: pages fire one per programmatic .value write, and each call of a
// listener in the recorder's world costs the page's main thread a switch of worlds. Reading
// the selection costs ~40 µs on the order-entry form (measured), so it is not read at every
// flush. A collapsed selection (a caret, or none) is read without making a Range: each one made would
// stay live, and be updated, until collected.
let selection = null; // the document's Selection: one object for the document's life

function flushSelection() {
  if (selection === null) selection = doc.getSelection();
  const sel = selection;
  const ranges = [];
  let key = '';
  if (sel && !sel.isCollapsed) {
    for (let i = 0; i < sel.rangeCount; i++) {
      const r = sel.getRangeAt(i);
      if (r.collapsed) continue;
      const s = mirror.getId(r.startContainer);
      const e = mirror.getId(r.endContainer);
      if (s > 0 && e > 0) {
        const range = { start: s, startOffset: r.startOffset, end: e, endOffset: r.endOffset };
        ranges.push(range);
        key += s + ',' + range.startOffset + ',' + e + ',' + range.endOffset + ';';
      }
    }
  }
  if (key === lastSelection) return;
  lastSelection = key;
  rr(EventType.IncrementalSnapshot, { source: IncrementalSource.Selection, ranges });
}

// Send the noted input; `all`: read the selection whether due or not.
export function flushInputs(all) {
  if (moves.length) flushMoves();
  if (scrolls.size) flushScrolls();
  if (resized) {
    resized = false;
    rr(EventType.IncrementalSnapshot, { source: IncrementalSource.ViewportResize,
      width: viewportW(), height: viewportH() });
  }
  const t = now();
  if (all || selectionHint || t - lastSelectionRead >= SELECTION_MS) {
    selectionHint = false;
    lastSelectionRead = t;
    flushSelection();
  }
}
