// The recorder's periodic work: flush() every flushMs (noted control input, mutations,
// controls every pollMs, other noted input, backed-off scans, canvases (read at the next
// frame), keyframes, the heartbeat every heartbeatMs, then one drain to the binding), and
// control polling between flushes when pollMs < flushMs. One timer for all of it: each
// wake-up of this world costs the page's main thread a task and a switch of worlds, whatever
// little it then does.
// Every entry point runs guarded: an error becomes a capture.degraded event, never an
// exception in the page's event loop.

import {
  canvasesDue, followCanvases, hasCanvases, pollCanvases, readCanvases,
} from './canvas.js';
import { pollControls, sendNoted } from './controls.js';
import { flushInputs } from './inputs.js';
import { flushMutations, quietly } from './mutations.js';
import { drain, push } from './queue.js';
import { rescanShadow } from './shadow.js';
import { fullSnapshot, keyframeDue, mirror } from './snapshot.js';
import { every, newLoopGeneration } from './timers.js';
import { VERSION, cfg, clock, mathRound, now, stats, styles } from './world.js';

let lastStyleScan = now();
let lastShadowScan = now();
let styleScanCost = 0;
let shadowScanCost = 0;
let lastCanvas = 0;
let lastPoll = 0;
let lastBeat = 0;

// Periodic scans back off on big pages: each waits at least 50x its own last duration
// (<= 2% of the main thread), however short the configured interval.
function scan(t) {
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
}

// The periodic flush polls controls and reads the selection when due (pollControls and
// flushInputs say when); a flush the agent asks for, or one before the document goes away,
// does both always.
export function flush(all) {
  quietly(() => flushNow(all));
}

function flushNow(all) {
  const t = now();
  // The heartbeat says the flush loop turns: it rides the flush, at most flushMs late, and
  // comes first, so that a step failing at every flush (each failure a capture.degraded
  // event) does not silence it.
  if (t - lastBeat >= cfg.heartbeatMs) {
    lastBeat = t;
    heartbeat();
  }
  sendNoted(); // before the mutations: the agent masks them against the page as typed into
  flushMutations(t);
  if (all === true || t - lastPoll >= cfg.pollMs) {
    lastPoll = t;
    pollControls();
  }
  flushInputs(all === true);
  scan(t);
  if ((t - lastCanvas >= cfg.canvasMs && hasCanvases()) || canvasesDue()) {
    lastCanvas = t;
    pollCanvases(readCanvasesNow);
  }
  if (keyframeDue(t)) fullSnapshot('keyframe');
  drain();
}

// fn wrapped: its errors become a capture.degraded event; its time counts as recorder work.
export function safe(fn) {
  return function guarded() {
    const t0 = clock();
    try {
      fn();
    } catch (e) {
      try {
        push('capture.degraded', { reason: 'recorder_error', error: String(e && e.message) });
        drain();
      } catch { /* nothing more we can do */ }
    }
    stats.workMs += clock() - t0;
  };
}

// Canvas images are read in rendering updates, after the page's frame (canvas.js says why).
const followFrame = safe(() => {
  followCanvases(followFrame);
  drain();
});
const readCanvasesNow = safe(() => {
  readCanvases(followFrame);
  drain();
});

const flushAll = () => flush(true);

// Flush now, everything (the document is going away, or the agent asks).
export function flushGuarded() {
  safe(flushAll)();
}

function heartbeat() {
  push('capture.heartbeat', { mutations: stats.mutations, batches: stats.batches,
    dropped: stats.dropped, nodes: mirror.idNodeMap ? mirror.idNodeMap.size : -1,
    work_us: mathRound(stats.workMs * 1000), version: VERSION });
}

// Start the loops; loops started before stop.
export function arm() {
  newLoopGeneration();
  lastBeat = now();
  every(cfg.flushMs, safe(flush));
  if (cfg.pollMs < cfg.flushMs) every(cfg.pollMs, safe(pollControls));
}
