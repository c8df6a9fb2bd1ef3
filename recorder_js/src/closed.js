// Closed shadow roots. Page script's closed root is invisible from JavaScript (host.shadowRoot
// is null), but the agent can see it through CDP and hands each one to this world
// (__st_closedShadow), where it is recorded like an open root with its own observer. The
// replay shows it as an open root; its top nodes carry `closed: true`. The agent finds them two
// ways: custom elements are checked one by one as soon as they are serialized (noted here,
// taken with __st_takeHosts); every other host (div, span, p, section, ..., also roots declared
// in HTML) by the agent's periodic scan of the whole document with one CDP call, which needs
// nothing from this world.

const closedRoots = new WeakSet();
const closedHosts = new Map(); // host -> its closed root, while the host is connected
const checked = new WeakSet(); // custom elements already handed to the agent
let candidates = [];
let undefinedHosts = []; // custom elements not defined yet: their constructor has not run

function isCustom(el) {
  return el.localName.indexOf('-') > 0;
}

// A serialized element: a custom element without a visible root may hold a closed one.
export function noteHost(el) {
  if (!isCustom(el) || checked.has(el) || el.shadowRoot) return;
  checked.add(el);
  if (el.matches(':defined')) candidates.push(el);
  else undefinedHosts.push(el);
}

// Custom elements defined since they were serialized become candidates (periodic scan).
export function recheckUndefined() {
  if (!undefinedHosts.length) return;
  const still = [];
  for (const el of undefinedHosts) {
    if (!el.isConnected) continue;
    if (el.matches(':defined')) candidates.push(el);
    else still.push(el);
  }
  undefinedHosts = still;
}

export function pendingHosts() {
  return candidates.length;
}

// Up to limit candidates for the agent (it checks each one once); the rest wait for its next
// scan (the batches keep saying how many).
export function takeHosts(limit) {
  return candidates.splice(0, limit > 0 ? limit : candidates.length)
    .filter((el) => el.isConnected);
}

export function rootOf(el) {
  return el.shadowRoot || closedHosts.get(el) || null;
}

export function isClosedRoot(r) {
  return closedRoots.has(r);
}

// Remember root as host's closed root; false when it was known already.
export function addClosed(host, root) {
  if (!root || closedHosts.get(host) === root) return false;
  closedRoots.add(root);
  closedHosts.set(host, root);
  return true;
}

// Every connected host with a closed root (forgetting the others).
export function closedHostList() {
  const out = [];
  closedHosts.forEach((_root, host) => {
    if (host.isConnected) out.push(host);
    else closedHosts.delete(host);
  });
  return out;
}
