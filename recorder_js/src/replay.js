// The replayer bundle for the viewer and the fidelity tests: rrweb's own Replayer, exposed
// as the global `rrweb` (no CDN anywhere), with the canvas replay that needs no scripts in
// the replay iframe (replay_canvas.js).
import { Replayer, EventType, IncrementalSource } from 'rrweb';
import { canvasEvents, canvasPlugin } from './replay_canvas.js';

globalThis.rrweb = { Replayer, EventType, IncrementalSource, canvasEvents, canvasPlugin };
