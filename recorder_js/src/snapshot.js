// Serialization: the mirror (node <-> id), rrweb-snapshot with our masking hooks, full
// snapshots (chunked for huge DOMs) and the flattening of serialized subtrees into adds.

import { Mirror, serializeNodeWithId } from 'rrweb-snapshot';
import {
  CANVAS_MIME, CANVAS_QUALITY, forgetCanvases, snapshotImage, trackCanvas,
} from './canvas.js';
import { isClosedRoot, noteHost } from './closed.js';
import { applyMode } from './mask.js';
import { forgetControls, sendNoted, trackControl } from './controls.js';
import { instrument } from './inputs.js';
import { discardPending, observeRoot } from './mutations.js';
import { custom, rr } from './queue.js';
import {
  DOCUMENT_FRAGMENT_NODE, ELEMENT_NODE, EventType, IncrementalSource, NodeType,
} from './rrweb_types.js';
import {
  G, cfg, doc, masker, mathRound, now, styles, titlePrefix, viewportH, viewportW,
} from './world.js';

export const mirror = new Mirror();

// Nodes of our own (the recording notice) that snapshots and mutations skip: the mirror holds
// them with rrweb-snapshot's ignored id, which serializeNodeWithId answers with null.
const IGNORED_ID = -2;
const ignored = [];

export function ignoreNode(n) {
  ignored.push(n);
  mirror.add(n, { id: IGNORED_ID });
}

let inSnapshot = false;
let deferred = []; // work to run after the snapshot event (iframe attaches)
let afterSnapshot = null; // then this (closed shadow roots sent again)
let generation = 0;
const iframeAttached = new WeakMap(); // iframe -> [contentDocument, generation]
let dirtySinceSnapshot = false;
let lastKeyframe = now();

const FLOAT_ATTRS = ['rr_scrollLeft', 'rr_scrollTop', 'rr_mediaCurrentTime',
  'rr_mediaPlaybackRate', 'rr_mediaVolume'];

// Whether the replay has this node (its id maps back to it).
export function known(n) {
  const id = mirror.getId(n);
  return id > 0 && mirror.getNode(id) === n;
}

// The DOM changed since the last full snapshot (a keyframe is due after keyframeMs).
export function markDirty() {
  dirtySinceSnapshot = true;
}

export function keyframeDue(t) {
  return dirtySinceSnapshot && t - lastKeyframe >= cfg.keyframeMs;
}

function onSerialize(n) {
  const sn = mirror.getMeta(n);
  if (!sn) return;
  const parent = n.parentNode;
  if (parent && parent.nodeType === DOCUMENT_FRAGMENT_NODE && isClosedRoot(parent)) {
    sn.closed = true; // a top node of a root the page attached closed
  }
  if (sn.type === NodeType.Element) {
    onSerializeElement(n, sn);
  } else if (sn.type === NodeType.Text) {
    const p = n.parentNode;
    if (p && p.nodeType === ELEMENT_NODE) sn.textContent = maskText(p, sn.textContent);
  }
}

function onSerializeElement(n, sn) {
  const tag = n.tagName;
  const isControl = tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT';
  if (isControl) {
    trackControl(n);
  } else if (tag === 'CANVAS') {
    trackCanvas(n);
    snapshotImage(n, sn.attributes);
  } else if (tag === 'STYLE' || tag === 'LINK') {
    if (styles) styles.baseline(n);
  }
  masker.patchElement(n, sn);
  noteHost(n);
  // Journals hold integers only: rrweb-snapshot's fractional scroll / media numbers travel
  // as strings (the replayer assigns them to DOM properties, which coerce them back).
  const a = sn.attributes;
  for (let i = 0; i < FLOAT_ATTRS.length; i++) {
    const v = a[FLOAT_ATTRS[i]];
    if (typeof v === 'number' && !Number.isInteger(v)) a[FLOAT_ATTRS[i]] = String(v);
  }
  if (isControl) controlState(n, a);
  // A srcdoc frame whose document we record: the replay must show the recorded document, not
  // load the srcdoc's original HTML over it (a race the replay sometimes lost).
  if (tag === 'IFRAME' && typeof a.srcdoc === 'string' && n.contentDocument) delete a.srcdoc;
  const sr = n.shadowRoot;
  if (sr) observeRoot(sr);
}

const NO_LIVE_VALUE = { checkbox: 1, radio: 1, submit: 1, button: 1, reset: 1, image: 1,
  file: 1 };

// A control's state as the page shows it now, not as its HTML attributes said: rrweb-snapshot
// leaves a `checked` attribute a script has since cleared, and an emptied field's old value
// attribute (or a textarea's original text). The replay rebuilds from these attributes.
function controlState(n, a) {
  const type = n.tagName === 'INPUT' ? String(n.type).toLowerCase() : '';
  if (type === 'checkbox' || type === 'radio') {
    if (n.checked) a.checked = true;
    else delete a.checked;
  }
  if (NO_LIVE_VALUE[type] === 1) return;
  const v = n.value;
  if (v !== '' || typeof a.value === 'string' || n.tagName === 'TEXTAREA') {
    a.value = v === '' ? '' : masker.controlValue(n, v);
  }
}

// Text as the replay will show it: a textarea's text is its default value (input rules);
// a title loses the notice prefix the recorder put there; other text follows the selector
// rules of its element.
export function maskText(p, v) {
  const tag = p.tagName;
  if (tag === 'TITLE' && titlePrefix && v.startsWith(titlePrefix)) {
    return v.slice(titlePrefix.length); // our notice, not the page's title
  }
  if (tag === 'TEXTAREA') return masker.controlValue(p, v);
  if (!masker.anyRules || tag === 'STYLE' || tag === 'SCRIPT') return v;
  return masker.textValue(p, v);
}

// maskText(p, v) as a function of v, decided once for element p: null when every value goes
// as it is. serializedTag, the tag name p was serialized with (lower case, or null when
// unknown), spares the DOM read of p.tagName when it is neither "title" nor "textarea".
export function maskTextFor(p, serializedTag) {
  if (serializedTag === null || serializedTag === 'title' || serializedTag === 'textarea') {
    const tag = p.tagName;
    if (tag === 'TITLE' || tag === 'TEXTAREA') return (v) => maskText(p, v);
  }
  if (!masker.anyRules) return null;
  const tag = p.tagName;
  if (tag === 'STYLE' || tag === 'SCRIPT') return null;
  const rule = masker.ruleFor(p);
  return rule === null ? null : (v) => applyMode(rule, v);
}

// A frame's document is attached once per snapshot generation. A new document whose parser
// has made no node yet (a srcdoc frame's, serialized from rrweb-snapshot's timer) is not
// attached: it shows nothing, and its load, which carries its content, would then be a
// second attach of the same document, which the replayer does not rebuild (the frame stayed
// empty). That load attaches it.
function onIframeLoad(iframe, sn) {
  const d = iframe.contentDocument;
  if (d && !d.documentElement && d.readyState !== 'complete') return;
  const prev = iframeAttached.get(iframe);
  if (prev && prev[0] === d && prev[1] === generation) return;
  iframeAttached.set(iframe, [d, generation]);
  const emit = () => {
    if (!known(iframe)) return;
    rr(EventType.IncrementalSnapshot, {
      source: IncrementalSource.Mutation,
      adds: [{ parentId: mirror.getId(iframe), nextId: null, node: sn }],
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

// The serialized tree of n (ids assigned in the mirror), or null.
export function serialize(n, d) {
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
    dataURLOptions: { type: CANVAS_MIME, quality: CANVAS_QUALITY },
    inlineImages: false,
    preserveWhiteSpace: true,
    newlyAddedElement: !inSnapshot,
    onSerialize,
    onIframeLoad,
    iframeLoadTimeout: 5000,
    keepIframeSrcFn: () => false,
  });
}

// [parent id, isShadow] as rrweb's replayer expects (shadow children hang off the host).
export function parentInfo(p) {
  if (p.nodeType === DOCUMENT_FRAGMENT_NODE && p.host) return [mirror.getId(p.host), true];
  return [mirror.getId(p), false];
}

// rrweb's replayer builds each added node with skipChild: a subtree travels as one add per
// node, parent first and later siblings first (so every nextId already exists on arrival).
export function flatten(out, parentId, nextId, sn) {
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

// A Mutation event that only adds nodes.
export function emitAdds(adds) {
  rr(EventType.IncrementalSnapshot, { source: IncrementalSource.Mutation, texts: [],
    attributes: [], removes: [], adds });
}

export function onFullSnapshot(fn) {
  afterSnapshot = fn;
}

// Forget everything the replay has and send the page again (a keyframe when reason is set).
export function fullSnapshot(reason) {
  sendNoted(); // inputs noted before it come before it
  discardPending();
  generation += 1;
  mirror.reset();
  for (const n of ignored) mirror.add(n, { id: IGNORED_ID });
  forgetControls();
  forgetCanvases();
  if (styles) styles.reset();
  inSnapshot = true;
  let node;
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
  if (afterSnapshot) afterSnapshot();
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
    emitAdds(adds.slice(i, i + cfg.snapshotChunkNodes));
  }
}
