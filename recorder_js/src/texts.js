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

import {
  EventType, IncrementalSource, ELEMENT_NODE, NodeType, TEXT_NODE,
} from './rrweb_types.js';
import { pushAt } from './queue.js';
import { known, maskTextFor, mirror } from './snapshot.js';

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

// How text under parent p reaches the replay: null (as it is) or a function of the value.
// Decided once per parent and flush: the rules match the DOM as it is at flush time, which
// does not change while the flush runs.
// The mirror's serialized node answers whether p is an element, and its tag, without DOM reads
// (each DOM read from the recorder's isolated world goes through the world's wrapper table).
function textMask(p) {
  if (!p) return null;
  const meta = mirror.getMeta(p);
  if (meta !== null) return meta.type === NodeType.Element ? maskTextFor(p, meta.tagName) : null;
  return p.nodeType === ELEMENT_NODE ? maskTextFor(p, null) : null;
}

function maskWith(run, p) {
  let m = run.maskOf.get(p);
  if (m === undefined) {
    m = textMask(p);
    run.maskOf.set(p, m);
  }
  return m;
}

// Slots: parents that now hold exactly one new text node, and from which exactly one node the
// replay knows (a text node, now detached) was removed, so the replay's children of the
// parent were exactly that node. removed maps each known removed node to its old parent.
// Returns parent -> slot {id, p, old, x, last, lastNode, mask}: last is the value sent last,
// lastNode the node whose current data it was (null when it came from a record's oldValue).
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
    // old is known: its serialized node says it is a text node.
    const om = mirror.getMeta(old);
    if (om === null || om.type !== NodeType.Text || removed.has(p) || !known(p)) return;
    const x = p.firstChild;
    if (!x || x.nodeType !== TEXT_NODE || x !== p.lastChild || known(x) || old.isConnected
      || !p.isConnected) return;
    slots.set(p, { id: mirror.getId(old), p, old, x, last: null, lastNode: null,
      mask: textMask(p) });
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
function slotChildList(run, seq, k) {
  const sl = run.slots.get(seq[k + 3]);
  if (sl === undefined) return;
  const r = seq[k + 2];
  const rn = seq[k + 4];
  if (run.cdOf !== null) for (let j = 0; j < rn.length; j++) run.slotOf.delete(rn[j]);
  if (r.previousSibling !== null || r.nextSibling !== null) return;
  const an = seq[k + 5];
  let v;
  let from = null;
  if (an.length === 1 && an[0].nodeType === TEXT_NODE) {
    const x = an[0];
    if (run.cdOf !== null) {
      run.slotOf.set(x, sl);
      v = valueAfter(run.cdOf, x, seq[k]);
      if (!run.cdOf.has(x)) from = x;
    } else {
      v = x.data;
      from = x;
    }
  } else if (an.length === 0 && rn.length > 0) {
    v = '';
  } else return;
  sl.last = v;
  sl.lastNode = from;
  run.out.add(seq[k + 1], sl.id, sl.mask === null ? v : sl.mask(v));
}

// A characterData record: the text node's value after it, under its slot's id while the node
// is its slot parent's only child, else under its own id.
function characterData(run, seq, k) {
  const t = seq[k + 3];
  const sl = run.slotOf.get(t);
  let id;
  let mask;
  if (sl !== undefined) {
    id = sl.id;
    mask = sl.mask;
  } else if (known(t) && t.isConnected) {
    id = mirror.getId(t);
    mask = maskWith(run, t.parentNode);
  } else return;
  const v = valueAfter(run.cdOf, t, seq[k]);
  if (sl !== undefined) {
    sl.last = v;
    sl.lastNode = null;
  }
  run.out.add(seq[k + 1], id, mask === null ? v : mask(v));
}

// Queue the text values of seq (the childList and characterData records in order, six
// entries each: global index, callback, record, target, removed nodes, added nodes), one
// Mutation event per observer callback.
export function emitCallbackTexts(seq, cdOf, slots, times) {
  const slotOf = new Map(); // text node -> slot, while it is the slot parent's only child
  slots.forEach((sl) => slotOf.set(sl.old, sl));
  const run = { cdOf, slots, slotOf, maskOf: new Map(), out: textEmitter(times) };
  for (let k = 0; k < seq.length; k += 6) {
    if (seq[k + 5] !== null) {
      if (slots.size !== 0) slotChildList(run, seq, k);
    } else {
      characterData(run, seq, k);
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
    if (sl.lastNode === sl.x) return; // the last value sent is this node's current data
    const v = sl.x.data;
    if (sl.last !== v) {
      texts.push({ id: sl.id, value: sl.mask === null ? v : sl.mask(v) });
    }
  });
  return texts;
}
