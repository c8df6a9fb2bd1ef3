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
    let s = '{"k":"' + e[0] + '","t":' + e[1] + ',"p":' + stringify(e[2]) + '}';
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
