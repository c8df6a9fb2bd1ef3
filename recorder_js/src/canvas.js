// Canvas images. An isolated world cannot hook 2D/WebGL commands, so each known canvas is
// polled as an image (every canvasMs) and sent, when it changed, as a canvas mutation that
// draws it.

import { rr } from './queue.js';
import { CanvasContext, EventType, IncrementalSource } from './rrweb_types.js';
import { known, mirror } from './snapshot.js';

const canvases = new Set();
const canvasLast = new WeakMap(); // canvas -> data URL last sent

export function trackCanvas(c) {
  canvases.add(c);
}

export function forgetCanvases() {
  canvases.clear();
}

export function hasCanvases() {
  return canvases.size > 0;
}

function drawImageEvent(c, url) {
  const comma = url.indexOf(',');
  const mime = url.slice(5, url.indexOf(';'));
  return {
    source: IncrementalSource.CanvasMutation, id: mirror.getId(c), type: CanvasContext.TwoD,
    commands: [
      { property: 'clearRect', args: [0, 0, c.width, c.height] },
      { property: 'drawImage', args: [{ rr_type: 'ImageBitmap', args: [{ rr_type: 'Blob',
        data: [{ rr_type: 'ArrayBuffer', base64: url.slice(comma + 1) }], type: mime }] },
      0, 0] },
    ],
  };
}

export function pollCanvases() {
  canvases.forEach((c) => {
    if (!c.isConnected) {
      canvases.delete(c);
      return;
    }
    if (!known(c) || c.width === 0 || c.height === 0) return;
    let url;
    try {
      url = c.toDataURL('image/webp', 0.7);
    } catch {
      return; // tainted canvas
    }
    if (canvasLast.get(c) === url) return;
    canvasLast.set(c, url);
    rr(EventType.IncrementalSnapshot, drawImageEvent(c, url));
  });
}
