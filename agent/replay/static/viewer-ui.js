// sessiontape viewer: the parts of the page that do not depend on the session's data - icons
// (inline SVG: no glyph needs a font the machine may lack), the replayed page's fit and zoom,
// the resizable side panel, the shortcut help. viewer.js uses them through window.STUI.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var NS = 'http://www.w3.org/2000/svg';
  var PATHS = {
    'prev-action': 'M3 3h2v10H3z M14 3v10L6 8z',
    'next-action': 'M11 3h2v10h-2z M2 3v10l8-5z',
    'prev-event': 'M12 3v10L4 8z',
    'next-event': 'M4 3v10l8-5z',
    play: 'M4 2v12l10-6z',
    pause: 'M3 2h4v12H3z M9 2h4v12H9z',
    'zoom-in': 'M7 3h2v4h4v2H9v4H7V9H3V7h4z',
    'zoom-out': 'M3 7h10v2H3z',
    fit: 'M2 2h5v2H4v3H2z M9 2h5v5h-2V4H9z M2 9h2v3h3v2H2z M12 9h2v5H9v-2h3z'
  };

  // ---- icons -------------------------------------------------------------------------------
  function icon(name) {
    var s = document.createElementNS(NS, 'svg');
    s.setAttribute('viewBox', '0 0 16 16');
    s.setAttribute('width', '14');
    s.setAttribute('height', '14');
    s.setAttribute('class', 'icon');
    s.setAttribute('aria-hidden', 'true');
    s.setAttribute('data-icon', name);
    var p = document.createElementNS(NS, 'path');
    p.setAttribute('d', PATHS[name]);
    s.appendChild(p);
    return s;
  }
  function setButton(btn, name, label) {  // icon before the label, or after it (data-after)
    var text = label === undefined ? btn.textContent.trim() : label;
    btn.textContent = '';
    var i = icon(name), sp = document.createElement('span');
    sp.textContent = text;
    if (btn.dataset.after) { if (text) btn.appendChild(sp); btn.appendChild(i); }
    else { btn.appendChild(i); if (text) btn.appendChild(sp); }
    btn.dataset.icon = name;
  }
  function drawIcons() {
    document.querySelectorAll('button[data-icon]').forEach(function (b) {
      setButton(b, b.dataset.icon);
    });
  }

  // ---- fit and zoom of the replayed page ---------------------------------------------------
  // The recorded viewport (rrweb Meta / viewport resize) is scaled as a whole, so the page
  // keeps its aspect: 'fit' follows the pane, a number is a fixed scale (1 = 1:1).
  var Z = { mode: 'fit', scale: 1, w: 0, h: 0, fitScale: 1 };
  function fitScale() {
    var pane = $('pane');
    if (!Z.w || !Z.h) return 1;
    return Math.max(0.05, Math.min(pane.clientWidth / Z.w, pane.clientHeight / Z.h));
  }
  function applyZoom() {
    var box = $('replay'), wrap = box.querySelector('.replayer-wrapper');
    if (!wrap || !Z.w || !Z.h) return;
    Z.fitScale = fitScale();
    var s = Z.mode === 'fit' ? Z.fitScale : Z.scale;
    wrap.style.transform = 'scale(' + s + ')';
    box.style.width = Z.w * s + 'px';
    box.style.height = Z.h * s + 'px';
    $('pane').classList.toggle('zoomed', s > Z.fitScale + 1e-6);
    document.body.dataset.zoom = Z.mode === 'fit' ? 'fit' : String(s);
    $('zoom-level').textContent = (Z.mode === 'fit' ? 'fit ' : '') + Math.round(s * 100) + '%' +
      ' of ' + Z.w + '×' + Z.h;
  }
  function setViewport(w, h) {
    if (!(w > 0 && h > 0)) return;
    Z.w = w;
    Z.h = h;
    applyZoom();
  }
  function zoom(mode) {  // 'fit', 1, 'in', 'out'
    var cur = Z.mode === 'fit' ? Z.fitScale : Z.scale;
    if (mode === 'fit') { Z.mode = 'fit'; applyZoom(); return; }
    Z.mode = 'fixed';
    Z.scale = mode === 'in' ? Math.min(4, cur * 1.25) : mode === 'out' ?
      Math.max(0.1, cur / 1.25) : +mode;
    applyZoom();
  }

  // ---- side panel width --------------------------------------------------------------------
  var KEY = 'sessiontape.viewer.side';
  function store(v) {  // localStorage may be refused (file://, privacy settings): then not kept
    try { if (v === undefined) return window.localStorage.getItem(KEY); window.localStorage.setItem(KEY, v); }
    catch (e) { return null; }
    return null;
  }
  function setSide(px) {  // never wider than leaves the stage its minimum: the page re-fits
    var main = $('main'), stageMin = 320, split = 10;
    var max = Math.max(220, main.clientWidth - stageMin - split - 20);
    var w = Math.round(Math.max(220, Math.min(max, px)));
    main.style.setProperty('--side-w', w + 'px');
    return w;
  }
  function wireSplit() {
    var split = $('split'), main = $('main'), saved = +store();
    if (saved) setSide(saved);
    split.addEventListener('pointerdown', function (e) {
      e.preventDefault();
      split.setPointerCapture(e.pointerId);
      split.classList.add('drag');
      var move = function (ev) { setSide(main.getBoundingClientRect().right - 10 - ev.clientX); };
      var up = function () {
        split.classList.remove('drag');
        split.removeEventListener('pointermove', move);
        split.removeEventListener('pointerup', up);
        store(String(parseInt(getComputedStyle(main).getPropertyValue('--side-w'), 10)));
      };
      split.addEventListener('pointermove', move);
      split.addEventListener('pointerup', up);
    });
    if (window.ResizeObserver) new ResizeObserver(applyZoom).observe($('pane'));
    window.addEventListener('resize', function () {
      setSide(parseInt(getComputedStyle(main).getPropertyValue('--side-w'), 10));
      applyZoom();
    });
  }

  // ---- keyboard ----------------------------------------------------------------------------
  function toggleHelp(show) {
    var h = $('help');
    h.hidden = show === undefined ? !h.hidden : !show;
  }
  function wireKeys(act) {  // act: {play, prevAction, nextAction, prevEvent, nextEvent}
    document.addEventListener('keydown', function (e) {
      var t = e.target, tag = t && t.tagName;
      if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA' || e.ctrlKey || e.metaKey ||
          e.altKey) return;
      var k = e.key, done = true;
      if (k === ' ') act.play();
      else if (k === 'ArrowLeft') { if (e.shiftKey) act.prevEvent(); else act.prevAction(); }
      else if (k === 'ArrowRight') { if (e.shiftKey) act.nextEvent(); else act.nextAction(); }
      else if (k === '+' || k === '=') zoom('in');
      else if (k === '-' || k === '_') zoom('out');
      else if (k === '0') zoom('fit');
      else if (k === '?') toggleHelp();
      else if (k === 'Escape') toggleHelp(false);
      else done = false;
      if (done) e.preventDefault();
    });
  }

  function wire(act) {
    drawIcons();
    $('zoom-in').onclick = function () { zoom('in'); };
    $('zoom-out').onclick = function () { zoom('out'); };
    $('zoom-fit').onclick = function () { zoom('fit'); };
    $('zoom-1').onclick = function () { zoom(1); };
    $('help-btn').onclick = function () { toggleHelp(); };
    $('help').onclick = function () { toggleHelp(false); };
    wireSplit();
    wireKeys(act);
  }

  window.STUI = { icon: icon, setButton: setButton, setViewport: setViewport, fit: applyZoom,
                  zoom: zoom, setSide: setSide, wire: wire };
})();
