// sessiontape replay viewer (plain JS, no CDN). Data comes from the local server's /api/*
// or, in an offline export bundle, from window.__ST_OFFLINE (data.js). Recorded pages are
// rebuilt by rrweb's Replayer in an iframe sandboxed without allow-scripts.
(function () {
  'use strict';
  var OFF = window.__ST_OFFLINE || null;
  // The access token arrives once in the URL (?token=); it is taken out of the address bar
  // and kept only here, in memory, and sent as a header (never a cookie: cookies are shared
  // by every port of 127.0.0.1).
  var TOKEN = OFF ? null : new URLSearchParams(location.search).get('token');
  if (TOKEN) history.replaceState(null, '', location.pathname + location.hash);
  var $ = function (id) { return document.getElementById(id); };
  var S = { session: null, timeline: [], network: [], actions: {}, keyframes: {},
            stream: null, page: null, cur: null, replayer: null, loaded: [], playing: false,
            timer: null, busy: Promise.resolve(), actionList: null, actionsDerived: false,
            marks: [], curT: null, built: null, canvas: null };

  // ---- data access -------------------------------------------------------------------------
  function offline(path, p) {
    var evs = OFF.events;
    if (path === 'api/session') return OFF.session;
    if (path === 'api/timeline') return OFF.timeline;
    if (path === 'api/keyframes') return OFF.keyframes;
    if (path === 'api/events') {
      var f = +p.from_seq, t = +p.to_seq, lim = +(p.limit || 1e9), out = [], i;
      for (i = lowerBound(evs, f); i < evs.length && evs[i].seq <= t; i++) {
        var e = evs[i];
        if (p.rrweb === '1' && e.kind.indexOf('rrweb.') !== 0) continue;
        if (p.stream && (e.page + ':' + e.frame) !== p.stream) continue;
        if (p.page && e.page && e.page !== p.page) continue;
        if (out.length >= lim) return { events: out, next_seq: e.seq };
        out.push(e);
      }
      return { events: out, next_seq: null };
    }
    if (path === 'api/raw') {
      var k = lowerBound(evs, +p.seq), r = evs[k];
      if (!r || r.seq !== +p.seq) throw new Error('seq ' + p.seq + ' not in this bundle');
      var pr = OFF.proofs[r.segment + ':' + r.chunk] || null;
      var exact = JSON.stringify(r, null, 1)
        .replace(/("t_utc_ns": )\d+/, '$1' + r.t_text).replace(/("t_mono_ns": )\d+/, '$1' + r.m_text);
      return { record: r, record_text: exact, segment_id: r.segment, chunk: r.chunk, proof: pr,
               proof_status: pr && pr.included ? 'verified (bundle proof)' : 'no proof in bundle',
               segment_status: 'see report.html' };
    }
    if (path === 'api/seq_at') {
      var best = evs.length ? evs[0].seq : null;
      for (var j = 0; j < evs.length && evs[j].t_utc_ns <= +p.t_utc_ns; j++) best = evs[j].seq;
      return { seq: best };
    }
    throw new Error('unknown ' + path);
  }
  function lowerBound(a, seq) {
    var lo = 0, hi = a.length;
    while (lo < hi) { var m = (lo + hi) >> 1; if (a[m].seq < seq) lo = m + 1; else hi = m; }
    return lo;
  }
  function api(path, params) {
    if (OFF) {
      try { return Promise.resolve(offline(path, params || {})); }
      catch (e) { return Promise.reject(e); }
    }
    var q = new URLSearchParams(params || {}).toString();
    return fetch(path + (q ? '?' + q : ''), {
      credentials: 'omit', headers: { Authorization: 'Bearer ' + TOKEN }
    }).then(function (r) {
      if (!r.ok) return r.text().then(function (t) { throw new Error(r.status + ' ' + t); });
      return r.json();
    });
  }
  function allEvents(params) {  // follow next_seq paging
    var out = [];
    function step(from) {
      var p = Object.assign({}, params, { from_seq: from });
      return api('api/events', p).then(function (r) {
        out = out.concat(r.events);
        return r.next_seq === null || r.next_seq === undefined ? out : step(r.next_seq);
      });
    }
    return step(params.from_seq);
  }

  // ---- time display ------------------------------------------------------------------------
  function fmtUtc(ns) {  // ms: a JSON number of ns is exact only to ~256 ns in a browser
    return new Date(Math.floor(Number(ns) / 1e6)).toISOString();
  }
  function fmtLocal(ns) {
    var d = new Date(Math.floor(Number(ns) / 1e6));
    return d.toLocaleString(undefined, { hour12: false, timeZoneName: 'short' }) + ' (' +
      Intl.DateTimeFormat().resolvedOptions().timeZone + ')';
  }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c];
    });
  }

  // ---- header: integrity badge, banners, streams --------------------------------------------
  function renderHeader() {
    var s = S.session, it = s.integrity, b = $('badge');
    b.className = 'badge ' + it.status;
    var segs = it.segments || [];
    var tst = segs.map(function (g) {
      return g.rfc3161.state === 'none' ? '' : g.rfc3161.label;
    }).filter(Boolean).join('; ');
    b.textContent = (it.status === 'failed' ? 'FAILED: ' + it.failed_check :
      it.status === 'undecryptable' ? 'cannot decrypt here (integrity verified)' :
      it.status === 'recovered' ? 'unsealed-recovered' : it.status) +
      ' · key ' + (it.key_ids.join(', ') || 'none') + (tst ? ' · ' + tst : '');
    b.title = it.first_failure || 'every check passed';
    var m = s.metadata;
    $('meta').textContent = m.session_id + ' · ' + m.user + '@' + m.workstation + ' · ' +
      m.events + ' events' + (OFF ? ' · offline copy' : '');
    if (it.status === 'failed' || (it.withheld && it.withheld.length)) {
      var ban = $('banner');
      ban.hidden = false;
      ban.innerHTML = (it.status === 'undecryptable' ?
        '<b>Cannot decrypt here</b> (no key held here opens it; every integrity check ' +
        'passed): ' : '<b>Verification failed</b>: ') + esc(it.first_failure || '') +
        '<br>Showing only the verified part: seq ' + it.verified_seq_first + '–' +
        it.verified_seq_last + '. ' + (it.withheld || []).map(function (w) {
          return 'Withheld ' + esc(w.segment) + (w.seq0 !== undefined ? ' seq ' + w.seq0 + '–' +
            w.seq1 : '') + ' (' + esc(w.reason) + ')';
        }).join('; ');
    }
    var miss = s.assets.missing || [];
    if (miss.length) {
      var an = $('asset-note');
      an.hidden = false;
      an.textContent = miss.length + ' archived asset(s) missing from the archive; ' +
        'placeholders shown: ' + miss.map(function (a) { return a.url || a.sha256; }).join(', ');
    }
    var sel = $('stream');
    s.streams.forEach(function (st) {
      var o = document.createElement('option');
      o.value = st.id;
      o.textContent = (st.main ? 'page ' : 'frame ') + st.page.slice(0, 8) +
        (st.main ? '' : '/' + st.frame.slice(0, 8)) + ' ' + (st.urls[st.urls.length - 1] || '');
      sel.appendChild(o);
    });
  }

  // ---- timeline ----------------------------------------------------------------------------
  var CATS = ['action', 'navigation', 'network', 'ws', 'console', 'gap', 'unverified', 'page',
              'capture'];
  var shown = { action: 1, navigation: 1, network: 1, ws: 0, console: 1, gap: 1, unverified: 1,
                page: 1, capture: 1 };
  function renderFilters() {
    var f = $('filters');
    CATS.forEach(function (c) {
      var l = document.createElement('label');
      l.innerHTML = '<input type="checkbox" data-cat="' + c + '"' + (shown[c] ? ' checked' : '') +
        '> ' + c;
      f.appendChild(l);
    });
    f.addEventListener('change', function (e) {
      shown[e.target.dataset.cat] = e.target.checked ? 1 : 0;
      renderTimeline();
    });
  }
  function renderTimeline() {
    var ol = $('timeline');
    ol.textContent = '';
    var frag = document.createDocumentFragment();
    S.timeline.forEach(function (e) {
      if (!shown[e.cat]) return;
      var li = document.createElement('li');
      li.className = e.cat;
      li.dataset.seq = e.seq;
      if (e.action_id) li.dataset.action = e.action_id;
      if (e.request_id) li.dataset.request = e.request_id;
      var extra = '';
      if ((e.cat === 'gap' || e.cat === 'unverified') && e.gap_end_ns && e.gap_start_ns) {
        extra = ' — ' + ((e.gap_end_ns - e.gap_start_ns) / 1e9).toFixed(1) + ' s missing';
      }
      li.textContent = '#' + e.seq + ' ' + (e.t_utc_ns ? fmtUtc(e.t_utc_ns).slice(11, 23) : '') +
        ' ' + e.label + extra;
      li.title = e.kind + ' ' + (e.page || '');
      frag.appendChild(li);
    });
    ol.appendChild(frag);
    markCurrent();
  }
  // ---- time bar: actions, navigations, network errors, dialogs, gaps, masked moments ------
  // The bar shows a window [v0, v1] of the session (ctrl+wheel zooms it, double click resets);
  // while zoomed, the minimap below shows the whole session and the window on it.
  var TB = { v0: 0, v1: 1, t0: 0, t1: 1 };
  function markType(e) {
    if (e.cat === 'gap' || e.cat === 'unverified') return 'gap';
    if (e.kind === 'page.dialog') return 'dialog';  // opened, even if never answered
    if (e.cat === 'action') return null;  // drawn from the action list
    if (e.kind === 'net.failed' || (e.kind === 'net.response' && e.status >= 400)) return 'neterr';
    if (e.cat === 'navigation') return 'navigation';
    if (e.cat === 'console') return 'console';
    return null;
  }
  function buildMarks() {
    var out = [];
    S.timeline.forEach(function (e) {
      if (!e.t_utc_ns) return;
      var type = markType(e);
      if (type === 'gap') {
        out.push({ type: 'gap', t0: e.gap_start_ns || e.t_utc_ns, t1: e.gap_end_ns || e.t_utc_ns,
                   seq: e.seq, label: e.label });
      } else if (type) {
        out.push({ type: type, t0: e.t_utc_ns, t1: e.t_utc_ns, seq: e.seq, label: e.label });
      }
      if (e.masked) {
        out.push({ type: 'masked', t0: e.t_utc_ns, t1: e.t_utc_ns, seq: e.seq,
                   label: 'masked value: ' + e.label });
      }
    });
    actionList().forEach(function (a) {
      if (a.verb === 'dialog') return;  // marked from its timeline entries above
      out.push({ type: a.verb === 'navigate' ? 'navigation' : 'action',
                 t0: a.t_utc_ns, t1: a.t_utc_ns, seq: a.seq, label: a.text });
      if (a.masked && !S.actionsDerived) {  // derived ones are the entries flagged above
        out.push({ type: 'masked', t0: a.t_utc_ns, t1: a.t_utc_ns, seq: a.seq,
                   label: 'masked value (' + a.masked + '): ' + a.text });
      }
    });
    S.marks = out;
  }
  function drawBar(bar, v0, v1) {
    var span = Math.max(1, v1 - v0), frag = document.createDocumentFragment();
    var pct = function (t) { return (t - v0) / span * 100; };
    bar.querySelectorAll('.m, .gapband').forEach(function (x) { x.remove(); });
    S.marks.forEach(function (mk) {
      if (mk.t1 < v0 || mk.t0 > v1) return;
      var d = document.createElement('div');
      d.className = mk.type === 'gap' ? 'gapband' : 'm ' + mk.type;
      d.style.left = Math.max(0, pct(mk.t0)) + '%';
      if (mk.type === 'gap') d.style.width = Math.max(0.2, pct(mk.t1) - pct(mk.t0)) + '%';
      d.title = mk.label;
      d.dataset.type = mk.type;
      if (mk.seq !== null && mk.seq !== undefined) d.dataset.seq = mk.seq;
      frag.appendChild(d);
    });
    bar.insertBefore(frag, bar.firstChild);
  }
  function renderTimebar() {
    var m = S.session.metadata;
    TB.t0 = m.start_utc_ns;
    TB.t1 = Math.max(m.end_utc_ns, m.start_utc_ns + 1);
    TB.v0 = TB.t0;
    TB.v1 = TB.t1;
    buildMarks();
    var bar = $('timebar'), c = document.createElement('div');
    c.className = 'cursor';
    c.id = 'cursor';
    bar.appendChild(c);
    redrawBars();
    bar.onclick = function (ev) {
      var mk = ev.target.closest('[data-seq]');
      if (mk && mk.dataset.seq !== 'null') { seek(+mk.dataset.seq); return; }
      var r = bar.getBoundingClientRect();
      jumpTime(Math.round(TB.v0 + (ev.clientX - r.left) / r.width * (TB.v1 - TB.v0)));
    };
    bar.addEventListener('wheel', function (ev) {
      if (!ev.ctrlKey) return;
      ev.preventDefault();
      var r = bar.getBoundingClientRect(), f = ev.deltaY > 0 ? 1.5 : 1 / 1.5;
      var at = TB.v0 + (ev.clientX - r.left) / r.width * (TB.v1 - TB.v0);
      zoomBar(at, (TB.v1 - TB.v0) * f);
    }, { passive: false });
    bar.ondblclick = function () { zoomBar(TB.t0, TB.t1 - TB.t0); };
    $('minimap').onclick = function (ev) {
      var r = $('minimap').getBoundingClientRect();
      var at = TB.t0 + (ev.clientX - r.left) / r.width * (TB.t1 - TB.t0);
      zoomBar(at, TB.v1 - TB.v0, true);
    };
  }
  function zoomBar(at, width, center) {  // a window of `width` ns around `at`, inside the session
    var full = TB.t1 - TB.t0, w = Math.max(1e6, Math.min(full, width));
    var frac = center ? 0.5 : (at - TB.v0) / Math.max(1, TB.v1 - TB.v0);
    var v0 = Math.max(TB.t0, Math.min(TB.t1 - w, at - frac * w));
    TB.v0 = v0;
    TB.v1 = v0 + w;
    redrawBars();
  }
  function redrawBars() {
    drawBar($('timebar'), TB.v0, TB.v1);
    var mm = $('minimap'), zoomed = TB.v1 - TB.v0 < TB.t1 - TB.t0;
    mm.hidden = !zoomed;
    if (zoomed) {
      drawBar(mm, TB.t0, TB.t1);
      var full = TB.t1 - TB.t0, view = $('minimap-view');
      view.style.left = (TB.v0 - TB.t0) / full * 100 + '%';
      view.style.width = (TB.v1 - TB.v0) / full * 100 + '%';
    }
    placeCursor();
  }
  function placeCursor() {
    var c = $('cursor');
    if (!c || S.curT === null) return;
    var x = (S.curT - TB.v0) / Math.max(1, TB.v1 - TB.v0) * 100;
    c.hidden = x < 0 || x > 100;
    c.style.left = x + '%';
  }

  // ---- actions: what the person did, in words, with the requests each caused -------------
  // The session data may carry `actions` (Action.as_dict(): seq, seq_first, t_utc_ns, verb,
  // text, masked, page, requests [{seq, method, url, status, failed}]); without it the list is
  // derived here from the timeline's action entries, in the same shape.
  function actionList() {
    if (S.actionList) return S.actionList;
    var given = S.session && S.session.actions;
    if (Array.isArray(given)) {
      S.actionList = given.filter(function (a) { return a.seq !== null && a.seq !== undefined; })
        .sort(function (x, y) { return x.seq - y.seq; });
      S.actionsDerived = false;
    } else {
      S.actionList = deriveActions();
      S.actionsDerived = true;
    }
    return S.actionList;
  }
  function deriveActions() {
    var byCause = {};
    S.network.forEach(function (n) {
      if (n.cause && n.seq !== undefined) (byCause[n.cause] = byCause[n.cause] || []).push(n);
    });
    return S.timeline.filter(function (e) { return e.cat === 'action' && e.seq !== null; })
      .map(function (e) {
        return {
          seq: e.seq, seq_first: e.seq, t_utc_ns: e.t_utc_ns, page: e.page, frame: e.frame,
          verb: e.kind === 'page.dialog' ? 'dialog' : e.kind.split('.').pop(), text: e.label,
          masked: e.masked ? 'masked' : '', action_id: e.action_id || null,
          requests: (byCause[e.action_id] || []).map(function (n) {
            return { seq: n.seq, method: n.method || '', url: n.url || '',
                     status: n.status === undefined ? null : n.status,
                     failed: n.failed ? String(n.failed) : '' };
          })
        };
      });
  }
  function renderActions() {
    var ol = $('actions'), frag = document.createDocumentFragment(), list = actionList();
    ol.textContent = '';
    $('actions-note').textContent = list.length + ' action(s)' +
      (S.actionsDerived ? ' (from the timeline entries)' : '');
    list.forEach(function (a) {
      var li = document.createElement('li'), t = document.createElement('span');
      var txt = document.createElement('span');
      li.dataset.seq = a.seq;
      if (a.masked) li.className = 'masked';
      t.className = 't';
      t.textContent = a.t_utc_ns ? fmtUtc(a.t_utc_ns).slice(11, 23) : '';
      txt.className = 'txt';
      txt.textContent = a.text;
      li.appendChild(t);
      li.appendChild(txt);
      (a.requests || []).forEach(function (q) {
        var r = document.createElement('span'), bad = q.failed || (q.status >= 400);
        r.className = 'req' + (bad ? ' err' : '');
        r.textContent = (q.failed ? 'failed (' + q.failed + ')' : q.status === null ||
          q.status === undefined ? 'pending' : q.status) + ' ' + q.method + ' ' + q.url;
        li.appendChild(r);
      });
      frag.appendChild(li);
    });
    ol.appendChild(frag);
    ol.onclick = function (e) {
      var li = e.target.closest('li');
      if (li) seek(+li.dataset.seq);
    };
  }
  function markCurrentAction() {
    var prev = document.querySelector('#actions li.cur');
    if (prev) prev.classList.remove('cur');
    if (S.cur === null) return;
    var best = null;
    document.querySelectorAll('#actions li').forEach(function (li) {
      if (+li.dataset.seq <= S.cur) best = li;
    });
    if (best) { best.classList.add('cur'); best.scrollIntoView({ block: 'nearest' }); }
  }
  function markCurrent() {
    var prev = document.querySelector('#timeline li.cur');
    if (prev) prev.classList.remove('cur');
    if (S.cur === null) return;
    var best = null;
    document.querySelectorAll('#timeline li').forEach(function (li) {
      if (+li.dataset.seq <= S.cur) best = li;
    });
    if (best) { best.classList.add('cur'); best.scrollIntoView({ block: 'nearest' }); }
  }

  // ---- network panel -----------------------------------------------------------------------
  function renderNetwork() {
    var tb = document.querySelector('#network tbody');
    S.network.forEach(function (n) {
      if (n.seq === undefined) return;
      var tr = document.createElement('tr');
      tr.dataset.seq = n.seq;
      tr.dataset.request = n.request_id;
      if (n.cause) tr.dataset.cause = n.cause;
      tr.innerHTML = '<td>' + n.seq + '</td><td>' + esc(n.method || '') + '</td><td title="' +
        esc(n.url || '') + '">' + esc(n.url || '') + '</td><td>' +
        esc(n.failed ? 'failed' : (n.status === undefined ? '' : n.status)) + '</td><td>' +
        esc(n.cause || '') + '</td>';
      tb.appendChild(tr);
    });
    tb.addEventListener('click', function (e) {
      var tr = e.target.closest('tr');
      if (!tr) return;
      highlight(tr.dataset.cause, tr.dataset.request);
      showNetDetail(tr.dataset.request);
      seek(+tr.dataset.seq);
    });
  }
  function showNetDetail(rid) {  // headers, masked bodies, timing: straight from the journal
    var n = S.network.filter(function (x) { return x.request_id === rid; })[0];
    if (!n) return;
    var seqs = [n.seq, n.response_seq].filter(function (x) { return x !== undefined; });
    Promise.all(seqs.map(function (q) { return api('api/raw', { seq: q }); })).then(function (rs) {
      $('net-detail').textContent = 'caused by action: ' + (n.cause || 'none recorded') + '\n' +
        rs.map(function (r) {
          var p = Object.assign({}, r.record.payload);
          if (typeof p.body === 'string' && p.body.length > 4000) {
            p.body = p.body.slice(0, 4000) + '… (' + p.body.length + ' chars)';
          }
          return '#' + r.record.seq + ' ' + r.record.kind + ' ' + fmtUtc(r.record.t_utc_ns) +
            '\n' + JSON.stringify(p, null, 1);
        }).join('\n\n');
    }).catch(function (e) { $('net-detail').textContent = String(e.message || e); });
  }
  function highlight(actionId, requestId) {
    document.querySelectorAll('.hl').forEach(function (x) { x.classList.remove('hl'); });
    if (actionId) {
      document.querySelectorAll('#timeline li[data-action="' + actionId + '"]')
        .forEach(function (x) { x.classList.add('hl'); });
      document.querySelectorAll('#network tr[data-cause="' + actionId + '"]')
        .forEach(function (x) { x.classList.add('hl'); });
    }
    if (requestId) {
      document.querySelectorAll('#network tr[data-request="' + requestId + '"]')
        .forEach(function (x) { x.classList.add('hl'); });
    }
  }

  // ---- raw data panel ----------------------------------------------------------------------
  function renderRaw(seq) {
    return api('api/raw', { seq: seq }).then(function (r) {
      var pr = r.proof || {};
      var ok = /^verified/.test(r.proof_status);
      $('raw-summary').innerHTML = 'seq <b id="raw-seq">' + r.record.seq + '</b> · ' +
        esc(r.record.kind) + ' · segment ' + esc(r.segment_id) + ' · chunk <b id="raw-chunk">' +
        r.chunk + '</b><br>inclusion proof: <span id="proof-status" class="' +
        (ok ? 'ok' : 'bad') + '">' + esc(r.proof_status) + '</span> (' + esc(pr.anchor || '') +
        ', tree size ' + esc(pr.tree_size === undefined ? '?' : pr.tree_size) + ', ' +
        ((pr.proof || []).length) + ' hashes)';
      var rest = Object.assign({}, r);
      delete rest.record;
      delete rest.record_text;
      $('raw').textContent = 'record (exact):\n' + (r.record_text || JSON.stringify(r.record)) +
        '\n\nchunk and proof:\n' + JSON.stringify(rest, null, 1);
    }).catch(function (e) { $('raw-summary').textContent = String(e.message || e); });
  }

  // ---- replay ------------------------------------------------------------------------------
  function streamOfPage(page) {
    var st = S.session.streams.filter(function (s) { return s.page === page && s.main; })[0];
    return st ? st.id : null;
  }
  function setStream(id) {
    S.stream = id;
    $('stream').value = id;
    var st = S.session.streams.filter(function (s) { return s.id === id; })[0];
    S.page = st ? st.page : null;
  }
  function keyframeFor(seq) {
    var kfs = S.keyframes[S.stream] || [], kf = null;
    for (var i = 0; i < kfs.length; i++) if (kfs[i].seq <= seq) kf = kfs[i];
    return kf || kfs[0] || null;
  }
  function seek(seq, opts) {
    S.busy = S.busy.then(function () { return doSeek(seq, opts || {}); })
      .catch(function (e) { $('stage-note').textContent = 'error: ' + (e.message || e); });
    return S.busy;
  }
  function doSeek(seq, opts) {
    stopPlay();
    document.body.dataset.state = 'loading';
    // The record (its page and time) and the events of the current stream are fetched at
    // once; only when the record belongs to another stream are that stream's events fetched.
    var stream = S.stream, kf0 = keyframeFor(seq), more = forward(kf0, seq);
    var evs0 = more ? rrwebEvents(kf0, seq, S.built.upto + 1) :
      kf0 ? rrwebEvents(kf0, seq) : Promise.resolve(null);
    return Promise.all([api('api/events', { from_seq: seq, to_seq: seq }), evs0])
      .then(function (res) {
        var rec = res[0].events[0];
        if (rec && rec.page && !opts.keepStream) {
          var sid = rec.frame && S.session.streams.some(function (s) {
            return s.id === rec.page + ':' + rec.frame;
          }) ? rec.page + ':' + rec.frame : streamOfPage(rec.page);
          if (sid && sid !== S.stream) setStream(sid);
        }
        var kf = keyframeFor(seq);
        if (!kf) {
          $('stage-note').textContent = 'no full snapshot in this stream';
          document.body.dataset.frame = String(seq);
          return finishSeek(seq, rec);
        }
        var same = S.stream === stream && kf === kf0;
        if (same && more && inOrder(res[1])) {
          return extend(res[1], seq).then(function () {
            $('stage-note').textContent = 'rebuilt from keyframe #' + kf.full_seq + ' + ' +
              (S.loaded.length - 2) + ' events';
            return finishSeek(seq, rec);
          });
        }
        var evs = same && !more ? Promise.resolve(res[1]) : rrwebEvents(kf, seq);
        return evs.then(function (list) {
          build(list, seq, kf);
          $('stage-note').textContent = seq < kf.full_seq ? 'seq ' + seq +
            ' is before the first snapshot of this stream; showing the first snapshot' :
            'rebuilt from keyframe #' + kf.full_seq + ' + ' + (list.length - 2) + ' events';
          return finishSeek(seq, rec);
        });
      });
  }
  function rrwebEvents(kf, seq, from) {  // Meta + FullSnapshot at the keyframe, then up to seq
    return allEvents({ from_seq: from || kf.seq, to_seq: Math.max(seq, kf.full_seq),
                       stream: S.stream, rrweb: '1', limit: S.session.page_size });
  }
  // A seek forward from the page on screen, from the same keyframe, only needs the events in
  // between: the Replayer applies just those (it skips what it already played).
  function forward(kf, seq) {
    var b = S.built;
    return !!(b && kf && S.replayer && b.stream === S.stream && b.kf === kf.seq && seq > b.upto);
  }
  // The latest time among entries: not always the last entry's (an entry is stamped when its
  // change happened, e.g. a canvas image at the frame it shows, and reaches the journal later).
  function latest(list) {
    var t = -Infinity;
    list.forEach(function (e) { if (e.payload.timestamp > t) t = e.payload.timestamp; });
    return t;
  }
  function inOrder(list) {  // the Replayer skips an added event not later than the last played
    var lastTs = latest(S.loaded);
    return list.every(function (e) { return e.payload.timestamp > lastTs; });
  }
  // The events rrweb gets for journal entries: canvas images travel as canvas events that
  // the canvas plugin draws in frame order (rrweb.canvasEvents leaves the entries as they are).
  function payloadsOf(list) {
    var out = [];
    list.forEach(function (e) { out.push.apply(out, rrweb.canvasEvents(e.payload)); });
    return out;
  }
  function addEvents(list) {
    payloadsOf(list).forEach(function (p) { S.replayer.addEvent(p); });
    list.forEach(function (e) { S.loaded.push(e); });
  }
  // The frame is on screen once its canvas images are drawn and the browser has painted it.
  function markFrame(seq) {
    S.canvas.settled().then(function () {
      requestAnimationFrame(function () { document.body.dataset.frame = String(seq); });
    });
  }
  function extend(list, seq) {
    addEvents(list);
    var lastTs = latest(S.loaded);
    // Replayer.addEvent queues each event in a microtask: move on after them.
    return Promise.resolve().then(function () {
      S.replayer.pause(Math.max(0, lastTs - S.baseTs) + 1);
      closeReplayDocument();
      S.built.upto = Math.max(S.built.upto, seq);
      markFrame(seq);
    });
  }
  function closeReplayDocument() {
    var ifr = $('replay').querySelector('iframe');
    closeDocument(ifr && ifr.contentDocument, 0);
  }
  // rrweb rebuilds the replayed document and the recorded frames' documents with
  // document.open() and never closes them: the iframe then stays 'loading' and the viewer's
  // own load event never fires. Closing one ends its parse, and a parse that saw no doctype
  // makes the document quirks mode (other margins than the page had), while the doctype rrweb
  // appended as a node never makes it quirks: so the doctype as recorded (the quirks one
  // rrweb adds for a recorded quirks page included) is parsed first, unless rrweb already
  // wrote the quirks one (the document is quirks already).
  function closeDocument(d, depth) {
    if (!d || depth > 8) return;
    if (d.readyState === 'loading') {
      if (d.compatMode === 'CSS1Compat') d.write(doctypeText(d.doctype));
      d.close();
    }
    Array.prototype.forEach.call(d.querySelectorAll('iframe'), function (f) {
      var inner = null;
      try { inner = f.contentDocument; } catch (e) { inner = null; }
      closeDocument(inner, depth + 1);
    });
  }
  // The markup of a doctype node (none recorded: the HTML one). Recorded identifiers keep only
  // characters that cannot end the doctype: the rest of the write must stay inside it.
  function doctypeText(dt) {
    if (!dt) return '<!DOCTYPE html>';
    var q = function (s) { return '"' + String(s).replace(/[^\w .:\/+-]/g, '') + '"'; };
    var ids = dt.publicId ? ' PUBLIC ' + q(dt.publicId) + (dt.systemId ? ' ' + q(dt.systemId) : '')
      : dt.systemId ? ' SYSTEM ' + q(dt.systemId) : '';
    return '<!DOCTYPE ' + String(dt.name || 'html').replace(/[^A-Za-z0-9-]/g, '') + ids + '>';
  }
  function build(evs, seq, kf) {
    if (S.replayer) { try { S.replayer.destroy(); } catch (e) { /* already gone */ } }
    var root = $('replay');
    root.textContent = '';
    S.loaded = evs;
    var payloads = payloadsOf(evs);
    // Canvas images are drawn by the canvas plugin from this window (rrweb's own canvas
    // replay stays off: it would let the replay iframe run scripts).
    S.canvas = rrweb.canvasPlugin();
    S.replayer = new rrweb.Replayer(payloads, {
      root: root, mouseTail: false, showWarning: false, showDebug: false, triggerFocus: false,
      UNSAFE_replayCanvas: false, skipInactive: false, speed: +$('speed').value,
      pauseAnimation: true, plugins: [S.canvas]
    });
    S.replayer.on('resize', function (d) { STUI.setViewport(d.width, d.height); });
    S.replayer.on('fullsnapshot-rebuilded', closeReplayDocument);
    var t0 = payloads[0].timestamp, t1 = latest(evs);
    S.baseTs = t0;
    // rrweb applies events strictly before the offset: +1 ms includes the target event.
    S.replayer.pause(Math.max(0, t1 - t0) + 1);
    closeReplayDocument();
    S.built = { stream: S.stream, kf: kf.seq, upto: Math.max(seq, evs[evs.length - 1].seq) };
    var ifr = root.querySelector('iframe');
    if (ifr) {
      ifr.setAttribute('title', 'replay');
      STUI.setViewport(+ifr.getAttribute('width'), +ifr.getAttribute('height'));
    }
    markFrame(seq);
  }
  function finishSeek(seq, rec) {
    S.cur = seq;
    $('cur-seq').textContent = '#' + seq;
    if (rec) {
      $('utc').textContent = fmtUtc(rec.t_utc_ns);
      $('local').textContent = fmtLocal(rec.t_utc_ns);
      S.curT = rec.t_utc_ns;
      placeCursor();
    }
    markCurrent();
    markCurrentAction();
    setHash(seq);
    return renderRaw(seq).then(function () {
      document.body.dataset.seq = String(seq);
      document.body.dataset.state = 'ready';
    });
  }

  // ---- the moment in the address bar -------------------------------------------------------
  // '#seq=<n>' (or '#t=<UTC ms>' when opening) names the moment; it is replaced, not pushed,
  // as the viewer steps, so history holds no trail of steps. It never carries the token.
  function setHash(seq) {
    var h = '#seq=' + seq;
    if (location.hash === h) return;
    try { history.replaceState(null, '', location.pathname + h); } catch (e) { /* file:// */ }
  }
  function hashTarget() {
    var m = /[#&]seq=(\d+)/.exec(location.hash), t = /[#&]t=(\d+)/.exec(location.hash);
    if (m) return { seq: +m[1] };
    if (t) return { t_ns: +t[1] * 1e6 };
    return null;
  }
  function seekHash() {
    var h = hashTarget();
    if (!h) return null;
    if (h.seq !== undefined) return h.seq === S.cur ? null : seek(h.seq);
    return jumpTime(h.t_ns);
  }

  // ---- stepping ----------------------------------------------------------------------------
  function nextEvent() {
    if (S.cur === null) return;
    api('api/events', { from_seq: S.cur + 1, to_seq: S.session.seq_last, page: S.page || '',
                        limit: 1 }).then(function (r) { if (r.events.length) seek(r.events[0].seq); });
  }
  function prevEvent(before) {
    var upto = before === undefined ? S.cur : before;
    if (upto === null || upto <= S.session.seq_first) return;
    var from = Math.max(S.session.seq_first, upto - 200);
    allEvents({ from_seq: from, to_seq: upto - 1, page: S.page || '' }).then(function (evs) {
      if (evs.length) seek(evs[evs.length - 1].seq);
      else if (from > S.session.seq_first) prevEvent(from);
    });
  }
  function nextAction() {
    var a = actionList().filter(function (e) { return e.seq > S.cur; })[0];
    if (a) { highlight(a.action_id); seek(a.seq); }
  }
  function prevAction() {
    var a = actionList().filter(function (e) { return e.seq < S.cur; }).pop();
    if (a) { highlight(a.action_id); seek(a.seq); }
  }
  function jumpTime(ns) {
    return api('api/seq_at', { t_utc_ns: ns }).then(function (r) {
      return r.seq !== null ? seek(r.seq) : null;
    });
  }

  // ---- play --------------------------------------------------------------------------------
  function stopPlay() {
    if (!S.playing) return;
    S.playing = false;
    clearInterval(S.timer);
    if (S.replayer) S.replayer.pause();
    STUI.setButton($('play'), 'play', 'play');
  }
  function play() {
    if (S.playing) { stopPlay(); return; }
    if (!S.replayer) return;
    S.playing = true;
    S.built = null;  // the position now moves with the clock: the next seek rebuilds
    STUI.setButton($('play'), 'pause', 'pause');
    var last = S.loaded.length ? S.loaded[S.loaded.length - 1].seq : S.cur;
    allEvents({ from_seq: last + 1, to_seq: S.session.seq_last, stream: S.stream, rrweb: '1',
                limit: S.session.page_size }).then(function (evs) {
      addEvents(evs);
      S.replayer.setConfig({ speed: +$('speed').value });
      S.replayer.play(S.replayer.getCurrentTime());
      S.timer = setInterval(function () {
        var t = S.baseTs + S.replayer.getCurrentTime(), cur = null;
        for (var i = 0; i < S.loaded.length && S.loaded[i].payload.timestamp <= t; i++) {
          cur = S.loaded[i];
        }
        if (cur) {
          S.cur = cur.seq;
          $('cur-seq').textContent = '#' + cur.seq;
          $('utc').textContent = fmtUtc(cur.t_utc_ns);
          $('local').textContent = fmtLocal(cur.t_utc_ns);
          document.body.dataset.seq = String(cur.seq);
        }
        if (i >= S.loaded.length) stopPlay();
      }, 250);
    });
  }

  // ---- wiring ------------------------------------------------------------------------------
  function wire() {
    STUI.wire({ play: play, prevAction: prevAction, nextAction: nextAction,
                prevEvent: function () { prevEvent(); }, nextEvent: nextEvent });
    window.addEventListener('hashchange', seekHash);
    $('next-event').onclick = nextEvent;
    $('prev-event').onclick = function () { prevEvent(); };
    $('next-action').onclick = nextAction;
    $('prev-action').onclick = prevAction;
    $('play').onclick = play;
    $('speed').onchange = function () {
      if (S.replayer) S.replayer.setConfig({ speed: +$('speed').value });
    };
    $('go').onclick = function () {
      var s = $('goto-seq').value.trim(), t = $('goto-time').value.trim();
      if (s) { seek(+s); return; }
      if (t) {
        var ms = Date.parse(t);
        if (!isNaN(ms)) jumpTime(ms * 1e6);
      }
    };
    $('stream').onchange = function () {
      setStream($('stream').value);
      var kfs = S.keyframes[S.stream] || [];
      var target = kfs.length && S.cur !== null && S.cur >= kfs[0].seq ? S.cur :
        (kfs.length ? kfs[0].full_seq : S.cur);
      seek(target, { keepStream: true });
    };
    $('timeline').addEventListener('click', function (e) {
      var li = e.target.closest('li');
      if (!li || li.dataset.seq === 'null') return;
      highlight(li.dataset.action, li.dataset.request);
      seek(+li.dataset.seq);
    });
    document.querySelectorAll('#side nav button').forEach(function (b) {
      b.onclick = function () {
        document.querySelectorAll('#side nav button').forEach(function (x) {
          x.classList.toggle('on', x === b);
        });
        document.querySelectorAll('.tab').forEach(function (t) {
          t.hidden = t.id !== 'tab-' + b.dataset.tab;
        });
      };
    });
  }

  function start() {
    Promise.all([api('api/session'), api('api/timeline'), api('api/keyframes')])
      .then(function (res) {
        S.session = res[0];
        S.timeline = res[1].entries;
        S.network = res[1].network;
        S.actions = res[1].actions;
        if (Array.isArray(res[1].actions)) S.session.actions = res[1].actions;
        S.keyframes = res[2].streams;
        renderHeader();
        renderFilters();
        renderTimeline();
        renderTimebar();
        renderActions();
        renderNetwork();
        wire();
        if (!S.session.streams.length) {
          $('stage-note').textContent = 'no replayable page in the verified part';
          document.body.dataset.state = 'ready';
          return null;
        }
        setStream(S.session.streams[0].id);
        var opened = seekHash();
        if (opened) return opened;
        var seq = S.session.start_seq !== null ? S.session.start_seq :
          (S.keyframes[S.stream] || [{ full_seq: S.session.seq_first }])[0].full_seq;
        return seek(seq);
      }).catch(function (e) {
        $('badge').textContent = 'error: ' + (e.message || e);
        document.body.dataset.state = 'error';
      });
  }
  window.__st = { seek: seek, state: S, actions: actionList };
  start();
})();
