// The replayer bundle for the viewer and the fidelity tests: rrweb's own Replayer, exposed
// as the global `rrweb` (no CDN anywhere), with the canvas replay that needs no scripts in
// the replay iframe (replay_canvas.js).
import { Replayer, EventType, IncrementalSource } from 'rrweb';
import { canvasEvents, canvasPlugin } from './replay_canvas.js';

// rrweb's Replayer, catching up in one go (a seek), applies the changes to constructed style
// sheets before it creates those sheets from the adopted-sheet events, and so loses them (an
// insertRule into a sheet the page adopted earlier). A change to a sheet that does not exist
// yet waits for the adopted-sheet event that creates it.
const waitingStyles = new WeakMap(); // replayer -> changes to sheets not created yet
const applyStyleChange = Replayer.prototype.applyStyleSheetMutation;
const applyAdopted = Replayer.prototype.applyAdoptedStyleSheet;
Replayer.prototype.applyStyleSheetMutation = function (data) {
  if (data.styleId && !this.styleMirror.getStyle(data.styleId)) {
    if (!waitingStyles.has(this)) waitingStyles.set(this, []);
    waitingStyles.get(this).push(data);
    return;
  }
  applyStyleChange.call(this, data);
};
Replayer.prototype.applyAdoptedStyleSheet = function (data) {
  applyAdopted.call(this, data);
  const waiting = waitingStyles.get(this);
  if (!waiting || !waiting.length) return;
  waitingStyles.set(this, []);
  waiting.forEach((d) => this.applyStyleSheetMutation(d));
};

globalThis.rrweb = { Replayer, EventType, IncrementalSource, canvasEvents, canvasPlugin };
