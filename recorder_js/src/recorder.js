// sessiontape recorder: runs in the isolated world "__sessiontape", emits rrweb 2.x events and
// sessiontape input events through the private CDP binding named in globalThis.__ST_CFG.
//
// Hot path rule (CHROMIUM.md, measured): the MutationObserver callback only STASHES records;
// everything else (coalescing, serialization, masking, JSON) happens in the flush timer.

import { Mirror, serializeNodeWithId, transformAttribute } from 'rrweb-snapshot';
import { applyMode, createMasker } from './mask.js';
import { EventType, Source, MouseInteractions, KIND_BY_SOURCE } from './rr.js';
import { createStyles } from './styles.js';

/* global __ST_VERSION__ */
const VERSION = typeof __ST_VERSION__ === 'string' ? __ST_VERSION__ : 'dev';

(function start() {
  const G = globalThis;
  // References to built-ins taken once: this world's globals are private to it, but the
  // recorder never looks anything up again after start.
  const stringify = JSON.stringify;
  const now = Date.now;
  const setTimeoutF = G.setTimeout.bind(G);
  // Timer ids are shared with the page's world: a page looping clearInterval(0..N) silences
  // setInterval-based recorders (measured). scheduler.postTask tasks have no id; only the
  // holder of their TaskController (us) can cancel them.
  const sched = G.scheduler && typeof G.scheduler.postTask === 'function' ? G.scheduler : null;
  const postTask = sched ? sched.postTask.bind(sched) : null;
  function later(ms, fn) {
    if (postTask) postTask(fn, { delay: ms }).catch(() => {});
    else setTimeoutF(fn, ms);
  }
  let loopGen = 0;
  function every(ms, fn) {
    const gen = loopGen;
    const tick = () => {
      if (gen !== loopGen) return;
      later(ms, tick);
      fn();
    };
    later(ms, tick);
  }
  const MO = G.MutationObserver;
  const mathRound = Math.round;
  const doc = G.document;
  if (!doc || doc.__st_recorder) return;

  // A same-origin child frame is recorded by its parent's recorder (rrweb's iframe model).
  let parentRecords = false;
  try {
    parentRecords = G.top !== G && !!G.frameElement;
  } catch (e) {
    parentRecords = false;
  }
  if (parentRecords) return;
  doc.__st_recorder = true;
  // An isolated world has no customElements registry (null): rrweb-snapshot probes it for every
  // element inside try/catch, and a thrown TypeError per element made snapshots ~50x slower.
  if (!G.customElements) {
    try {
      Object.defineProperty(G, 'customElements', { value: { get: () => undefined },
        configurable: true });
    } catch (e) { /* keep the slow path */ }
  }

  const userCfg = G.__ST_CFG || {};
  const cfg = {
    binding: userCfg.binding,
    flushMs: userCfg.flushMs || 100,
    heartbeatMs: userCfg.heartbeatMs || 1000,
    keyframeMs: userCfg.keyframeMs || 60000,
    pollMs: userCfg.pollMs || 250,
    styleScanMs: userCfg.styleScanMs || 1000,
    shadowScanMs: userCfg.shadowScanMs || 1000,
    canvasMs: userCfg.canvasMs || 1000,
    maxBatchBytes: userCfg.maxBatchBytes || 1000000,
    floodMutationsPerSec: userCfg.floodMutationsPerSec || 50000,
    floodBurstMs: userCfg.floodBurstMs || 1000,
    mouseMoveMs: userCfg.mouseMoveMs || 50,
    snapshotChunkNodes: userCfg.snapshotChunkNodes || 20000,
  };
  let bindingFn = typeof G[cfg.binding] === 'function' ? G[cfg.binding] : null;

  // ---- output queue -----------------------------------------------------------------------
  let queue = []; // [kind, t, payload]
  let batchNo = 0;
  const stats = { mutations: 0, batches: 0, dropped: 0, workMs: 0 };
  const perf = G.performance;
  const clock = () => perf.now();

  function push(kind, payload) {
    queue.push([kind, now(), payload]);
  }
  function rr(type, data, kindOverride) {
    const t = now();
    const kind = kindOverride || (type === EventType.IncrementalSnapshot
      ? KIND_BY_SOURCE[data.source] || 'rrweb.other' : 'rrweb.other');
    queue.push([kind, t, { type, data, timestamp: t }]);
  }
  function custom(tag, payload) {
    rr(EventType.Custom, { tag, payload }, 'rrweb.custom');
  }

  function send(parts) {
    const msg = '{"v":1,"n":' + batchNo + ',"events":[' + parts.join(',') + ']}';
    batchNo += 1;
    stats.batches += 1;
    if (!bindingFn && typeof G[cfg.binding] === 'function') bindingFn = G[cfg.binding];
    if (bindingFn) bindingFn(msg);
  }

  // An escaped lone surrogate preceded by an even number of backslashes.
  const LONE = /(^|[^\\])((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

  function drain() {
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

  // ---- serialization ----------------------------------------------------------------------
  const mirror = new Mirror();
  const controls = new Set();
  const canvases = new Set();
  const observedRoots = new WeakSet(); // documents and shadow roots with our observer
  const lastValue = new WeakMap(); // control -> "value\u0000checked" last sent
  let masker = null;
  let styles = null;
  let inSnapshot = false;
  let deferred = []; // work to run after the snapshot event (iframe attaches)
  let generation = 0;
  const iframeAttached = new WeakMap(); // iframe -> [contentDocument, generation]

  const FLOAT_ATTRS = ['rr_scrollLeft', 'rr_scrollTop', 'rr_mediaCurrentTime',
    'rr_mediaPlaybackRate', 'rr_mediaVolume'];

  function known(n) {
    const id = mirror.getId(n);
    return id > 0 && mirror.getNode(id) === n;
  }

  function onSerialize(n) {
    const sn = mirror.getMeta(n);
    if (!sn) return;
    if (sn.type === 2) {
      const tag = n.tagName;
      if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') {
        controls.add(n);
        lastValue.set(n, controlState(n));
      } else if (tag === 'CANVAS') {
        canvases.add(n);
      } else if (tag === 'STYLE' || tag === 'LINK') {
        if (styles) styles.baseline(n);
      }
      masker.patchElement(n, sn);
      // Journals hold integers only: rrweb-snapshot's fractional scroll / media numbers travel
      // as strings (the replayer assigns them to DOM properties, which coerce them back).
      const a = sn.attributes;
      for (let i = 0; i < FLOAT_ATTRS.length; i++) {
        const v = a[FLOAT_ATTRS[i]];
        if (typeof v === 'number' && !Number.isInteger(v)) a[FLOAT_ATTRS[i]] = String(v);
      }
      if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') {
        // rrweb-snapshot writes the live value into attributes.value: mask it by rule.
        if (typeof sn.attributes.value === 'string' && sn.attributes.value !== '') {
          sn.attributes.value = masker.controlValue(n, n.value);
        }
      }
      const sr = n.shadowRoot;
      if (sr) observeRoot(sr);
    } else if (sn.type === 3) {
      const p = n.parentNode;
      if (p && p.nodeType === 1) sn.textContent = maskText(p, sn.textContent);
    }
  }

  // Text as the replay will show it: a textarea's text is its default value (input rules);
  // other text follows the selector rules of its element.
  function maskText(p, v) {
    const tag = p.tagName;
    if (tag === 'TEXTAREA') return masker.controlValue(p, v);
    if (!masker.anyRules || tag === 'STYLE' || tag === 'SCRIPT') return v;
    return masker.textValue(p, v);
  }

  function onIframeLoad(iframe, sn) {
    const d = iframe.contentDocument;
    const prev = iframeAttached.get(iframe);
    if (prev && prev[0] === d && prev[1] === generation) return;
    iframeAttached.set(iframe, [d, generation]);
    const emit = () => {
      if (!known(iframe)) return;
      rr(EventType.IncrementalSnapshot, {
        source: Source.Mutation, adds: [{ parentId: mirror.getId(iframe), nextId: null, node: sn }],
        removes: [], texts: [], attributes: [], isAttachIframe: true,
      });
      if (d) {
        observeRoot(d);
        instrument(d);
        if (styles) styles.adoptedFor(d);
      }
    };
    if (inSnapshot) deferred.push(emit);
    else emit();
  }

  function serialize(n, d) {
    return serializeNodeWithId(n, {
      doc: d || n.ownerDocument || doc,
      mirror,
      blockClass: 'rr-block',
      blockSelector: null,
      maskTextClass: 'rr-mask',
      maskTextSelector: null,
      skipChild: false,
      inlineStylesheet: true,
      maskInputOptions: {},
      maskTextFn: undefined,
      maskInputFn: undefined,
      slimDOMOptions: {},
      recordCanvas: true,
      inlineImages: false,
      preserveWhiteSpace: true,
      newlyAddedElement: !inSnapshot,
      onSerialize,
      onIframeLoad,
      iframeLoadTimeout: 5000,
      keepIframeSrcFn: () => false,
    });
  }

  // ---- mutations: stash in the observer callback, process at flush --------------------------
  let pending = []; // one entry per observer callback: its records
  let pendingT = []; // Date.now() of each callback (the time its changes happened)
  let pendingCount = 0;
  let windowCount = 0;
  let windowStart = now();
  let flood = false;
  let floodDropped = 0;
  let dirtySinceSnapshot = false;
  // Flood detection is a token bucket: records may arrive at floodMutationsPerSec on average,
  // in bursts of up to floodBurstMs worth of that rate. A page that falls behind (a backlog
  // of WebSocket ticks run back to back) is a burst, not a flood.
  const bucketCap = cfg.floodMutationsPerSec
    * Math.max(cfg.floodBurstMs, cfg.flushMs) / 1000;
  let tokens = bucketCap;
  let tokensT = now();

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
    floodDropped += pendingCount;
    stats.dropped += pendingCount;
    push('capture.degraded', { reason: 'mutation_flood', dropped_records: pendingCount,
      budget_per_sec: cfg.floodMutationsPerSec });
    pending = [];
    pendingT = [];
    pendingCount = 0;
  }

  const observer = new MO(onRecords);
  const MO_OPTS = { childList: true, subtree: true, attributes: true, attributeOldValue: true,
    characterData: true, characterDataOldValue: true };
  function observeRoot(root) {
    if (observedRoots.has(root)) return;
    observedRoots.add(root);
    observer.observe(root, MO_OPTS);
    if (styles) styles.addRoot(root);
  }

  function parentInfo(p) {
    // [parent id, isShadow] as rrweb's replayer expects (shadow children hang off the host).
    if (p.nodeType === 11 && p.host) return [mirror.getId(p.host), true];
    return [mirror.getId(p), false];
  }

  // rrweb's replayer builds each added node with skipChild: a subtree travels as one add per
  // node, parent first and later siblings first (so every nextId already exists on arrival).
  function flatten(out, parentId, nextId, sn) {
    const kids = sn.childNodes;
    if (kids && kids.length) sn.childNodes = [];
    out.push({ parentId, nextId, node: sn });
    if (!kids) return;
    let nextLight = null;
    let nextShadow = null;
    for (let i = kids.length - 1; i >= 0; i--) {
      const k = kids[i];
      if (k.isShadow) {
        flatten(out, sn.id, nextShadow, k);
        nextShadow = k.id;
      } else {
        flatten(out, sn.id, nextLight, k);
        nextLight = k.id;
      }
    }
  }

  // Every text value a node took reaches the stream, in order (issue #3): structure (adds,
  // removes) and attributes go out as their state at flush time, but text goes out per
  // observer callback, each value as it was then, in one Mutation event per callback stamped
  // with the callback's time. The values come from the records themselves: a text node added
  // by `el.textContent = x` still holds x after later replacements, and a characterData
  // record's oldValue is the node's value after the previous record.
  function processMutations() {
    if (pending.length === 0) return;
    const batches = pending;
    const times = pendingT;
    pending = [];
    pendingT = [];
    pendingCount = 0;
    dirtySinceSnapshot = true;
    const removed = new Map();
    const added = [];
    const attrs = new Map();
    const seq = []; // childList / characterData records in order: [global index, batch, record]
    let cdOf = null; // text node -> {a: [global index, oldValue, ...], pos} (characterData)
    let g = 0;
    for (let b = 0; b < batches.length; b++) {
      const recs = batches[b];
      for (let i = 0; i < recs.length; i++, g++) {
        const r = recs[i];
        const type = r.type;
        if (type === 'childList') {
          const tg = r.target;
          const rn = r.removedNodes;
          for (let j = 0; j < rn.length; j++) {
            const x = rn[j];
            if (!removed.has(x) && known(x)) removed.set(x, tg);
          }
          const an = r.addedNodes;
          for (let j = 0; j < an.length; j++) added.push(an[j]);
          seq.push(g, b, r);
        } else if (type === 'characterData') {
          if (cdOf === null) cdOf = new Map();
          const t = r.target;
          const l = cdOf.get(t);
          if (l === undefined) cdOf.set(t, { a: [g, r.oldValue], pos: 0 });
          else l.a.push(g, r.oldValue);
          seq.push(g, b, r);
        } else {
          // el -> [name, oldValue] (the common case: one attribute) or Map(name -> oldValue);
          // the first record's oldValue is what the replay has.
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
    // The value of text node n just after global record index gi: the oldValue of its next
    // characterData record, or its current data. Calls come in increasing gi (a cursor).
    const valueAfter = (n, gi) => {
      if (cdOf !== null) {
        const l = cdOf.get(n);
        if (l !== undefined) {
          const a = l.a;
          while (l.pos < a.length && a[l.pos] <= gi) l.pos += 2;
          if (l.pos < a.length) return a[l.pos + 1];
        }
      }
      return n.data;
    };
    const textOut = [];
    // The commonest update on a live page (el.textContent = x): the element's only text node is
    // replaced by a new one. Re-key the new node to the old id and send text changes: no
    // serialization, and a fraction of the bytes.
    // Condition: the parent now holds exactly one new text node, and exactly one node the
    // replay knows (a text node, now detached) was removed from it: the replay's children of
    // the parent were exactly that node.
    const churn = new Map(); // parent -> [known removed count, first]
    removed.forEach((p, x) => {
      const c = churn.get(p);
      if (c === undefined) churn.set(p, [1, x]);
      else c[0] += 1;
    });
    const slots = new Map(); // churn parent -> slot {id, p, old, x, last}
    churn.forEach((c, p) => {
      if (c[0] !== 1) return;
      const old = c[1];
      const x = p.firstChild;
      if (!x || x.nodeType !== 3 || x !== p.lastChild || old.nodeType !== 3 || old.isConnected
        || known(x) || !known(p) || removed.has(p) || !p.isConnected) return;
      slots.set(p, { id: mirror.getId(old), p, old, x, last: null });
    });
    // Text values in record order, one event per observer callback. A text node belongs to a
    // slot (the replay's node id) while it is the slot parent's only child.
    const slotOf = new Map(); // text node -> slot
    slots.forEach((sl) => slotOf.set(sl.old, sl));
    let curB = -1;
    let curTexts = null;
    const emitBatch = () => {
      if (curTexts === null) return;
      const t = times[curB];
      queue.push(['rrweb.mutation', t, { type: EventType.IncrementalSnapshot, data: {
        source: Source.Mutation, texts: curTexts, attributes: [], removes: [], adds: [] },
      timestamp: t }]);
      curTexts = null;
    };
    const emitText = (b, id, value) => {
      if (b !== curB) {
        emitBatch();
        curB = b;
      }
      if (curTexts === null) curTexts = [];
      curTexts.push({ id, value });
    };
    for (let k = 0; k < seq.length; k += 3) {
      const gi = seq[k];
      const r = seq[k + 2];
      if (r.type === 'childList') {
        if (slots.size === 0) continue;
        const p = r.target;
        const sl = slots.get(p);
        if (sl === undefined) continue;
        const rn = r.removedNodes;
        if (cdOf !== null) for (let j = 0; j < rn.length; j++) slotOf.delete(rn[j]);
        // Only a record after which the parent's children are exactly its added nodes
        // (textContent = x, replaceChild of the only child, append to an empty element).
        if (r.previousSibling !== null || r.nextSibling !== null) continue;
        const an = r.addedNodes;
        let v;
        if (an.length === 1 && an[0].nodeType === 3) {
          if (cdOf !== null) slotOf.set(an[0], sl);
          v = valueAfter(an[0], gi);
        } else if (an.length === 0 && rn.length > 0) {
          v = '';
        } else continue;
        sl.last = v;
        emitText(seq[k + 1], sl.id, p.nodeType === 1 ? maskText(p, v) : v);
      } else {
        const t = r.target;
        const sl = slotOf.get(t);
        let id;
        let p;
        if (sl !== undefined) {
          id = sl.id;
          p = sl.p;
        } else if (known(t) && t.isConnected) {
          id = mirror.getId(t);
          p = t.parentNode;
        } else continue;
        const v = valueAfter(t, gi);
        if (sl !== undefined) sl.last = v;
        emitText(seq[k + 1], id, p && p.nodeType === 1 ? maskText(p, v) : v);
      }
    }
    emitBatch();
    // Re-key each slot's final text node to the slot id; its final value goes with the
    // structure only if the per-callback values did not already end with it.
    slots.forEach((sl) => {
      mirror.replace(sl.id, sl.x);
      removed.delete(sl.old);
      const v = sl.x.data;
      if (sl.last !== v) {
        textOut.push({ id: sl.id, value: sl.p.nodeType === 1 ? maskText(sl.p, v) : v });
      }
    });
    const removes = [];
    if (removed.size) {
      removed.forEach((parent, x) => {
        if (removed.has(parent) || !known(parent) && !(parent.nodeType === 11)) return;
        const [pid, isShadow] = parentInfo(parent);
        if (pid < 0) return;
        const rec = { parentId: pid, id: mirror.getId(x) };
        if (isShadow) rec.isShadow = true;
        removes.push(rec);
      });
      removed.forEach((_p, x) => mirror.removeNodeFromMap(x));
    }
    const adds = [];
    const tops = [];
    const seen = new Set();
    for (let i = added.length - 1; i >= 0; i--) {
      const x = added[i];
      if (known(x) || seen.has(x)) continue; // known first: re-keyed text nodes are the bulk
      seen.add(x);
      const p = x.parentNode;
      if (!p || !x.isConnected) continue;
      const host = p.nodeType === 11 ? p.host : null;
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
    const attrOut = [];
    attrs.forEach((m, el) => {
      if (!el.isConnected || !known(el)) return;
      let out = null;
      const one = (oldValue, name) => {
        const cur = el.getAttribute(name);
        if (cur === oldValue) return; // same-value writes (className = same) are noise
        let v = cur;
        if (cur !== null && (name === 'src' || name === 'href' || name === 'srcset'
          || name === 'style' || name === 'background' || name === 'xlink:href'
          || name === 'data')) {
          v = transformAttribute(el.ownerDocument, el.tagName.toLowerCase(), name, cur);
        }
        if (v !== null) v = masker.attrValue(el, name, v);
        if (out === null) out = {};
        out[name] = v;
      };
      if (Array.isArray(m)) one(m[1], m[0]);
      else m.forEach(one);
      if (out !== null) attrOut.push({ id: mirror.getId(el), attributes: out });
    });
    if (removes.length || adds.length || textOut.length || attrOut.length) {
      rr(EventType.IncrementalSnapshot, { source: Source.Mutation, texts: textOut,
        attributes: attrOut, removes, adds });
    }
  }

  // ---- full snapshots ---------------------------------------------------------------------
  function fullSnapshot(reason) {
    stats.mutations += observer.takeRecords().length;
    pending = [];
    pendingT = [];
    pendingCount = 0;
    generation += 1;
    mirror.reset();
    controls.clear();
    canvases.clear();
    if (styles) styles.reset();
    inSnapshot = true;
    let node = null;
    try {
      rr(EventType.Meta, { href: G.location.href, width: viewportW(), height: viewportH() },
        'rrweb.meta');
      node = serialize(doc, doc);
    } finally {
      inSnapshot = false;
    }
    const se = doc.scrollingElement || doc.documentElement;
    const rest = node ? prune(node, cfg.snapshotChunkNodes) : [];
    rr(EventType.FullSnapshot, { node, initialOffset: {
      left: se ? mathRound(se.scrollLeft) : 0, top: se ? mathRound(se.scrollTop) : 0 } },
      'rrweb.full_snapshot');
    emitRest(rest);
    if (reason) custom('sessiontape.keyframe', { reason });
    const work = deferred;
    deferred = [];
    for (const w of work) w();
    if (styles) styles.adoptedAll();
    dirtySinceSnapshot = false;
    lastKeyframe = now();
  }

  // A huge DOM travels as a snapshot of its first `budget` nodes (pre-order) plus mutation
  // events adding the rest, `budget` nodes per event: no single binding message grows with the
  // page, and the replayer rebuilds the same tree.
  function prune(root, budget) {
    const rest = [];
    let count = 1;
    const visit = (sn) => {
      const kids = sn.childNodes;
      if (!kids) return;
      for (let i = 0; i < kids.length; i++) {
        if (count >= budget) {
          rest.push([sn.id, kids.splice(i)]);
          return;
        }
        count += 1;
        visit(kids[i]);
      }
    };
    visit(root);
    return rest;
  }
  function emitRest(rest) {
    const adds = [];
    for (const [pid, kids] of rest) {
      let nextLight = null;
      let nextShadow = null;
      for (let i = kids.length - 1; i >= 0; i--) {
        const k = kids[i];
        const shadow = !!k.isShadow;
        flatten(adds, pid, shadow ? nextShadow : nextLight, k);
        if (shadow) nextShadow = k.id;
        else nextLight = k.id;
      }
    }
    for (let i = 0; i < adds.length; i += cfg.snapshotChunkNodes) {
      rr(EventType.IncrementalSnapshot, { source: Source.Mutation, texts: [], attributes: [],
        removes: [], adds: adds.slice(i, i + cfg.snapshotChunkNodes) });
    }
  }

  function viewportW() {
    return G.innerWidth || (doc.documentElement && doc.documentElement.clientWidth) || 0;
  }
  function viewportH() {
    return G.innerHeight || (doc.documentElement && doc.documentElement.clientHeight) || 0;
  }

  // ---- control values (page JS writes to .value/.checked fire nothing) ----------------------
  function controlState(el) {
    return el.value + '\u0000' + (el.checked ? '1' : '0');
  }
  function inputEvent(el) {
    const id = mirror.getId(el);
    if (id < 0 || !known(el)) return;
    const s = controlState(el);
    if (lastValue.get(el) === s) return;
    lastValue.set(el, s);
    const type = String(el.type).toLowerCase();
    const isBox = el.tagName === 'INPUT' && (type === 'checkbox' || type === 'radio');
    const text = isBox ? (el.value === 'on' ? 'on' : masker.controlValue(el, el.value))
      : masker.controlValue(el, el.value);
    rr(EventType.IncrementalSnapshot, { source: Source.Input, text, isChecked: !!el.checked, id });
  }
  function pollControls() {
    controls.forEach((el) => {
      if (!el.isConnected) {
        controls.delete(el);
        return;
      }
      if (lastValue.get(el) !== controlState(el)) inputEvent(el);
    });
  }

  // ---- canvas images (no 2D/WebGL command hooks in an isolated world) -----------------------
  const canvasLast = new WeakMap();
  function pollCanvases() {
    canvases.forEach((c) => {
      if (!c.isConnected) {
        canvases.delete(c);
        return;
      }
      if (!known(c) || c.width === 0 || c.height === 0) return;
      let url;
      try {
        url = c.toDataURL('image/webp', 0.7);
      } catch (e) {
        return; // tainted canvas
      }
      if (canvasLast.get(c) === url) return;
      canvasLast.set(c, url);
      const comma = url.indexOf(',');
      const mime = url.slice(5, url.indexOf(';'));
      rr(EventType.IncrementalSnapshot, {
        source: Source.CanvasMutation, id: mirror.getId(c), type: 0,
        commands: [
          { property: 'clearRect', args: [0, 0, c.width, c.height] },
          { property: 'drawImage', args: [{ rr_type: 'ImageBitmap', args: [{ rr_type: 'Blob',
            data: [{ rr_type: 'ArrayBuffer', base64: url.slice(comma + 1) }], type: mime }] },
          0, 0] },
        ],
      });
    });
  }

  // ---- shadow roots attached after serialization --------------------------------------------
  function rescanShadow(root) {
    const base = root || doc;
    const found = [];
    const walk = (r) => {
      const all = r.querySelectorAll('*');
      for (let i = 0; i < all.length; i++) {
        const sr = all[i].shadowRoot;
        if (sr) {
          if (!observedRoots.has(sr)) found.push(all[i]);
          walk(sr);
        }
      }
    };
    walk(base);
    for (const host of found) attachLateShadow(host);
    return found.length;
  }
  function attachLateShadow(host) {
    const sr = host.shadowRoot;
    if (!sr || !known(host)) return;
    processMutations();
    observeRoot(sr);
    const adds = [];
    const kids = sr.childNodes;
    for (let i = kids.length - 1; i >= 0; i--) {
      const sn = serialize(kids[i], host.ownerDocument);
      if (!sn) continue;
      sn.isShadow = true;
      const next = kids[i].nextSibling;
      flatten(adds, mirror.getId(host), next ? mirror.getId(next) : null, sn);
    }
    rr(EventType.IncrementalSnapshot, { source: Source.Mutation, texts: [], attributes: [],
      removes: [], adds });
    if (styles) styles.adoptedFor(sr);
  }

  // ---- user input listeners ---------------------------------------------------------------
  let moves = [];
  let lastMoveT = 0;
  const scrolls = new Map();
  let resized = false;
  let selectionDirty = false;

  function cssPath(el) {
    const parts = [];
    let e = el;
    for (let depth = 0; e && e.nodeType === 1 && depth < 4; depth++) {
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

  function targetId(e) {
    const t = e.composedPath ? e.composedPath()[0] : e.target;
    return [t, t && known(t) ? mirror.getId(t) : -1];
  }

  function onMouse(type) {
    return (e) => {
      const [, id] = targetId(e);
      const data = { source: Source.MouseInteraction, type, id };
      if (typeof e.clientX === 'number') {
        data.x = mathRound(e.clientX);
        data.y = mathRound(e.clientY);
      } else if (e.changedTouches && e.changedTouches.length) {
        data.x = mathRound(e.changedTouches[0].clientX);
        data.y = mathRound(e.changedTouches[0].clientY);
      }
      if (type >= MouseInteractions.TouchStart) data.pointerType = 2;
      rr(EventType.IncrementalSnapshot, data);
    };
  }

  function onKey(e) {
    const [t, id] = targetId(e);
    let key = e.key;
    let code = e.code;
    const el = t && t.nodeType === 1 ? t : null;
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
    push('input.key', { key, code, alt: !!e.altKey, ctrl: !!e.ctrlKey, meta: !!e.metaKey,
      shift: !!e.shiftKey, target: id, selector: el ? cssPath(el) : null });
  }

  // Clipboard text only when configured (clipboardContent), masked by the target's rule.
  function clipContent(action, e, el) {
    let text = '';
    try {
      if (action === 'paste') {
        text = e.clipboardData ? e.clipboardData.getData('text/plain') : '';
      } else if (masker.isControl(el) && typeof el.selectionStart === 'number') {
        text = String(el.value).slice(el.selectionStart, el.selectionEnd);
      } else {
        text = String(el.ownerDocument.getSelection() || '');
      }
    } catch (err) {
      text = '';
    }
    text = text.slice(0, 10000);
    const rule = masker.isControl(el) ? masker.controlRule(el) : masker.ruleFor(el);
    return rule ? applyMode(rule, text) : text;
  }

  function instrument(d) {
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
    on('focus', (e) => {
      const [, id] = targetId(e);
      rr(EventType.IncrementalSnapshot, { source: Source.MouseInteraction,
        type: MouseInteractions.Focus, id });
    });
    on('blur', (e) => {
      const [, id] = targetId(e);
      rr(EventType.IncrementalSnapshot, { source: Source.MouseInteraction,
        type: MouseInteractions.Blur, id });
    });
    on('mousemove', (e) => {
      const t = now();
      if (t - lastMoveT < cfg.mouseMoveMs || moves.length > 200) return;
      lastMoveT = t;
      const [, id] = targetId(e);
      moves.push({ x: mathRound(e.clientX), y: mathRound(e.clientY), id, t });
    });
    on('scroll', (e) => {
      const t = e.target;
      scrolls.set(t && t.nodeType === 9 ? t : t, true);
    });
    const inputHandler = (e) => {
      const [t] = targetId(e);
      if (t && t.nodeType === 1 && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA'
        || t.tagName === 'SELECT')) {
        inputEvent(t);
        if (t.type === 'radio') pollControls();
      }
    };
    on('input', inputHandler);
    on('change', inputHandler);
    on('keydown', onKey);
    const clip = (action) => (e) => {
      const [t, id] = targetId(e);
      const el = t && t.nodeType === 1 ? t : (t && t.parentElement) || null;
      const p = { action, target: id, selector: el ? cssPath(el) : null };
      if (userCfg.clipboardContent === true && el) p.content = clipContent(action, e, el);
      push('input.clipboard', p);
    };
    on('copy', clip('copy'));
    on('cut', clip('cut'));
    on('paste', clip('paste'));
    on('submit', (e) => {
      const f = e.target;
      push('input.submit', { target: known(f) ? mirror.getId(f) : -1, selector: cssPath(f),
        action: f.getAttribute ? f.getAttribute('action') : null,
        method: f.getAttribute ? (f.getAttribute('method') || 'get').toLowerCase() : null });
    });
    on('selectionchange', () => { selectionDirty = true; });
    const w = d.defaultView;
    if (w) w.addEventListener('resize', () => { resized = true; }, { passive: true });
    // Up to flushMs of events would die with the document: flush when it goes away or hides.
    // (Measured: a binding call from pagehide/unload never arrives; from beforeunload it does.)
    if (w && d === doc) {
      w.addEventListener('beforeunload', () => safe(flush)(), { capture: true });
      w.addEventListener('pagehide', () => safe(flush)(), { capture: true });
      d.addEventListener('visibilitychange', () => {
        if (d.visibilityState === 'hidden') safe(flush)();
      }, { capture: true });
    }
  }

  function flushInputs() {
    if (moves.length) {
      const t = now();
      const positions = moves.map((m) => ({ x: m.x, y: m.y, id: m.id, timeOffset: m.t - t }));
      moves = [];
      rr(EventType.IncrementalSnapshot, { source: Source.MouseMove, positions });
    }
    if (scrolls.size) {
      scrolls.forEach((_v, t) => {
        const isDoc = t.nodeType === 9;
        const el = isDoc ? (t.scrollingElement || t.documentElement) : t;
        const id = mirror.getId(isDoc ? t : t);
        if (!el || id < 0) return;
        rr(EventType.IncrementalSnapshot, { source: Source.Scroll, id,
          x: mathRound(el.scrollLeft), y: mathRound(el.scrollTop) });
      });
      scrolls.clear();
    }
    if (resized) {
      resized = false;
      rr(EventType.IncrementalSnapshot, { source: Source.ViewportResize, width: viewportW(),
        height: viewportH() });
    }
    if (selectionDirty) {
      selectionDirty = false;
      const sel = doc.getSelection();
      const ranges = [];
      if (sel) {
        for (let i = 0; i < sel.rangeCount; i++) {
          const r = sel.getRangeAt(i);
          if (r.collapsed) continue;
          const s = mirror.getId(r.startContainer);
          const e = mirror.getId(r.endContainer);
          if (s > 0 && e > 0) {
            ranges.push({ start: s, startOffset: r.startOffset, end: e, endOffset: r.endOffset });
          }
        }
      }
      rr(EventType.IncrementalSnapshot, { source: Source.Selection, ranges });
    }
  }

  // ---- timers -----------------------------------------------------------------------------
  let lastKeyframe = now();
  let lastStyleScan = now();
  let lastShadowScan = now();
  let styleScanCost = 0;
  let shadowScanCost = 0;
  let lastCanvas = 0;
  let started = false;

  function flush() {
    const t = now();
    if (flood) {
      const window = windowCount;
      if (window <= floodBudget()) {
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
    pollControls();
    flushInputs();
    // Periodic scans back off on big pages: each waits at least 50x its own last duration
    // (<= 2% of the main thread), however short the configured interval.
    if (t - lastStyleScan >= Math.max(cfg.styleScanMs, styleScanCost * 50)) {
      const c0 = clock();
      styles.rescan();
      styleScanCost = clock() - c0;
      lastStyleScan = now();
    }
    if (t - lastShadowScan >= Math.max(cfg.shadowScanMs, shadowScanCost * 50)) {
      const c0 = clock();
      rescanShadow();
      shadowScanCost = clock() - c0;
      lastShadowScan = now();
    }
    if (t - lastCanvas >= cfg.canvasMs && canvases.size) {
      lastCanvas = t;
      pollCanvases();
    }
    if (dirtySinceSnapshot && t - lastKeyframe >= cfg.keyframeMs) fullSnapshot('keyframe');
    drain();
  }

  function safe(fn) {
    return function guarded() {
      const t0 = clock();
      try {
        fn();
      } catch (e) {
        try {
          push('capture.degraded', { reason: 'recorder_error', error: String(e && e.message) });
          drain();
        } catch (e2) { /* nothing more we can do */ }
      }
      stats.workMs += clock() - t0;
    };
  }

  function begin() {
    if (started) return;
    started = true;
    masker = createMasker(userCfg.mask, (r) => push('capture.degraded',
      { reason: 'bad_mask_selector', rule: String(r && r.id) }));
    styles = createStyles({ mirror, rr, known });
    observeRoot(doc);
    instrument(doc);
    fullSnapshot(null);
    drain();
    arm();
  }

  function arm() {
    loopGen += 1;
    every(cfg.flushMs, safe(flush));
    if (cfg.pollMs < cfg.flushMs) every(cfg.pollMs, safe(pollControls));
    every(cfg.heartbeatMs, safe(() => {
      push('capture.heartbeat', { mutations: stats.mutations, batches: stats.batches,
        dropped: stats.dropped, nodes: mirror.idNodeMap ? mirror.idNodeMap.size : -1,
        work_us: mathRound(stats.workMs * 1000), version: VERSION });
    }));
  }

  // The agent's recovery when heartbeats stop although the page's event loop turns: re-arm
  // the loops (the old ones stop) and take a keyframe.
  G.__st_restart = () => {
    if (!started) {
      safe(begin)();
      return;
    }
    arm();
    safe(() => {
      fullSnapshot('restart');
      drain();
    })();
  };

  // Functions the agent calls in this world (Runtime.evaluate with the world's context id).
  G.__st_rescanStyles = () => { if (started) { processMutations(); styles.rescan(); drain(); } };
  G.__st_rescanShadow = () => { if (started) { const n = rescanShadow(); drain(); return n; } return 0; };
  G.__st_flush = () => { if (started) safe(flush)(); };
  G.__st_snapshot = () => { if (started) { fullSnapshot('requested'); drain(); } };
  G.__st_version = VERSION;
  G.__st_stats = () => ({ mutations: stats.mutations, batches: stats.batches,
    dropped: stats.dropped, work_us: mathRound(stats.workMs * 1000) });

  if (doc.readyState === 'loading') {
    doc.addEventListener('DOMContentLoaded', safe(begin), { once: true });
  } else {
    later(0, safe(begin));
  }
})();
