// sessiontape recorder: runs in the isolated world "__sessiontape", emits rrweb 2.x events and
// sessiontape input events through the private CDP binding named in globalThis.__ST_CFG.
//
// This entry decides whether to record this document and wires the modules together:
//   world.js      built-ins taken once, config, counters, masker and style tracker
//   queue.js      the output queue, batched to the binding
//   snapshot.js   the mirror, serialization, full snapshots
//   mutations.js  the MutationObserver (stash only) and processMutations at flush
//   texts.js      per-callback text values and the text-node re-key
//   inputs.js     user input listeners (noting, not sending, what is frequent)
//   controls.js   form control values: noted inputs, polls, what the replay has
//   styles.js     CSSOM changes;  canvas.js  canvas images;  shadow.js  late shadow roots
//   closed.js     closed shadow roots the agent finds through CDP
//   loop.js       the flush loop (with the heartbeat) and control polling
//   timers.js     timers the page cannot cancel
//   indicator.js  the recording notice the page cannot remove unrecorded
//   title.js      the recording notice in the window title

import { createMasker } from './mask.js';
import { createStyles } from './styles.js';
import { arm, flushGuarded, safe } from './loop.js';
import {
  createObserver, isObserved, matchEpoch, observeRoot, peekEpoch, processMutations,
} from './mutations.js';
import { drain, lastBatch, push, rr } from './queue.js';
import { takeHosts } from './closed.js';
import { adoptClosedShadow, reattachClosed, rescanShadow } from './shadow.js';
import { fullSnapshot, known, mirror, onFullSnapshot } from './snapshot.js';
import { CHECK_MS, checkIndicator, indicatorState, startIndicator } from './indicator.js';
import { instrument } from './inputs.js';
import { later } from './timers.js';
import { checkTitle, startTitle } from './title.js';
import { G, VERSION, doc, mathRound, setTrackers, stats, styles, userCfg } from './world.js';

let started = false;

// The masker keeps rules found for elements of the trees our observer watches.
const MATCH_EPOCHS = {
  check: matchEpoch,
  peek: peekEpoch,
  observed: (el) => isObserved(el.getRootNode()),
};

// A same-origin child frame is recorded by its parent's recorder (rrweb's iframe model).
function recordedByParent() {
  try {
    return G.top !== G && !!G.frameElement;
  } catch {
    return false;
  }
}

// An isolated world has no customElements registry (null): rrweb-snapshot probes it for every
// element inside try/catch, and a thrown TypeError per element made snapshots ~50x slower.
function stubCustomElements() {
  if (G.customElements) return;
  try {
    Object.defineProperty(G, 'customElements', { value: { get: () => undefined },
      configurable: true });
  } catch { /* keep the slow path */ }
}

function begin() {
  if (started) return;
  started = true;
  const masker = createMasker(userCfg.mask, (r) => push('capture.degraded',
    { reason: 'bad_mask_selector', rule: String(r && r.id) }), MATCH_EPOCHS);
  setTrackers(masker, createStyles({ mirror, rr, known }));
  observeRoot(doc);
  instrument(doc);
  fullSnapshot(null);
  drain();
  arm();
}

// Functions the agent calls in this world (Runtime.evaluate with the world's context id).
function exposeAgentApi() {
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
  G.__st_rescanStyles = () => {
    if (started) {
      processMutations();
      styles.rescan();
      drain();
    }
  };
  // Closed shadow roots: the custom elements to check, then each closed root found.
  G.__st_takeHosts = (limit) => (started ? takeHosts(limit) : []);
  G.__st_closedShadow = (host, root) => {
    if (!started) return null;
    let adopted = null;
    safe(() => {
      adopted = adoptClosedShadow(host, root);
      drain();
    })();
    return adopted;
  };
  G.__st_rescanShadow = () => {
    if (!started) return 0;
    const n = rescanShadow();
    drain();
    return n;
  };
  // Send what is held now and answer the counter of the last batch sent, so the agent can
  // wait until that batch has arrived. A document still loading when the agent stops (keys
  // typed before DOMContentLoaded) starts recording here: its snapshot holds what was typed.
  G.__st_flush = () => {
    if (started) flushGuarded();
    else safe(begin)();
    return lastBatch();
  };
  G.__st_snapshot = () => {
    if (started) {
      fullSnapshot('requested');
      drain();
    }
  };
  G.__st_indicator = indicatorState;
  G.__st_version = VERSION;
  G.__st_stats = () => ({ mutations: stats.mutations, batches: stats.batches,
    dropped: stats.dropped, work_us: mathRound(stats.workMs * 1000) });
}

// The recording notice (the bar and the title prefix), with one loop for both checks: a timer
// of its own, not the recording's loops (the agent's recovery re-arms those; the notice stays).
function startNotice() {
  let bar = false;
  let title = false;
  safe(() => { bar = startIndicator(); })();
  safe(() => { title = startTitle(); })();
  if (!bar && !title) return;
  const checkBar = safe(checkIndicator);
  const checkPrefix = safe(checkTitle);
  const check = () => {
    later(CHECK_MS, check);
    checkBar();
    checkPrefix();
  };
  later(CHECK_MS, check);
}

(function start() {
  if (!doc || doc.__st_recorder) return;
  if (recordedByParent()) return;
  doc.__st_recorder = true;
  stubCustomElements();
  createObserver();
  onFullSnapshot(reattachClosed);
  exposeAgentApi();
  startNotice();
  if (doc.readyState === 'loading') {
    doc.addEventListener('DOMContentLoaded', safe(begin), { once: true });
  } else {
    later(0, safe(begin));
  }
})();
