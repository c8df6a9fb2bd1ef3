// The world the recorder runs in: references to built-ins taken once at start (this isolated
// world's globals are private to it, but the recorder never looks anything up again after
// start), the configuration the agent puts in globalThis.__ST_CFG, the counters heartbeats
// report, and the masker and style tracker begin() creates.
//
// Every module of the recorder is a singleton per world: the bundle runs once per isolated
// world, so module state is the recorder's state.

/* global __ST_VERSION__ */
export const VERSION = typeof __ST_VERSION__ === 'string' ? __ST_VERSION__ : 'dev';

export const G = globalThis;
export const doc = G.document;
export const stringify = JSON.stringify;
export const now = Date.now;
export const mathRound = Math.round;
export const MO = G.MutationObserver;
// Selector matching is the browser's own, through the built-ins of this world.
const elementProto = G.Element.prototype;
const elMatches = elementProto.matches;
const elClosest = elementProto.closest;
export const matches = (el, selector) => elMatches.call(el, selector);
export const closest = (el, selector) => elClosest.call(el, selector);
const perf = G.performance;
export const clock = () => perf.now();

export const userCfg = G.__ST_CFG || {};
export const cfg = {
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

// The recording notice the agent asked for ({banner, title, text}); the title prefix is ''
// unless the notice goes in the window title.
const notice = userCfg.indicator || {};
export const noticeText = String(notice.text || 'This session is recorded');
export const titlePrefix = notice.title ? '[' + noticeText + '] ' : '';

export const stats = { mutations: 0, batches: 0, dropped: 0, workMs: 0 };

// Created by begin() (they need the queue and the mirror); null until then.
export let masker = null;
export let styles = null;

export function setTrackers(newMasker, newStyles) {
  masker = newMasker;
  styles = newStyles;
}

export function viewportW() {
  return G.innerWidth || (doc.documentElement && doc.documentElement.clientWidth) || 0;
}

export function viewportH() {
  return G.innerHeight || (doc.documentElement && doc.documentElement.clientHeight) || 0;
}
