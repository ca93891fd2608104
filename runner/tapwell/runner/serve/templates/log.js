// The live log of a running run: the API's server-sent events appended to <pre id="log">.
// Follows the bottom while the reader is at the bottom; stops following when they scroll up.
(function () {
  "use strict";
  var log = document.getElementById("log");
  if (!log || !log.dataset.stream || !window.EventSource) return;
  var seen = parseInt(log.dataset.lines || "0", 10);
  var note = document.getElementById("live-note");
  var atBottom = function () { return log.scrollHeight - log.scrollTop - log.clientHeight < 8; };
  var follow = true;
  log.scrollTop = log.scrollHeight;
  log.addEventListener("scroll", function () {
    follow = atBottom();
    if (note && !log.dataset.ended) {
      note.textContent = follow ? "following the log live" : "paused (scroll to the bottom to follow)";
    }
  });
  // While the run goes: its duration ticks each second, and its figures (attempts, rows so
  // far, charts: the runner saves them every 5 s) are read again from the page every 5 s.
  var span = function (s) {
    if (s < 90) return s >= 10 ? Math.round(s) + " s" : s.toFixed(1) + " s";
    if (s < 5400) return Math.round(s / 60) + " min";
    if (s < 129600) return Math.round(s / 3600) + " h";
    return Math.round(s / 86400) + " d";
  };
  var tick = window.setInterval(function () {
    var duration = document.getElementById("duration");
    var started = duration && Date.parse(duration.dataset.started || "");
    if (started) duration.textContent = span(Math.max(Date.now() - started, 0) / 1000) + " so far";
  }, 1000);
  var refresh = window.setInterval(function () { fresh(["run-figures"], null); }, 5000);
  var source = new EventSource(log.dataset.stream);
  source.addEventListener("line", function (e) {
    var index = parseInt(e.lastEventId, 10);
    if (!isNaN(index) && index < seen) return; // already on the page
    seen = isNaN(index) ? seen + 1 : index + 1;
    var badge = document.querySelector("#status .status");
    if (badge && badge.dataset.status === "queued") { // a line means it started
      badge.className = "status s-running";
      badge.dataset.status = "running";
      badge.textContent = "▶ running";
    }
    log.appendChild(document.createTextNode(e.data + "\n"));
    if (follow) log.scrollTop = log.scrollHeight;
  });
  source.addEventListener("end", function (e) {
    source.close();
    window.clearInterval(tick);
    window.clearInterval(refresh);
    log.dataset.ended = "1";
    var status = JSON.parse(e.data).status;
    var badge = document.querySelector("#status .status");
    var symbols = { succeeded: "✓", failed: "✕", interrupted: "■", lost: "?", skipped: "↷" };
    if (badge) {
      badge.className = "status s-" + status;
      badge.dataset.status = status;
      badge.textContent = (symbols[status] || "") + " " + status;
    }
    if (note) note.textContent = "the run ended";
    var cancel = document.getElementById("cancel-form");
    var relaunch = document.getElementById("relaunch-form");
    if (cancel) cancel.hidden = true;
    if (relaunch) relaunch.hidden = false;
    showFinal();
  });
  // The ended run's page as the server now renders it: its final status, the Error box of a
  // failed run, the facts, rows and charts replace the live ones; the log stays as it is.
  function showFinal() {
    var fallback = function () {
      if (!note) return;
      note.textContent = "the run ended: ";
      var again = document.createElement("a");
      again.href = window.location.pathname;
      again.textContent = "reload for its final figures";
      note.appendChild(again);
    };
    fresh(["status", "run-figures"], fallback);
  }
  // The elements `ids` as the server renders the page now, in place of these.
  function fresh(ids, fallback) {
    if (!window.fetch || !window.DOMParser) { if (fallback) fallback(); return; }
    fetch(window.location.pathname, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.text();
    }).then(function (html) {
      if (!fallback && log.dataset.ended) return; // the run ended meanwhile: showFinal's
      var page = new DOMParser().parseFromString(html, "text/html");
      ids.forEach(function (id) {
        var now = document.getElementById(id);
        var then = page.getElementById(id);
        if (now && then) now.replaceWith(document.importNode(then, true));
      });
    }).catch(fallback || function () {});
  }
})();
