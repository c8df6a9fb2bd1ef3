// Text values of a flush. Every text value a node took reaches the stream, in order:
// structure (adds, removes) and attributes go out as their state at flush time, but text goes
// out per observer callback, each value as it was then, in one Mutation event per callback
// stamped with the callback's time. The values come from the records themselves: a text node
// added by `el.textContent = x` still holds x after later replacements, and a characterData
// record's oldValue is the node's value after the previous record.
//
// The commonest update on a live page (el.textContent = x) replaces the element's only text
// node by a new one. Such a parent is a "slot": the new node is re-keyed to the old id and
// only text changes travel (no serialization, and a fraction of the bytes).

import { EventType, IncrementalSource, ELEMENT_NODE, TEXT_NODE } from './rrweb_types.js';
import { pushAt } from './queue.js';
import { known, maskText, mirror } from './snapshot.js';

// The value of text node n just after global record index gi: the oldValue of its next
// characterData record, or its current data. cdOf maps a text node to {a: [global index,
// oldValue, ...], pos}; calls come in increasing gi (pos is a cursor).
function valueAfter(cdOf, n, gi) {
  if (cdOf !== null) {
    const l = cdOf.get(n);
    if (l !== undefined) {
      const a = l.a;
      while (l.pos < a.length && a[l.pos] <= gi) l.pos += 2;
      if (l.pos < a.length) return a[l.pos + 1];
    }
  }
  return n.data;
}

function masked(p, v) {
  return p && p.nodeType === ELEMENT_NODE ? maskText(p, v) : v;
}

// Slots: parents that now hold exactly one new text node, and from which exactly one node the
// replay knows (a text node, now detached) was removed, so the replay's children of the
// parent were exactly that node. removed maps each known removed node to its old parent.
// Returns parent -> slot {id, p, old, x, last}.
export function textSlots(removed) {
  const churn = new Map(); // parent -> [known removed count, first]
  removed.forEach((p, x) => {
    const c = churn.get(p);
    if (c === undefined) churn.set(p, [1, x]);
    else c[0] += 1;
  });
  const slots = new Map();
  churn.forEach((c, p) => {
    if (c[0] !== 1) return;
    const old = c[1];
    const x = p.firstChild;
    if (!x || x.nodeType !== TEXT_NODE || x !== p.lastChild || old.nodeType !== TEXT_NODE
      || old.isConnected || known(x) || !known(p) || removed.has(p) || !p.isConnected) return;
    slots.set(p, { id: mirror.getId(old), p, old, x, last: null });
  });
  return slots;
}

// Collects {id, value} texts per observer callback and queues one event per callback.
function textEmitter(times) {
  let curB = -1;
  let curTexts = null;
  const end = () => {
    if (curTexts === null) return;
    const t = times[curB];
    pushAt('rrweb.mutation', t, { type: EventType.IncrementalSnapshot, data: {
      source: IncrementalSource.Mutation, texts: curTexts, attributes: [], removes: [],
      adds: [] }, timestamp: t });
    curTexts = null;
  };
  const add = (b, id, value) => {
    if (b !== curB) {
      end();
      curB = b;
    }
    if (curTexts === null) curTexts = [];
    curTexts.push({ id, value });
  };
  return { add, end };
}

// A childList record on a slot parent: only a record after which the parent's children are
// exactly its added nodes (textContent = x, replaceChild of the only child, append to an
// empty element) gives the slot a value.
function slotChildList(run, gi, b, r) {
  const p = r.target;
  const sl = run.slots.get(p);
  if (sl === undefined) return;
  const rn = r.removedNodes;
  if (run.cdOf !== null) for (let j = 0; j < rn.length; j++) run.slotOf.delete(rn[j]);
  if (r.previousSibling !== null || r.nextSibling !== null) return;
  const an = r.addedNodes;
  let v;
  if (an.length === 1 && an[0].nodeType === TEXT_NODE) {
    if (run.cdOf !== null) run.slotOf.set(an[0], sl);
    v = valueAfter(run.cdOf, an[0], gi);
  } else if (an.length === 0 && rn.length > 0) {
    v = '';
  } else return;
  sl.last = v;
  run.out.add(b, sl.id, masked(p, v));
}

// A characterData record: the text node's value after it, under its slot's id while the node
// is its slot parent's only child, else under its own id.
function characterData(run, gi, b, r) {
  const t = r.target;
  const sl = run.slotOf.get(t);
  let id;
  let p;
  if (sl !== undefined) {
    id = sl.id;
    p = sl.p;
  } else if (known(t) && t.isConnected) {
    id = mirror.getId(t);
    p = t.parentNode;
  } else return;
  const v = valueAfter(run.cdOf, t, gi);
  if (sl !== undefined) sl.last = v;
  run.out.add(b, id, masked(p, v));
}

// Queue the text values of seq ([global index, callback, record] * n: the childList and
// characterData records in order), one Mutation event per observer callback.
export function emitCallbackTexts(seq, cdOf, slots, times) {
  const slotOf = new Map(); // text node -> slot, while it is the slot parent's only child
  slots.forEach((sl) => slotOf.set(sl.old, sl));
  const run = { cdOf, slots, slotOf, out: textEmitter(times) };
  for (let k = 0; k < seq.length; k += 3) {
    const r = seq[k + 2];
    if (r.type === 'childList') {
      if (slots.size !== 0) slotChildList(run, seq[k], seq[k + 1], r);
    } else {
      characterData(run, seq[k], seq[k + 1], r);
    }
  }
  run.out.end();
}

// Re-key each slot's final text node to the slot id (and keep its old node out of the
// removes). Returns the texts for the structural event: a slot's final value goes with the
// structure only if the per-callback values did not already end with it.
export function reKeySlots(slots, removed) {
  const texts = [];
  slots.forEach((sl) => {
    mirror.replace(sl.id, sl.x);
    removed.delete(sl.old);
    const v = sl.x.data;
    if (sl.last !== v) {
      texts.push({ id: sl.id, value: masked(sl.p, v) });
    }
  });
  return texts;
}
