// The output queue: events wait here as [kind, t, payload] until drain() serializes them into
// batches of at most maxBatchBytes and sends each through the private binding.

import { EventType, KIND_BY_SOURCE } from './rrweb_types.js';
import { pendingHosts } from './closed.js';
import { G, cfg, now, stats, stringify } from './world.js';

let queue = [];
let batchNo = 0;
let bindingFn = typeof G[cfg.binding] === 'function' ? G[cfg.binding] : null;

// A sessiontape event of `kind`, stamped now.
export function push(kind, payload) {
  queue.push([kind, now(), payload]);
}

// An already-built payload stamped with the time its change happened.
export function pushAt(kind, t, payload) {
  queue.push([kind, t, payload]);
}

// An rrweb event; its kind follows the incremental source unless given. `element` (the
// acted-on element's description, for user actions) goes beside rrweb's own fields.
export function rr(type, data, kindOverride, element) {
  rrAt(now(), type, data, kindOverride, element);
}

// An rrweb event stamped with the time `t` its change happened.
export function rrAt(t, type, data, kindOverride, element) {
  const kind = kindOverride || (type === EventType.IncrementalSnapshot
    ? KIND_BY_SOURCE[data.source] || 'rrweb.other' : 'rrweb.other');
  const payload = { type, data, timestamp: t };
  if (element) payload.element = element;
  queue.push([kind, t, payload]);
}

export function custom(tag, payload) {
  rr(EventType.Custom, { tag, payload }, 'rrweb.custom');
}

// The counter of the last batch sent to the binding (-1 before the first).
export function lastBatch() {
  return batchNo - 1;
}

function send(parts) {
  // hosts: custom elements waiting for the agent's closed-shadow-root check
  const hosts = pendingHosts();
  const msg = '{"v":1,"n":' + batchNo + (hosts ? ',"hosts":' + hosts : '') + ',"events":['
    + parts.join(',') + ']}';
  batchNo += 1;
  stats.batches += 1;
  if (!bindingFn && typeof G[cfg.binding] === 'function') bindingFn = G[cfg.binding];
  if (bindingFn) bindingFn(msg);
}

// A mutation's texts and attribute changes as columns (agent/mutation_columns.py reads them):
// texts {ids, values}; attributes {ids, objs, of}, change j setting objs[of[j]] on ids[j].
// A grid's update is a thousand {id, value} texts and hundreds of class flips that are a
// few distinct objects: as columns the message is a third of the size, and the agent makes
// no object per change. The payload is copied, never changed.
function columns(p) {
  const d = p.data;
  const texts = textColumns(d.texts);
  const attrs = attrColumns(d.attributes);
  if (texts === null && attrs === null) return p;
  const nd = Object.assign({}, d);
  if (texts !== null) nd.texts = texts;
  if (attrs !== null) nd.attributes = attrs;
  return Object.assign({}, p, { data: nd });
}

// A node id the agent takes in a column.
const isId = (id) => typeof id === 'number' && id >= 0 && Number.isInteger(id);

// The texts as columns; null when empty or when an item is not {id, value} with a node id
// and a string or null value (the list is then sent as it is).
function textColumns(texts) {
  if (!Array.isArray(texts) || texts.length === 0) return null;
  const n = texts.length;
  const ids = new Array(n);
  const values = new Array(n);
  for (let i = 0; i < n; i++) {
    const id = texts[i].id;
    const v = texts[i].value;
    if (!isId(id) || (v !== null && typeof v !== 'string')) return null;
    ids[i] = id;
    values[i] = v;
  }
  return { ids, values };
}

// The attribute changes as columns, each distinct object once; null when empty or when an
// item is not {id, attributes} with an element id and an object.
function attrColumns(attrs) {
  if (!Array.isArray(attrs) || attrs.length === 0) return null;
  const n = attrs.length;
  const ids = new Array(n);
  const of = new Array(n);
  const objs = [];
  const index = new Map(); // an object's content -> its place in objs
  for (let i = 0; i < n; i++) {
    const id = attrs[i].id;
    const o = attrs[i].attributes;
    if (!isId(id) || o === null || typeof o !== 'object' || Array.isArray(o)) return null;
    const key = attrKey(o);
    let k = index.get(key);
    if (k === undefined) {
      k = objs.length;
      objs.push(o);
      index.set(key, k);
    }
    ids[i] = id;
    of[i] = k;
  }
  return { ids, objs, of };
}

// A key equal for objects of equal content written in the same key order, and different for
// any other: every name and value length-prefixed, so no value (the page's to choose) can
// pass for another split; a value that is not a string or null (a style object) as JSON.
function attrKey(o) {
  let key = '';
  for (const name in o) {
    const v = o[name];
    let how = 'j';
    if (v === null) how = 'n';
    else if (v === undefined) how = 'u'; // left out of the JSON: not the same as null
    else if (typeof v === 'string') how = 's';
    const s = how === 's' ? v : how === 'j' ? String(stringify(v)) : '';
    key += name.length + ':' + name + how + s.length + ':' + s;
  }
  return key;
}

// An escaped lone surrogate preceded by an even number of backslashes.
const LONE = /(^|[^\\])((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

export function drain() {
  if (queue.length === 0) return;
  const q = queue;
  queue = [];
  let parts = [];
  let bytes = 0;
  for (let i = 0; i < q.length; i++) {
    const e = q[i];
    const p = e[0] === 'rrweb.mutation' ? columns(e[2]) : e[2];
    let s = '{"k":"' + e[0] + '","t":' + e[1] + ',"p":' + stringify(p) + '}';
    // JSON.stringify escapes only lone surrogates as \udXXX (pairs stay raw). Strict
    // decoders (orjson) reject them and would lose the whole batch: use U+FFFD instead.
    if (s.indexOf('\\ud') >= 0) s = s.replace(LONE, '$1$2\\ufffd').replace(LONE, '$1$2\\ufffd');
    if (parts.length > 0 && bytes + s.length > cfg.maxBatchBytes) {
      send(parts);
      parts = [];
      bytes = 0;
    }
    parts.push(s);
    bytes += s.length + 1;
  }
  if (parts.length) send(parts);
}
