// Refreshes the page's main part every few seconds while it is open. The page
// works without this script; it only saves pressing reload.
//
// The next refresh is scheduled only once the current one has finished
// (answered, failed or been applied): a slow answer delays the next fetch
// instead of piling fetches on a busy emulator.
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main || !window.fetch) { return; }
  var url = main.getAttribute("data-fragment");
  var intervalMs = 2000;

  function openDetails() {
    return Array.prototype.map.call(main.querySelectorAll("details[open]"), function (d) { return d.id; });
  }

  function apply(html) {
    if (html === null || html === main.innerHTML) { return; }
    var open = openDetails();
    main.innerHTML = html;
    open.forEach(function (id) {
      var details = document.getElementById(id);
      if (details) { details.open = true; }
    });
  }

  function schedule() {
    window.setTimeout(refresh, intervalMs);
  }

  function refresh() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(apply)
      .catch(function () { /* the emulator may be restarting: try again next time */ })
      .then(schedule);
  }

  schedule();
}());
