// The live viewer: long-polls /api/live/poll and feeds each new rrweb event of the watched
// page to rrweb's Replayer in live mode. The token arrives once in ?token=, is taken out of
// the address bar and sent only as an Authorization header. The recorded page is rebuilt in
// an iframe sandboxed without allow-scripts: no recorded script runs.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var token = new URLSearchParams(location.search).get('token') || '';
  history.replaceState(null, '', location.pathname);
  var rnd = new Uint8Array(12);
  crypto.getRandomValues(rnd);
  var client = Array.prototype.map.call(rnd, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  var S = { v: -1, epoch: -1, after: -1, replayer: null, stopped: false, failed: false };
  window.__live = S;

  function api(path, opts) {
    opts = opts || {};
    opts.headers = { Authorization: 'Bearer ' + token };
    opts.credentials = 'omit';
    opts.cache = 'no-store';
    return fetch(path, opts);
  }

  function build(now) {
    if (S.replayer) { try { S.replayer.destroy(); } catch (e) { /* already gone */ } }
    $('replay').textContent = '';
    S.replayer = new rrweb.Replayer([], {
      root: $('replay'), liveMode: true, mouseTail: false, showWarning: false,
      showDebug: false, triggerFocus: false, UNSAFE_replayCanvas: false, pauseAnimation: true
    });
    // The baseline is the server's clock now (the recorded page's clock, on the same machine):
    // events recorded before it are applied at once; a later one is due as soon as it
    // arrives, whatever the skew between the supervisor's clock and the kiosk's.
    S.replayer.startLive(now);
  }

  function apply(ans) {
    if (ans.reset) { build(ans.now_ms); S.after = -1; }
    ans.events.forEach(function (e) { S.replayer.addEvent(e.payload); S.after = e.seq; });
    S.v = ans.version;
    S.epoch = ans.epoch;
    document.body.dataset.seq = String(S.after);
    badge(ans.feed);
    kiosk(ans);
    $('session').textContent = ans.session_id ? 'session ' + ans.session_id : 'no session yet';
    $('me').textContent = ans.supervisor ? 'you: ' + ans.supervisor : '';
  }

  function badge(f) {
    var b = $('badge');
    if (!f) { b.textContent = 'waiting for a session'; b.className = 'badge'; return; }
    b.textContent = f.badge;
    b.className = 'badge ' + (f.state === 'failed' ? 'failed' : f.state === 'ended' ? 'ended'
      : f.chain_only ? 'chain' : 'live');
    b.title = f.verified_seq === null ? 'no event is under a signed checkpoint yet'
      : 'verified (signed checkpoint) up to seq ' + f.verified_seq
        + (f.chain_only ? '; seq ' + (f.verified_seq + 1) + '-' + f.chained_seq + ' chain-checked only' : '');
    document.body.dataset.feed = f.state;
    document.body.dataset.checkpoint = f.checkpoint === null ? '' : String(f.checkpoint);
    var banner = $('banner');
    if (f.state === 'failed') {
      banner.hidden = false;
      banner.textContent = 'Integrity check FAILED - the live view stopped: ' + f.error;
    } else {
      banner.hidden = true;
    }
  }

  function kiosk(ans) {
    $('controls').hidden = !ans.controls;
    var k = ans.kiosk;
    $('kiosk-state').textContent = k ? 'kiosk: ' + k.state : '';
    $('supervisors').textContent = k && k.supervisors && k.supervisors.length
      ? 'watching: ' + k.supervisors.join(', ') : '';
    document.body.dataset.kiosk = k ? k.state : '';
    if (k) {
      $('pause').disabled = k.state !== 'active';
      $('resume').disabled = k.state !== 'paused';
      $('end').disabled = k.state === 'lobby';
    }
  }

  function poll() {
    if (S.stopped) return;
    var q = '?client=' + client + '&v=' + S.v + '&epoch=' + S.epoch + '&after=' + S.after;
    api('/api/live/poll' + q).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (ans) {
      apply(ans);
      document.body.dataset.state = 'live';
      poll();
    }).catch(function (e) {
      document.body.dataset.state = 'retrying';
      $('badge').textContent = 'connection lost (' + e.message + '), retrying…';
      $('badge').className = 'badge failed';
      setTimeout(poll, 1000);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll('#controls button'), function (btn) {
    btn.addEventListener('click', function () {
      var action = btn.dataset.action;
      if (action === 'end' && !window.confirm('End the customer session now?')) return;
      btn.disabled = true;
      api('/api/live/' + action, { method: 'POST' }).then(function (r) {
        document.body.dataset.lastAction = action + ':' + r.status;
      });
    });
  });
  window.addEventListener('pagehide', function () {
    S.stopped = true;
    api('/api/live/leave?client=' + client, { method: 'POST', keepalive: true });
  });
  poll();
}());
