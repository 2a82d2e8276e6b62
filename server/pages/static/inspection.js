// Inspection export (server/pages/inspection_pages.py). On the form: ask for a background
// job (without this script the form post returns the ZIP directly). On the job page: poll
// the job's status and show how far it is, then the download link.
(function () {
  "use strict";
  if (!window.fetch) { return; } // old browser: the plain form post still works
  var flag = document.getElementById("background");
  if (flag) { flag.value = "1"; }
  var box = document.getElementById("export-job");
  if (!box || box.getAttribute("data-state") !== "running") { return; }
  var bar = document.getElementById("export-progress");
  var percent = document.getElementById("export-percent");
  var state = document.getElementById("export-state");
  var line = document.getElementById("download-line");
  var link = document.getElementById("download");

  function show(s) {
    bar.value = s.percent;
    bar.textContent = s.percent_text;
    percent.textContent = s.percent_text;
    state.textContent = s.text;
    box.setAttribute("data-state", s.state);
    if (s.state === "done" && s.download) { line.hidden = false; link.focus(); }
  }

  function poll() {
    fetch(box.getAttribute("data-status"), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
      cache: "no-store"
    }).then(function (response) {
      if (response.status === 404 || response.redirected) { // gone, or signed out (to /login)
        state.textContent = "✖ " + box.getAttribute("data-gone");
        box.setAttribute("data-state", "missing");
        return null;
      }
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (s) {
      if (!s) { return; }
      show(s);
      if (s.state === "running") { window.setTimeout(poll, 500); }
    }).catch(function () {
      window.setTimeout(poll, 3000); // a network blip: try again, more slowly
    });
  }

  poll();
})();
