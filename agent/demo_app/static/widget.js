// Cross-origin news widget: rotating headlines, a moving index value, a refresh button.
(function () {
  'use strict';
  var HEADLINES = [
    'Fed holds rates steady; futures flat',
    'Tech leads early gains on chip demand',
    'Oil slips as inventories build',
    'Treasury yields edge higher before auction',
    'Retail sales beat estimates for third month',
    'Regulators publish revised books-and-records guidance'
  ];
  var i = 0;
  var level = 451100;
  var headline = document.getElementById('headline');
  var quote = document.getElementById('widget-quote');
  var clicks = document.getElementById('widget-clicks');
  document.getElementById('widget-origin').textContent = location.origin;
  function rotate() {
    headline.textContent = HEADLINES[i % HEADLINES.length];
    level += ((i * 37) % 41) - 20;
    quote.textContent = (level / 100).toFixed(2);
    i += 1;
  }
  rotate();
  setInterval(rotate, 700);
  document.getElementById('widget-refresh').addEventListener('click', function () {
    clicks.textContent = String(Number(clicks.textContent) + 1);
    rotate();
    fetch('/widget/click', {method: 'POST'});
  });
})();
