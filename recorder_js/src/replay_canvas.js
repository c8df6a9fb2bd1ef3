// Canvas replay for the viewer, without rrweb's UNSAFE_replayCanvas (which lets the replay
// iframe run scripts and builds objects named by the recording).
//
// Every canvas image of a recording (a snapshot's rr_dataURL, or the recorder's canvas
// mutation: clearRect + drawImage of an image blob) becomes one request: the image is
// checked (PNG, JPEG or WebP only, by type and by magic number, well-formed base64), decoded
// by createImageBitmap in the viewer's own window (the replay iframe stays without scripts;
// decoding an image runs nothing) and drawn on the replayed canvas. Decoding is asynchronous,
// so a small image decoded after a large one would land last: each image carries its
// canvas' frame number (`frame`, `rr_canvasFrame` in snapshots; arrival order when absent)
// and a decoded image older than the one drawn is dropped.
//
// rrweb would draw a snapshot's rr_dataURL itself, asynchronously and out of this order:
// canvasEvents() takes those images out of the events it hands to rrweb (copying only the
// nodes on the way to a canvas; the caller's events are not changed) and puts each one in a
// canvas event right after its event.

const CANVAS_MUTATION = 9;
const INCREMENTAL = 3;
const FULL_SNAPSHOT = 2;
const MUTATION = 0;
const ELEMENT = 2;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAGIC = {
  'image/png': [[0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]]],
  'image/jpeg': [[0, [0xff, 0xd8, 0xff]]],
  'image/webp': [[0, [0x52, 0x49, 0x46, 0x46]], [8, [0x57, 0x45, 0x42, 0x50]]],
};

function hasMagic(bytes, mime) {
  return MAGIC[mime].every(([at, sig]) => sig.every((b, i) => bytes[at + i] === b));
}

// The bytes of an image of an allowed type, or null.
export function imageBytes(mime, base64) {
  if (typeof mime !== 'string' || !Object.prototype.hasOwnProperty.call(MAGIC, mime)) {
    return null;
  }
  if (typeof base64 !== 'string' || base64.length % 4 !== 0 || !BASE64.test(base64)) return null;
  let raw;
  try {
    raw = atob(base64);
  } catch {
    return null;
  }
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes.length >= 12 && hasMagic(bytes, mime) ? bytes : null;
}

// {mime, base64} of a `data:image/...;base64,` URL, or null.
export function dataUrlParts(url) {
  const m = /^data:(image\/(?:png|jpeg|webp));base64,/.exec(typeof url === 'string' ? url : '');
  return m ? { mime: m[1], base64: url.slice(m[0].length) } : null;
}

// {mime, base64} of the recorder's canvas mutation (clearRect + drawImage of an image
// blob), or null for any other shape.
export function mutationImage(data) {
  const cmds = data && data.commands;
  if (!Array.isArray(cmds)) return null;
  const draw = cmds.find((c) => c && c.property === 'drawImage');
  const bitmap = draw && Array.isArray(draw.args) && draw.args[0];
  if (!bitmap || bitmap.rr_type !== 'ImageBitmap' || !Array.isArray(bitmap.args)) return null;
  const blob = bitmap.args[0];
  if (!blob || blob.rr_type !== 'Blob' || !Array.isArray(blob.data) || blob.data.length !== 1) {
    return null;
  }
  const buf = blob.data[0];
  if (!buf || buf.rr_type !== 'ArrayBuffer') return null;
  return { mime: blob.type, base64: buf.base64 };
}

function imageEvent(timestamp, id, url, frame) {
  const parts = dataUrlParts(url);
  if (!parts) return null;
  return { type: INCREMENTAL, timestamp, data: { source: CANVAS_MUTATION, id, type: 0,
    frame: typeof frame === 'number' ? frame : undefined,
    commands: [{ property: 'drawImage', args: [{ rr_type: 'ImageBitmap', args: [{
      rr_type: 'Blob', data: [{ rr_type: 'ArrayBuffer', base64: parts.base64 }],
      type: parts.mime }] }, 0, 0] }] } };
}

// n, or a copy of it whose canvases hold no rr_dataURL (each one noted in `found`).
function stripNode(n, found) {
  if (!n || typeof n !== 'object') return n;
  let out = n;
  const a = n.attributes;
  if (n.type === ELEMENT && n.tagName === 'canvas' && a && 'rr_dataURL' in a) {
    found.push([n.id, a.rr_dataURL, a.rr_canvasFrame]);
    const attrs = Object.assign({}, a);
    delete attrs.rr_dataURL;
    out = Object.assign({}, n, { attributes: attrs });
  }
  const kids = n.childNodes;
  if (Array.isArray(kids)) {
    let copy = null;
    for (let i = 0; i < kids.length; i++) {
      const k = stripNode(kids[i], found);
      if (k !== kids[i]) {
        copy = copy || kids.slice();
        copy[i] = k;
      }
    }
    if (copy) {
      if (out === n) out = Object.assign({}, n);
      out.childNodes = copy;
    }
  }
  return out;
}

// The events to hand to rrweb for one recorded event: the event (a copy without canvas
// images when it held some), then one canvas event per image it held.
export function canvasEvents(e) {
  if (!e || !e.data) return [e];
  const found = [];
  let out = e;
  if (e.type === FULL_SNAPSHOT) {
    const node = stripNode(e.data.node, found);
    if (node !== e.data.node) {
      out = Object.assign({}, e, { data: Object.assign({}, e.data, { node }) });
    }
  } else if (e.type === INCREMENTAL && e.data.source === MUTATION && Array.isArray(e.data.adds)) {
    let adds = null;
    e.data.adds.forEach((add, i) => {
      const node = add && stripNode(add.node, found);
      if (add && node !== add.node) {
        adds = adds || e.data.adds.slice();
        adds[i] = Object.assign({}, add, { node });
      }
    });
    if (adds) out = Object.assign({}, e, { data: Object.assign({}, e.data, { adds }) });
  }
  const list = [out];
  found.forEach(([id, url, frame]) => {
    const ev = imageEvent(e.timestamp, id, url, frame);
    if (ev) list.push(ev);
  });
  return list;
}

// A document without scripting shows a canvas element's fallback content, never its bitmap
// (the replay iframe has no scripts): the image is shown as the element's background, and
// the element is sized as the canvas was (inline-block when it was inline; the bitmap's
// aspect ratio; the bitmap's width when the page's styles give it neither width nor height).
// The bitmap is drawn too, so reading the canvas gives the image.
const sizedByUs = new WeakSet();

function autoSized(canvas, st) {
  if (sizedByUs.has(canvas)) return true;
  const d = st.getPropertyValue('display');
  const prio = st.getPropertyPriority('display');
  const ar = st.getPropertyValue('aspect-ratio');
  st.setProperty('display', 'inline-block', 'important');
  st.removeProperty('aspect-ratio');
  const box = canvas.getBoundingClientRect();
  if (d) st.setProperty('display', d, prio);
  else st.removeProperty('display');
  if (ar) st.setProperty('aspect-ratio', ar);
  return !box.width && !box.height;
}

function show(canvas, url) {
  const st = canvas.style;
  const view = canvas.ownerDocument.defaultView;
  if (autoSized(canvas, st)) {
    sizedByUs.add(canvas);
    st.setProperty('width', canvas.width + 'px');
  }
  if (view && view.getComputedStyle(canvas).display === 'inline') {
    st.setProperty('display', 'inline-block');
  }
  st.setProperty('aspect-ratio', canvas.width + ' / ' + canvas.height);
  st.setProperty('background-image', 'url("' + url + '")');
  st.setProperty('background-size', '100% 100%');
  st.setProperty('background-repeat', 'no-repeat');
}

// The rrweb plugin. `settled()` resolves once every image asked for so far is drawn or
// dropped; `stats` counts drawn, dropped (older than the one drawn) and refused images.
export function canvasPlugin() {
  const drawn = new WeakMap(); // replayed canvas -> frame number on it
  const stats = { drawn: 0, dropped: 0, refused: 0 };
  let arrival = 0;
  let pending = 0;
  let waiters = [];

  function done() {
    pending -= 1;
    if (pending === 0) {
      const w = waiters;
      waiters = [];
      w.forEach((f) => f());
    }
  }

  function draw(canvas, frame, bitmap, url) {
    if ((drawn.get(canvas) || 0) >= frame) {
      stats.dropped += 1;
      return;
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    drawn.set(canvas, frame);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(bitmap, 0, 0);
    show(canvas, url);
    stats.drawn += 1;
  }

  function request(replayer, data) {
    arrival += 1;
    const frame = typeof data.frame === 'number' ? data.frame : arrival;
    const img = mutationImage(data);
    const bytes = img && imageBytes(img.mime, img.base64);
    if (!bytes) {
      stats.refused += 1;
      return;
    }
    pending += 1;
    // The target is looked up after the current synchronous replay step: while rrweb seeks
    // it builds new nodes in a virtual DOM and only then puts them in the document.
    Promise.resolve()
      .then(() => createImageBitmap(new Blob([bytes], { type: img.mime })))
      .then((bitmap) => {
        const canvas = replayer.getMirror().getNode(data.id);
        if (canvas && canvas.nodeName === 'CANVAS') {
          draw(canvas, frame, bitmap, 'data:' + img.mime + ';base64,' + img.base64);
        }
        if (bitmap.close) bitmap.close();
      })
      .catch(() => {
        stats.refused += 1;
      })
      .then(done);
  }

  return {
    handler(event, isSync, context) {
      const d = event && event.data;
      if (event.type !== INCREMENTAL || !d || d.source !== CANVAS_MUTATION) return;
      request(context.replayer, d);
    },
    settled() {
      return pending === 0 ? Promise.resolve() : new Promise((r) => waiters.push(r));
    },
    stats,
  };
}
