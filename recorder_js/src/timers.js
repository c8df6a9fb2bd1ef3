// Timers the page cannot cancel. Timer ids are shared with the page's world: a page looping
// clearInterval(0..N) silences setInterval-based recorders (measured). scheduler.postTask tasks
// have no id; only the holder of their TaskController (us) can cancel them.

import { G } from './world.js';

const setTimeoutF = G.setTimeout.bind(G);
const sched = G.scheduler && typeof G.scheduler.postTask === 'function' ? G.scheduler : null;
const postTask = sched ? sched.postTask.bind(sched) : null;

export function later(ms, fn) {
  if (postTask) postTask(fn, { delay: ms }).catch(() => {});
  else setTimeoutF(fn, ms);
}

let loopGen = 0;

// Run fn every ms until the next newLoopGeneration().
export function every(ms, fn) {
  const gen = loopGen;
  const tick = () => {
    if (gen !== loopGen) return;
    later(ms, tick);
    fn();
  };
  later(ms, tick);
}

// Stop every loop started so far: each sees the new generation on its next tick.
export function newLoopGeneration() {
  loopGen += 1;
}
