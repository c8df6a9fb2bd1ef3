// CSSOM changes an isolated world cannot observe (insertRule, deleteRule, rule.style.setProperty,
// adoptedStyleSheets): diff every known sheet's rules against what the replay already has and
// emit rrweb StyleSheetRule / AdoptedStyleSheet events. Called periodically and by the agent
// (globalThis.__st_rescanStyles) when the CDP CSS domain reports a change.

import { DOCUMENT_NODE, EventType, IncrementalSource } from './rrweb_types.js';

function rulesOf(sheet) {
  let r;
  try {
    r = sheet.cssRules;
  } catch {
    return null; // cross-origin sheet
  }
  const out = new Array(r.length);
  for (let i = 0; i < r.length; i++) out[i] = r[i].cssText;
  return out;
}

function sameRules(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function createStyles({ mirror, rr, known }) {
  let last = new WeakMap(); // sheet -> rule texts the replay has
  let sent = new WeakSet(); // constructed sheets the replay has (this snapshot generation)
  let adoptedLast = new WeakMap(); // root -> styleIds string last sent
  const styleIds = new WeakMap();
  let nextStyleId = 1;
  const owners = new Set(); // <style>/<link> elements serialized
  const roots = new Set(); // documents and shadow roots

  function incr(data) {
    rr(EventType.IncrementalSnapshot, data);
  }

  function diff(sheet, target) {
    const cur = rulesOf(sheet);
    if (cur === null) return;
    const prev = last.get(sheet);
    last.set(sheet, cur);
    if (prev === undefined || sameRules(prev, cur)) return;
    let p = 0;
    while (p < prev.length && p < cur.length && prev[p] === cur[p]) p++;
    let s = 0;
    while (s < prev.length - p && s < cur.length - p
      && prev[prev.length - 1 - s] === cur[cur.length - 1 - s]) s++;
    const removes = [];
    for (let i = prev.length - s - 1; i >= p; i--) removes.push({ index: i });
    const adds = [];
    for (let j = p; j < cur.length - s; j++) adds.push({ rule: cur[j], index: j });
    // The replayer applies adds before removes inside one event: send two events.
    const source = IncrementalSource.StyleSheetRule;
    if (removes.length) incr(Object.assign({ source, removes }, target));
    if (adds.length) incr(Object.assign({ source, adds }, target));
  }

  function styleIdOf(sheet) {
    let id = styleIds.get(sheet);
    if (id === undefined) {
      id = nextStyleId++;
      styleIds.set(sheet, id);
    }
    return id;
  }

  function hostId(root) {
    if (root.nodeType === DOCUMENT_NODE) return known(root) ? mirror.getId(root) : -1;
    return root.host && known(root.host) ? mirror.getId(root.host) : -1;
  }

  function adoptedFor(root) {
    let sheets;
    try {
      sheets = root.adoptedStyleSheets;
    } catch {
      return;
    }
    if (!sheets) return;
    const id = hostId(root);
    if (id < 0) return;
    const ids = [];
    const styles = [];
    for (let i = 0; i < sheets.length; i++) {
      const sh = sheets[i];
      const sid = styleIdOf(sh);
      ids.push(sid);
      if (!sent.has(sh)) {
        sent.add(sh);
        const rules = rulesOf(sh) || [];
        last.set(sh, rules);
        styles.push({ styleId: sid, rules: rules.map((rule, index) => ({ rule, index })) });
      } else {
        diff(sh, { styleId: sid });
      }
    }
    const key = ids.join(',');
    const prevKey = adoptedLast.get(root);
    if (styles.length === 0 && (prevKey === key || (prevKey === undefined && ids.length === 0))) {
      return;
    }
    adoptedLast.set(root, key);
    const data = { source: IncrementalSource.AdoptedStyleSheet, id, styleIds: ids };
    if (styles.length) data.styles = styles;
    incr(data);
  }

  return {
    baseline(el) {
      owners.add(el);
      const sheet = el.sheet;
      if (sheet) {
        const r = rulesOf(sheet);
        if (r !== null) last.set(sheet, r);
      }
    },
    addRoot(root) {
      roots.add(root);
    },
    adoptedFor,
    adoptedAll() {
      roots.forEach((root) => {
        const gone = root.nodeType === DOCUMENT_NODE ? !root.defaultView
          : !(root.host && root.host.isConnected);
        if (gone) {
          roots.delete(root);
          return;
        }
        adoptedFor(root);
      });
    },
    rescan() {
      owners.forEach((el) => {
        if (!el.isConnected) {
          owners.delete(el);
          return;
        }
        if (!known(el) || !el.sheet) return;
        diff(el.sheet, { id: mirror.getId(el) });
      });
      this.adoptedAll();
    },
    reset() {
      last = new WeakMap();
      sent = new WeakSet();
      adoptedLast = new WeakMap();
      owners.clear();
    },
  };
}
