// Form control values: the state of every serialized control, inputs the listeners note, and
// polls (page JS writes to .value/.checked fire nothing, so controls are polled every pollMs and
// before each named click or submit).

import { known, mirror } from './snapshot.js';
import { EventType, IncrementalSource } from './rrweb_types.js';
import { rr, rrAt } from './queue.js';
import { describe } from './target.js';
import { masker, now } from './world.js';

// Tracked controls: el -> {box, last}. A checkbox or radio changes by `checked` (its value is
// an attribute, which the observer sees), any other control by `value`: a poll reads one
// property per control. Every SWEEP_POLLS-th poll also drops detached controls and re-reads
// types (a text input turned checkbox is then compared by `checked`).
const controls = new Map();
const SWEEP_POLLS = 16;
let polls = 0;

function isBox(el) {
  if (el.tagName !== 'INPUT') return false;
  const type = el.type; // the IDL attribute: lowercase, "text" for unknown types
  return type === 'checkbox' || type === 'radio';
}

function stateOf(el, box) {
  return box ? el.checked : el.value;
}

// A serialized <input>/<textarea>/<select>: the replay has its current state.
export function trackControl(el) {
  const box = isBox(el);
  controls.set(el, { box, last: stateOf(el, box) });
}

export function forgetControls() {
  controls.clear();
}

// Fields described in the current edit: the first input of an edit (focus or a click starts
// a new one) carries the description, later inputs of that edit do not, so typing costs one
// description per field, not one per key.
const editDesc = new WeakMap();

// Focus or a named click starts a new edit of el.
export function newEdit(el) {
  editDesc.delete(el);
}

// el's description for the agent (with its node id), or null.
export function described(el) {
  if (!el) return null;
  const id = mirror.getId(el);
  const d = describe(el);
  if (d && id >= 0) d.node_id = id;
  return d;
}

// The text an Input event carries: the value masked by the control's rule as of now.
function inputText(el, box, value) {
  return value === 'on' && box ? 'on' : masker.controlValue(el, value);
}

function sendInput(el, id) {
  rr(EventType.IncrementalSnapshot, { source: IncrementalSource.Input,
    text: inputText(el, isBox(el), el.value), isChecked: !!el.checked, id });
}

// Inputs the listener noted, sent at the next flush: NOTED fields per input, flat (the
// element, when, whether it is a checkbox or radio, its state, its masked text, checked).
// The listener reads the state and masks it at once (the value and the rule of the moment);
// the node's id, the comparison with what was sent, the field's description and the event
// wait for the flush, which does them for every noted input in one pass (measured on the
// order-entry form: each call of a listener in this world costs the page far more than the
// same work in a loop). Whatever sends input or a user action (a poll, a click, a key, focus,
// the clipboard, a submit, a snapshot) sends the noted inputs first: the stream keeps order.
const NOTED = 6;
let noted = [];

export function noteInput(el) {
  const box = isBox(el);
  const value = el.value;
  const checked = !!el.checked;
  noted.push(el, now(), box, box ? checked : value, inputText(el, box, value), checked);
}

// Send the inputs noted since the last flush (each only when its state differs from the one
// sent before it; the first input of an edit carries the field's description).
export function sendNoted() {
  if (noted.length === 0) return;
  const n = noted;
  noted = [];
  for (let i = 0; i < n.length; i += NOTED) {
    const el = n[i];
    const id = mirror.getId(el);
    if (id < 0 || !known(el)) continue;
    let c = controls.get(el);
    if (c === undefined) {
      c = { box: n[i + 2], last: undefined };
      controls.set(el, c);
    } else {
      c.box = n[i + 2]; // a person's input re-reads the type
    }
    const state = n[i + 3];
    if (c.last === state) continue;
    c.last = state;
    let element = null;
    if (!editDesc.has(el)) {
      element = described(el);
      editDesc.set(el, true);
    }
    rrAt(n[i + 1], EventType.IncrementalSnapshot, { source: IncrementalSource.Input,
      text: n[i + 4], isChecked: n[i + 5], id }, undefined, element);
  }
}

function pollOne(c, el) {
  const s = stateOf(el, c.box);
  if (c.last === s) return;
  const id = mirror.getId(el);
  if (id >= 0 && known(el)) {
    c.last = s;
    sendInput(el, id);
  }
}

function sweepOne(c, el) {
  if (!el.isConnected) {
    controls.delete(el);
    return;
  }
  const box = isBox(el);
  if (box !== c.box) {
    c.box = box;
    c.last = undefined; // compared by the other property now: send the state once
  }
  pollOne(c, el);
}

export function pollControls() {
  sendNoted();
  polls += 1;
  controls.forEach(polls % SWEEP_POLLS === 0 ? sweepOne : pollOne);
}
