// Big-order confirmation popup: shows the ticket from the query string, posts the
// confirmation, tells the opener, and closes itself.
(function () {
  'use strict';
  var q = new URLSearchParams(location.search);
  var fields = ['order', 'side', 'quantity', 'symbol', 'price', 'account'];
  fields.forEach(function (f) {
    document.getElementById('c-' + f).textContent = q.get(f) || '';
  });
  var status = document.getElementById('confirm-status');
  document.getElementById('confirm-btn').addEventListener('click', function () {
    var ticket = {
      symbol: q.get('symbol'), side: q.get('side'), quantity: q.get('quantity'),
      price: q.get('price'), account: q.get('account')
    };
    fetch('/api/confirm', {
      method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify(ticket)
    }).then(function (r) { return r.json(); }).then(function (j) {
      if (!j.order_id) { status.textContent = 'Rejected: ' + (j.error || 'unknown'); return; }
      status.textContent = 'Confirmed ' + j.order_id;
      if (window.opener) {
        window.opener.postMessage(
          {type: 'confirmed', ref: q.get('order'), order_id: j.order_id, ticket: ticket},
          location.origin);
      }
      setTimeout(function () { window.close(); }, 150);
    });
  });
  document.getElementById('reject-btn').addEventListener('click', function () {
    window.close();
  });
})();
