// Mutations. Hot path rule (measured): the MutationObserver callback only STASHES records;
// everything else (coalescing, serialization, masking, JSON) happens at flush, in
// processMutations(). A page that mutates faster than floodMutationsPerSec is a flood: its
// records are dropped (counted, reported) until it calms down, then a full snapshot resyncs.

import { transformAttribute } from 'rrweb-snapshot';
import { push, rr } from './queue.js';
import {
  DOCUMENT_FRAGMENT_NODE, ELEMENT_NODE, EventType, IncrementalSource,
} from './rrweb_types.js';
import {
  flatten, fullSnapshot, known, markDirty, mirror, parentInfo, serialize,
} from './snapshot.js';
import { emitCallbackTexts, reKeySlots, textSlots } from './texts.js';
import { MO, cfg, clock, masker, now, stats, styles } from './world.js';

const MO_OPTS = { childList: true, subtree: true, attributes: true, attributeOldValue: true,
  characterData: true, characterDataOldValue: true };
let observer = null;
const observedRoots = new WeakSet(); // documents and shadow roots with our observer

let pending = []; // one entry per observer callback: its records
let pendingT = []; // Date.now() of each callback (the time its changes happened)
let pendingCount = 0;
// The match epoch (see matchEpoch below).
let epoch = 0;
let scanB = 0; // pending[scanB][scanI]: the next record to scan
let scanI = 0;
let quiet = false; // inside the recorder's own task, where no page script runs
let windowCount = 0;
let windowStart = now();
let flood = false;
let floodDropped = 0;
// Flood detection is a token bucket: records may arrive at floodMutationsPerSec on average,
// in bursts of up to floodBurstMs worth of that rate. A page that falls behind (a backlog
// of WebSocket ticks run back to back) is a burst, not a flood.
const bucketCap = cfg.floodMutationsPerSec
  * Math.max(cfg.floodBurstMs, cfg.flushMs) / 1000;
let tokens = bucketCap;
let tokensT = now();

export function createObserver() {
  observer = new MO(onRecords);
}

export function observeRoot(root) {
  if (observedRoots.has(root)) return;
  observedRoots.add(root);
  observer.observe(root, MO_OPTS);
  if (styles) styles.addRoot(root);
}

export function isObserved(root) {
  return observedRoots.has(root);
}

function onRecords(records) {
  const t0 = clock();
  onRecordsInner(records);
  stats.workMs += clock() - t0;
}

function onRecordsInner(records) {
  const n = records.length;
  windowCount += n;
  stats.mutations += n;
  if (flood) {
    floodDropped += n;
    stats.dropped += n;
    epoch += 1; // not stashed, so not scanned
    return;
  }
  const t = now();
  pending.push(records);
  pendingT.push(t);
  pendingCount += n;
  tokens = Math.min(bucketCap, tokens + ((t - tokensT) * cfg.floodMutationsPerSec) / 1000) - n;
  tokensT = t;
  if (tokens < 0) enterFlood();
}

function floodBudget() {
  const span = Math.max(cfg.flushMs, now() - windowStart);
  return (cfg.floodMutationsPerSec * span) / 1000;
}

function enterFlood() {
  flood = true;
  epoch += 1;
  scanB = 0;
  scanI = 0;
  floodDropped += pendingCount;
  stats.dropped += pendingCount;
  push('capture.degraded', { reason: 'mutation_flood', dropped_records: pendingCount,
    budget_per_sec: cfg.floodMutationsPerSec });
  pending = [];
  pendingT = [];
  pendingCount = 0;
}

// Forget the records not processed yet (a full snapshot is about to supersede them).
export function discardPending() {
  stats.mutations += observer.takeRecords().length;
  epoch += 1;
  scanB = 0;
  scanI = 0;
  pending = [];
  pendingT = [];
  pendingCount = 0;
}

// ---- the match epoch ----------------------------------------------------------------------
// Masking rules match by tags, attributes and where an element sits (agent/mask/selectors.py
// allows no pseudo-class but :not()), so a rule found for an element holds until an
// attribute changes or an element is added or removed. The epoch counts the callbacks that
// held such a record, and the masker (mask.js) keeps an element's rule only while the epoch
// stands. Records are scanned lazily, when a cached rule is about to be used; a long batch
// (a grid's update) bumps the epoch unread.
const SCAN_LIMIT = 16;

function hasElement(list) {
  for (let i = 0; i < list.length; i++) if (list[i].nodeType === ELEMENT_NODE) return true;
  return false;
}

function changesMatches(r) {
  const type = r.type;
  if (type === 'attributes') return true;
  return type === 'childList' && (hasElement(r.addedNodes) || hasElement(r.removedNodes));
}

function scanPending() {
  for (; scanB < pending.length; scanB++, scanI = 0) {
    const recs = pending[scanB];
    if (recs.length - scanI > SCAN_LIMIT) {
      epoch += 1;
      scanB = pending.length;
      scanI = 0;
      return;
    }
    for (; scanI < recs.length; scanI++) {
      if (changesMatches(recs[scanI])) {
        epoch += 1;
        scanB = pending.length;
        scanI = 0;
        return;
      }
    }
  }
}

// Stash the records the observer holds but has not delivered yet.
function takeLate() {
  const late = observer.takeRecords();
  if (late.length) onRecordsInner(late);
}

// The epoch as of now: records the observer holds but has not delivered yet (a script that
// sets an attribute and dispatches an event in one task) are taken and scanned first.
export function matchEpoch() {
  if (!quiet) takeLate();
  scanPending();
  return epoch;
}

// The epoch without taking or scanning records: a rule found now and stored under it can
// only turn stale sooner, never later.
export function peekEpoch() {
  return epoch;
}

// Run fn (the recorder's own work, no page script in it) with the observer's records taken
// once at the start rather than at each cached rule.
export function quietly(fn) {
  if (quiet) {
    fn();
    return;
  }
  takeLate();
  quiet = true;
  try {
    fn();
  } finally {
    quiet = false;
  }
}

// The flush's mutation step: process the stashed records, or, in a flood, leave it with a
// full snapshot once the last window stayed within budget.
export function flushMutations(t) {
  if (flood) {
    if (windowCount <= floodBudget()) {
      flood = false;
      push('capture.degraded', { reason: 'mutation_flood_recovered',
        dropped_records: floodDropped });
      floodDropped = 0;
      tokens = bucketCap;
      tokensT = t;
      fullSnapshot('flood_recovery');
    }
  } else {
    processMutations();
  }
  windowCount = 0;
  windowStart = t;
}

// Turn the stashed records into rrweb Mutation events: text values per observer callback
// first, then one event with the structure and attributes as they are now.
export function processMutations() {
  if (pending.length === 0) return;
  scanPending();
  scanB = 0;
  scanI = 0;
  const batches = pending;
  const times = pendingT;
  pending = [];
  pendingT = [];
  pendingCount = 0;
  markDirty();
  const c = collect(batches);
  const slots = textSlots(c.removed);
  emitCallbackTexts(c.seq, c.cdOf, slots, times);
  const texts = reKeySlots(slots, c.removed);
  const removes = removesOf(c.removed);
  const adds = addsOf(c.added);
  const attributes = attributesOf(c.attrs);
  if (removes.length || adds.length || texts.length || attributes.length) {
    rr(EventType.IncrementalSnapshot, { source: IncrementalSource.Mutation, texts,
      attributes, removes, adds });
  }
}

// One pass over the records of every callback:
//   removed: known node -> the parent it was first removed from
//   added:   added nodes in record order
//   attrs:   el -> [name, oldValue] (the common case: one attribute) or Map(name -> oldValue);
//            the first record's oldValue is what the replay has
//   seq:     childList / characterData records in order, six entries each: global
//            index, callback, record, target, removed nodes, added nodes (arrays; null for
//            characterData)
//   cdOf:    text node -> {a: [global index, oldValue, ...], pos: 0} (characterData), or null
// Each record's fields are read here once: from the recorder's isolated world every DOM read
// goes through the world's wrapper table, so the later steps use these copies.
function collect(batches) {
  const removed = new Map();
  const added = [];
  const attrs = new Map();
  const seq = [];
  let cdOf = null;
  let g = 0;
  for (let b = 0; b < batches.length; b++) {
    const recs = batches[b];
    for (let i = 0; i < recs.length; i++, g++) {
      const r = recs[i];
      const type = r.type;
      if (type === 'childList') {
        const tg = r.target;
        const rn = nodesOf(r.removedNodes);
        for (let j = 0; j < rn.length; j++) {
          const x = rn[j];
          if (!removed.has(x) && known(x)) removed.set(x, tg);
        }
        const an = nodesOf(r.addedNodes);
        for (let j = 0; j < an.length; j++) added.push(an[j]);
        seq.push(g, b, r, tg, rn, an);
      } else if (type === 'characterData') {
        if (cdOf === null) cdOf = new Map();
        const t = r.target;
        const l = cdOf.get(t);
        if (l === undefined) cdOf.set(t, { a: [g, r.oldValue], pos: 0 });
        else l.a.push(g, r.oldValue);
        seq.push(g, b, r, t, null, null);
      } else {
        const tg = r.target;
        const name = r.attributeName;
        const m = attrs.get(tg);
        if (m === undefined) attrs.set(tg, [name, r.oldValue]);
        else if (Array.isArray(m)) {
          if (m[0] !== name) attrs.set(tg, new Map([[m[0], m[1]], [name, r.oldValue]]));
        } else if (!m.has(name)) m.set(name, r.oldValue);
      }
    }
  }
  return { removed, added, attrs, seq, cdOf };
}

const NO_NODES = [];

// A record's NodeList as an array (read once: indexing a NodeList is a DOM call per item).
function nodesOf(list) {
  const n = list.length;
  if (n === 0) return NO_NODES;
  if (n === 1) return [list[0]];
  const a = new Array(n);
  for (let j = 0; j < n; j++) a[j] = list[j];
  return a;
}

// Removes for the known nodes whose old parent the replay still has (a removed subtree goes
// as its top node only); every removed node leaves the mirror.
function removesOf(removed) {
  const removes = [];
  if (removed.size) {
    removed.forEach((parent, x) => {
      if (removed.has(parent)) return;
      if (!known(parent) && parent.nodeType !== DOCUMENT_FRAGMENT_NODE) return;
      const [pid, isShadow] = parentInfo(parent);
      if (pid < 0) return;
      const rec = { parentId: pid, id: mirror.getId(x) };
      if (isShadow) rec.isShadow = true;
      removes.push(rec);
    });
    removed.forEach((_p, x) => mirror.removeNodeFromMap(x));
  }
  return removes;
}

// Adds for the connected added nodes whose parent the replay has: each such subtree is
// serialized once, then flattened to one add per node.
function addsOf(added) {
  const adds = [];
  const tops = [];
  const seen = new Set();
  for (let i = added.length - 1; i >= 0; i--) {
    const x = added[i];
    if (known(x) || seen.has(x)) continue; // known first: re-keyed text nodes are the bulk
    seen.add(x);
    const p = x.parentNode;
    if (!p || !x.isConnected) continue;
    const host = p.nodeType === DOCUMENT_FRAGMENT_NODE ? p.host : null;
    if (host ? !known(host) : !known(p)) continue; // inside another added subtree
    const sn = serialize(x);
    if (sn) tops.push([x, sn]);
  }
  for (let i = 0; i < tops.length; i++) {
    const x = tops[i][0];
    const [pid, isShadow] = parentInfo(x.parentNode);
    let next = x.nextSibling;
    while (next && !known(next)) next = next.nextSibling;
    const sn = tops[i][1];
    if (isShadow) sn.isShadow = true;
    flatten(adds, pid, next ? mirror.getId(next) : null, sn);
  }
  return adds;
}

const URL_ATTRS = new Set(['src', 'href', 'srcset', 'style', 'background', 'xlink:href', 'data']);

// The attribute's current value as the replay gets it (URLs absolutized, masked), or
// undefined when it has the value already (same-value writes such as className = same).
function attributeValue(el, name, oldValue) {
  const cur = el.getAttribute(name);
  if (cur === oldValue) return undefined;
  let v = cur;
  if (cur !== null && URL_ATTRS.has(name)) {
    v = transformAttribute(el.ownerDocument, el.tagName.toLowerCase(), name, cur);
  }
  if (v !== null) v = masker.attrValue(el, name, v);
  return v;
}

// Attribute changes of connected known elements, {id, attributes: {name: value}} each.
function attributesOf(attrs) {
  const out = [];
  attrs.forEach((m, el) => {
    if (!el.isConnected || !known(el)) return;
    let changed = null;
    const one = (oldValue, name) => {
      const v = attributeValue(el, name, oldValue);
      if (v === undefined) return;
      if (changed === null) changed = {};
      changed[name] = v;
    };
    if (Array.isArray(m)) one(m[1], m[0]);
    else m.forEach(one);
    if (changed !== null) out.push({ id: mirror.getId(el), attributes: changed });
  });
  return out;
}
