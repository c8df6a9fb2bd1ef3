// Shadow roots attached after their host was serialized: found by a periodic scan (and on the
// agent's request), then observed and sent as adds under the host. Closed roots the agent
// hands over (closed.js) go the same way, and again after every full snapshot (rrweb-snapshot
// reads host.shadowRoot, which is null for them).

import { addClosed, closedHostList, recheckUndefined, rootOf } from './closed.js';
import { observeRoot, isObserved, processMutations } from './mutations.js';
import { emitAdds, flatten, known, mirror, serialize } from './snapshot.js';
import { doc, styles } from './world.js';

// Attach every shadow root under root (default: the document) not observed yet; returns how
// many were found.
export function rescanShadow(root) {
  const base = root || doc;
  const found = [];
  const walk = (r) => {
    const all = r.querySelectorAll('*');
    for (let i = 0; i < all.length; i++) {
      const sr = rootOf(all[i]);
      if (sr) {
        if (!isObserved(sr)) found.push(all[i]);
        walk(sr);
      }
    }
  };
  walk(base);
  for (const host of found) attachLateShadow(host);
  recheckUndefined();
  return found.length;
}

// A closed root of host, from the agent: recorded from now on (true); false if it was known;
// null if its host is not recorded (the recorder's own bar, a node removed meanwhile or not
// serialized yet: the agent asks again after the next full snapshot).
export function adoptClosedShadow(host, root) {
  processMutations();
  if (!known(host)) return null;
  if (!addClosed(host, root)) return false;
  attachLateShadow(host);
  return true;
}

// After a full snapshot: the closed roots' content again, under their hosts.
export function reattachClosed() {
  for (const host of closedHostList()) attachLateShadow(host);
}

function attachLateShadow(host) {
  const sr = rootOf(host);
  if (!sr || !known(host)) return;
  processMutations();
  observeRoot(sr);
  const adds = [];
  const kids = sr.childNodes;
  for (let i = kids.length - 1; i >= 0; i--) {
    const sn = serialize(kids[i], host.ownerDocument);
    if (!sn) continue;
    sn.isShadow = true;
    const next = kids[i].nextSibling;
    flatten(adds, mirror.getId(host), next ? mirror.getId(next) : null, sn);
  }
  emitAdds(adds);
  if (styles) styles.adoptedFor(sr);
}
