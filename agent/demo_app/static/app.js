// Trading screen of the sessiontape demo app (plain JS, no dependencies).
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var cells = params.get('cells') || '200';
  var intervalMs = params.get('interval_ms') || '50';
  var positionsMs = parseInt(params.get('positions_ms') || '3000', 10);
  var $ = function (id) { return document.getElementById(id); };
  var tbody = document.querySelector('#blotter tbody');
  var session = null;
  var pending = {};
  var nextRef = 0;
  var ws = null;

  function status(msg) { $('status-msg').textContent = msg; }
  function showViewport() { $('viewport').textContent = innerWidth + 'x' + innerHeight; }
  showViewport();
  addEventListener('resize', showViewport);

  fetch('/api/session').then(function (r) { return r.json(); }).then(function (s) {
    session = s;
    $('user-name').textContent = s.user;
  });

  // --- blotter over the WebSocket -------------------------------------------------------
  function applyCells(list) {
    for (var i = 0; i < list.length; i++) {
      var c = list[i];
      tbody.rows[c[0]].cells[c[1] + 1].textContent = c[2];
    }
  }
  function connect() {
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host +
      '/ws?cells=' + encodeURIComponent(cells) + '&interval_ms=' + encodeURIComponent(intervalMs);
    ws = new WebSocket(url);
    ws.onopen = function () { $('ws-status').textContent = 'live'; };
    ws.onclose = function () { $('ws-status').textContent = 'closed'; };
    ws.onmessage = function (ev) {
      var m = JSON.parse(ev.data);
      if (m.type === 'snapshot' || m.type === 'tick') {
        applyCells(m.cells);
        if (m.type === 'tick') { $('tick-count').textContent = String(m.tick); }
      } else if (m.type === 'order_ack') {
        addOrder(m.order_id, pending[m.client_ref], 'ws');
        delete pending[m.client_ref];
      } else if (m.type === 'order_reject') {
        status('Order rejected: ' + m.error);
      }
    };
  }
  connect();

  // --- order ticket ----------------------------------------------------------------------
  function ticket() {
    return {
      symbol: $('symbol').value, side: $('side').value, quantity: $('quantity').value,
      price: $('price').value, account: $('order-account').value
    };
  }
  function addOrder(orderId, t, channel) {
    var li = document.createElement('li');
    li.className = 'order';
    li.dataset.orderId = orderId;
    li.dataset.channel = channel;
    li.textContent = orderId + ' ' + t.side + ' ' + t.quantity + ' ' + t.symbol + ' @ ' +
      t.price + ' [' + channel + ']';
    $('orders-list').appendChild(li);
    status('Order ' + orderId + ' accepted');
  }
  $('send-ws').addEventListener('click', function () {
    var t = ticket();
    var ref = 'R' + (++nextRef);
    pending[ref] = t;
    var msg = {type: 'order', client_ref: ref};
    Object.keys(t).forEach(function (k) { msg[k] = t[k]; });
    ws.send(JSON.stringify(msg));
  });
  $('send-rest').addEventListener('click', function () {
    var t = ticket();
    fetch('/api/orders', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'Authorization': 'Bearer ' + (session ? session.token : ''),
        'X-Api-Key': session ? session.api_key : ''
      },
      body: JSON.stringify(t)
    }).then(function (r) {
      if (r.status === 401) { return {error: 'not authorised'}; }
      return r.json();
    }).then(function (j) {
      if (j.order_id) { addOrder(j.order_id, t, 'rest'); } else { status('Rejected: ' + j.error); }
    });
  });
  $('confirm-big').addEventListener('click', function () {
    var q = new URLSearchParams(ticket());
    q.set('order', 'BIG-' + (++nextRef));
    window.open('/confirm?' + q.toString(), 'confirm-big', 'width=460,height=360');
  });
  addEventListener('message', function (ev) {
    if (ev.origin !== location.origin || !ev.data || ev.data.type !== 'confirmed') { return; }
    addOrder(ev.data.order_id, ev.data.ticket, 'popup');
  });
  $('cancel-all').addEventListener('click', function () {
    if (!confirm('Cancel all open orders?')) { status('Cancel all aborted'); return; }
    fetch('/api/cancel_all', {method: 'POST'}).then(function (r) { return r.json(); })
      .then(function (j) {
        status('Cancelled ' + j.cancelled + ' orders');
        console.error('demo-app: cancel-all cancelled ' + j.cancelled + ' orders');
      });
  });

  // --- client lookup -----------------------------------------------------------------------
  $('lookup-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = {
      client_name: $('client-name').value, ssn: $('ssn').value,
      account: $('lookup-account').value, notes: $('notes').value, pin: $('pin').value
    };
    fetch('/api/lookup?account=' + encodeURIComponent(body.account), {
      method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)
    }).then(function (r) { return r.json(); }).then(function (j) {
      var card = $('lookup-result');
      card.hidden = false;
      card.textContent = '';
      if (!j.found) {
        card.textContent = 'No client found';
        console.error('demo-app: client lookup found nothing');
        return;
      }
      [['name', j.name], ['ssn', 'SSN ' + j.ssn_masked], ['account', j.account],
       ['tier', j.tier], ['balance', '$' + j.balance]].forEach(function (p) {
        var div = document.createElement('div');
        div.className = 'lookup-' + p[0];
        div.textContent = p[1];
        card.appendChild(div);
      });
      // Follow the client's activity on the blotter socket (the server acknowledges).
      if (ws && ws.readyState === 1) { ws.send(JSON.stringify({type: 'watch', account: j.account})); }
    });
  });

  // --- polling, and a response the page never reads ----------------------------------------
  var polls = 0;
  function pollPositions() {
    fetch('/api/positions').then(function (r) { return r.json(); }).then(function (j) {
      polls += 1;
      $('poll-count').textContent = String(polls);
      var pb = document.querySelector('#positions-table tbody');
      pb.textContent = '';
      j.positions.forEach(function (p) {
        var tr = pb.insertRow();
        [p.symbol, String(p.quantity), p.pnl].forEach(function (v) {
          tr.insertCell().textContent = v;
        });
      });
    });
  }
  pollPositions();
  setInterval(pollPositions, positionsMs);
  fetch('/api/unread').then(function (r) { $('status-msg').dataset.unread = String(r.status); });
})();
