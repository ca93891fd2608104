// Pages a team keeps open (integrations, runs, schedule) reload themselves every data-refresh
// seconds, so a status never goes stale, but never while the reader is busy: the tab hidden,
// a confirmation box open, a form field in use, or text selected. Without JavaScript the page
// simply does not refresh.
(function () {
  "use strict";
  var seconds = window.TAPWELL_REFRESH_SECONDS || parseInt(document.body.dataset.refresh, 10);
  if (!seconds) return;
  var busy = function () {
    var active = document.activeElement;
    return document.visibilityState !== "visible" ||
      document.querySelector("details[open]") !== null ||
      (active && (active.form || active.tagName === "SELECT")) ||
      String(window.getSelection ? window.getSelection() : "") !== "";
  };
  window.setInterval(function () { if (!busy()) window.location.reload(); }, seconds * 1000);
})();
