// The recording notice in the window title: the top-level document's title starts with
// titlePrefix. Chromium shows the active tab's title as the window title, and its own
// --window-name switch names only a startup window (measured: windows opened over CDP keep
// the page title), so the recorder writes the prefix into document.title.
//
// The page can read the prefixed title and can overwrite it; the prefix comes back on the
// next change of the <title> element (a MutationObserver) or at the latest on the next check
// (every CHECK_MS of indicator.js: the notice's loop in recorder.js runs both checks). A page
// title that changes is not tampering (tickers, unread counts), so nothing is recorded for it;
// snapshots and mutations record the title without the prefix.
// A page that rewrites its title from its own observer as soon as we prefix it would loop
// with ours: after FIGHT_BUDGET prefixes in one check period, we wait for the next check.

import { G, MO, doc, titlePrefix } from './world.js';

const FIGHT_BUDGET = 20;

let observer = null;
let watched = null; // the <title> element observed
let writes = 0;

function prefix() {
  const t = doc.title;
  if (t.startsWith(titlePrefix) || writes >= FIGHT_BUDGET) return;
  writes += 1;
  doc.title = titlePrefix + t;
  observer.takeRecords();
}

function watchTitle() {
  const el = doc.querySelector('title');
  if (el === watched) return;
  observer.disconnect();
  observer.observe(doc, { childList: true });
  if (doc.documentElement) observer.observe(doc.documentElement, { childList: true });
  if (doc.head) observer.observe(doc.head, { childList: true });
  if (el) observer.observe(el, { childList: true, characterData: true, subtree: true });
  watched = el;
}

export function checkTitle() {
  if (!observer) return;
  writes = 0;
  watchTitle();
  prefix();
}

// Keep the prefix on this document's title (top-level documents only); true when it needs
// its checks.
export function startTitle() {
  if (!titlePrefix || observer) return false;
  try {
    if (G.top !== G) return false;
  } catch {
    return false;
  }
  observer = new MO(() => {
    watchTitle();
    prefix();
  });
  watchTitle();
  prefix();
  return true;
}
