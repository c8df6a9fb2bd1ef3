// Canvas images. An isolated world cannot hook 2D/WebGL commands, so each known canvas is
// read as an image (every canvasMs) and sent, when it changed, as a canvas mutation that
// draws it.
//
// When: a WebGL canvas without preserveDrawingBuffer reads as blank once the browser has
// presented its frame, and the page is not ours to reconfigure. Reads are therefore taken in
// a ResizeObserver callback: the browser runs those in its rendering update after every
// requestAnimationFrame callback of the frame (the page's draws included) and before it
// presents the frame. A 2D canvas (its buffer is kept) is read once per poll. Any other
// canvas is followed frame by frame from each poll while it draws (see "following" below):
// the last frame it drew is sent, and a frame it did not draw (blank) is not, so a WebGL
// chart that stops drawing keeps its last picture. A canvas that draws only between two
// follow windows is seen at its next drawn frame inside one.
//
// Order: every image of a canvas carries `frame`, a number that grows per canvas element (in
// snapshots as the attribute `rr_canvasFrame`), so a replayer that decodes images
// asynchronously can draw the newest one last.
//
// Masking: a canvas that is blocked (rr-block) or covered by a mask rule is never imaged.

import { rrAt } from './queue.js';
import { CanvasContext, EventType, IncrementalSource } from './rrweb_types.js';
import { known, mirror } from './snapshot.js';
import { G, cfg, doc, masker, now } from './world.js';

export const CANVAS_MIME = 'image/webp';
export const CANVAS_QUALITY = 0.7;
const RO = G.ResizeObserver;
const raf = G.requestAnimationFrame.bind(G);

const canvases = new Set();
const canvasLast = new WeakMap(); // canvas -> data URL of the last image sent
const frames = new WeakMap(); // canvas -> number of its last image
const preserved = new WeakMap(); // canvas -> false when its buffer is cleared per frame
const blanks = new Map(); // 'w x h' -> data URL of a blank canvas of that size
const tainted = new WeakSet(); // canvases whose pixels the page's origin may not read
let readPending = false;
let due = false;
let afterSnapshot = false;

export function trackCanvas(c) {
  canvases.add(c);
}

// A new snapshot: forget the set (it is rebuilt) and read every canvas at the next frame.
export function forgetCanvases() {
  canvases.clear();
  due = true;
}

export function hasCanvases() {
  return canvases.size > 0;
}

// A read is wanted now whatever the period (right after a snapshot).
export function canvasesDue() {
  return due && canvases.size > 0;
}

// Whether a canvas may be imaged: not blocked, not under a mask rule.
export function imageable(c) {
  try {
    if (c.closest('.rr-block')) return false;
  } catch {
    return false;
  }
  return !(masker && masker.ruleFor(c));
}

function nextFrame(c) {
  const n = (frames.get(c) || 0) + 1;
  frames.set(c, n);
  return n;
}

function blankUrl(c) {
  const key = c.width + 'x' + c.height;
  let u = blanks.get(key);
  if (u === undefined) {
    const b = doc.createElement('canvas');
    b.width = c.width;
    b.height = c.height;
    u = b.toDataURL(CANVAS_MIME, CANVAS_QUALITY);
    if (blanks.size > 32) blanks.clear();
    blanks.set(key, u);
  }
  return u;
}

// Asked only of a canvas that showed content (so it has a context): getContext('2d') then
// answers the existing 2D context, or null for WebGL/bitmaprenderer, and creates nothing.
function isPreserved(c) {
  let p = preserved.get(c);
  if (p === undefined) {
    try {
      p = c.getContext('2d') !== null;
    } catch {
      p = false;
    }
    preserved.set(c, p);
  }
  return p;
}

// The snapshot's image of a canvas (rrweb-snapshot put rr_dataURL in `attrs` when the read
// was not blank): none when the canvas may not be imaged; the last image read at a frame
// when the buffer was already cleared; and the image's frame number.
export function snapshotImage(c, attrs) {
  if (!imageable(c)) {
    delete attrs.rr_dataURL;
    return;
  }
  let url = attrs.rr_dataURL;
  const last = canvasLast.get(c);
  if (typeof url !== 'string' && preserved.get(c) === false && last !== blankUrl(c)) {
    url = last;
  }
  if (typeof url === 'string') {
    if (url !== blankUrl(c)) isPreserved(c);
    attrs.rr_dataURL = url;
    attrs.rr_canvasFrame = nextFrame(c);
    canvasLast.set(c, url);
  } else if (c.width && c.height) {
    canvasLast.set(c, blankUrl(c));
  }
}

function drawImageEvent(c, url, frame) {
  const comma = url.indexOf(',');
  const mime = url.slice(5, url.indexOf(';'));
  return {
    source: IncrementalSource.CanvasMutation, id: mirror.getId(c), type: CanvasContext.TwoD,
    frame,
    commands: [
      { property: 'clearRect', args: [0, 0, c.width, c.height] },
      { property: 'drawImage', args: [{ rr_type: 'ImageBitmap', args: [{ rr_type: 'Blob',
        data: [{ rr_type: 'ArrayBuffer', base64: url.slice(comma + 1) }], type: mime }] },
      0, 0] },
    ],
  };
}

// Send an image of c that it showed at time t (when it changed).
function send(c, url, t) {
  if (canvasLast.get(c) === url) return;
  canvasLast.set(c, url);
  rrAt(t, EventType.IncrementalSnapshot, drawImageEvent(c, url, nextFrame(c)));
}

// Whether a canvas can be read now (connected, known to the replay, sized, not masked).
function readable(c) {
  if (!c.isConnected) {
    canvases.delete(c);
    return false;
  }
  return known(c) && c.width > 0 && c.height > 0 && !tainted.has(c) && imageable(c);
}

function dataUrl(c) {
  try {
    return c.toDataURL(CANVAS_MIME, CANVAS_QUALITY);
  } catch {
    tainted.add(c);
    return null;
  }
}

// A 2D canvas keeps its pixels: its image at any time is its image.
function readPreserved(c) {
  const url = dataUrl(c);
  if (url === null) return;
  if (url === blankUrl(c) && !canvasLast.has(c)) {
    canvasLast.set(c, url); // never drawn: the replay is blank already
    return;
  }
  send(c, url, now());
}

// ---- following a canvas whose buffer is cleared after each frame (WebGL) ----------------
// From a poll on, every frame such a canvas drew (a small sample of it is not fully
// transparent) is copied into a private canvas. The copy of its last drawn frame is sent at
// the next poll (a canvas that keeps drawing: one image per poll) or when it stops drawing
// (IDLE_FRAMES frames and IDLE_MS without a draw); then the loop ends, so an idle page gets
// extra frames only for about IDLE_MS per poll. Each poll moves the window's end two polls
// ahead, so a canvas that keeps drawing is followed without a gap.
const IDLE_FRAMES = 10;
const IDLE_MS = 200;
const ANIMATING_FRAMES = 30;
const SAMPLE = 8;
const follows = new Map(); // canvas -> {copy, idle, streak, drewAt, until, patientUntil, dirty}
const animating = new WeakSet(); // canvases that drew in ANIMATING_FRAMES frames in a row
let sampler = null;
let followArmed = false;
let pollWanted = false;

function drewThisFrame(c) {
  if (!sampler) {
    const s = doc.createElement('canvas');
    s.width = SAMPLE;
    s.height = SAMPLE;
    sampler = s.getContext('2d', { willReadFrequently: true });
  }
  sampler.clearRect(0, 0, SAMPLE, SAMPLE);
  sampler.drawImage(c, 0, 0, c.width, c.height, 0, 0, SAMPLE, SAMPLE);
  let px;
  try {
    px = sampler.getImageData(0, 0, SAMPLE, SAMPLE).data;
  } catch {
    tainted.add(c); // it drew cross-origin images: never readable
    sampler = null; // the sampler is tainted now too
    return false;
  }
  for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) return true;
  return false;
}

function sendCopy(c, f) {
  if (!f.dirty) return;
  f.dirty = false;
  send(c, f.copy.toDataURL(CANVAS_MIME, CANVAS_QUALITY), f.drewAt);
}

function copyFrame(c, f, t) {
  if (f.copy.width !== c.width || f.copy.height !== c.height) {
    f.copy.width = c.width;
    f.copy.height = c.height;
  }
  const x = f.copy.getContext('2d');
  x.clearRect(0, 0, c.width, c.height);
  x.drawImage(c, 0, 0);
  f.dirty = true;
  f.drewAt = t;
  f.idle = 0;
  f.streak += 1;
}

function followStep(c, f, t) {
  if (!readable(c)) {
    follows.delete(c);
    return;
  }
  if (drewThisFrame(c)) {
    if (isPreserved(c)) { // a 2D canvas after all: read it as one
      follows.delete(c);
      readPreserved(c);
      return;
    }
    copyFrame(c, f, t);
  } else {
    f.idle += 1;
    f.streak = 0;
  }
  const idle = f.idle >= IDLE_FRAMES && t - f.drewAt >= IDLE_MS && t >= f.patientUntil;
  if (f.streak >= ANIMATING_FRAMES) animating.add(c);
  if (idle || t >= f.until || animating.has(c)) {
    follows.delete(c);
    sendCopy(c, f);
  }
}

// A canvas that draws every frame (an animation) is not followed frame by frame (each sample
// waits for the GPU): each poll sends the frame it shows then. When a poll finds it did not
// draw, it is followed again; its last frame before it stopped is then the one of the poll
// before (at most canvasMs older).
function readAnimating(c, t) {
  if (!drewThisFrame(c)) {
    animating.delete(c);
    return false;
  }
  const f = { copy: doc.createElement('canvas'), idle: 0, streak: 0, drewAt: t, dirty: false };
  copyFrame(c, f, t);
  sendCopy(c, f);
  return true;
}

// A poll: a followed canvas sends what it drew since the last poll and is followed on. The
// window after a snapshot (patient), where a chart drawn once at load must be seen, does not
// end early for want of draws.
function follow(c, t, patient) {
  const f = follows.get(c);
  const until = t + 2 * cfg.canvasMs;
  if (f) {
    sendCopy(c, f);
    f.until = until;
    return;
  }
  follows.set(c, { copy: doc.createElement('canvas'), idle: 0, streak: 0, drewAt: t, until,
    dirty: false, patientUntil: patient ? t + cfg.canvasMs : 0 });
}

// The next frame's step, taken after the page's animation-frame callbacks (a ResizeObserver
// observation made in an animation-frame callback is delivered in that same frame).
function armFollow(run) {
  if (followArmed || follows.size === 0) return;
  followArmed = true;
  raf(() => {
    const root = doc.documentElement;
    if (!root) {
      followArmed = false;
      return;
    }
    const ro = new RO(() => {
      ro.disconnect();
      followArmed = false;
      run();
    });
    ro.observe(root);
  });
}

// A poll, in a rendering update: read the 2D canvases, follow the others from this frame.
export function readCanvases(run) {
  const t = now();
  const patient = afterSnapshot;
  afterSnapshot = false;
  pollWanted = false;
  canvases.forEach((c) => {
    if (!readable(c)) return;
    if (preserved.get(c) === true) readPreserved(c);
    else if (!animating.has(c) || !readAnimating(c, t)) follow(c, t, patient);
  });
  followFrame(run, t);
}

function followFrame(run, t) {
  follows.forEach((f, c) => followStep(c, f, t));
  armFollow(run);
}

// The follow loop's step (guarded by the caller); a poll that came meanwhile runs here.
export function followCanvases(run) {
  if (pollWanted) readCanvases(run);
  else followFrame(run, now());
}

// Run `read` (which calls readCanvases) at the next rendering update (see the top of this
// file). One read is outstanding at most: a tab that renders nothing (hidden) queues no more.
export function pollCanvases(read) {
  afterSnapshot = afterSnapshot || due;
  due = false;
  if (followArmed) {
    pollWanted = true; // the follow loop's next frame reads them
    return;
  }
  const root = doc.documentElement;
  if (readPending || !root) return;
  readPending = true;
  const ro = new RO(() => {
    ro.disconnect();
    readPending = false;
    read();
  });
  ro.observe(root);
}
