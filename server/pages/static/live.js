// Live parts (server/pages/live_pages.py): the banner of the alerts going on, « Mon camion
// maintenant », a producer's rooms now, the alerts lists. The server renders them; this
// script asks for them again (data-live-src) when the alert worker's stream
// (/api/v1/alerts/stream, session cookie) says something changed, and every data-live-every
// seconds (elapsed times and ages of data move on, a probe comes back, a reading arrives),
// then swaps each [data-live-part] whose content changed. No reload, no numbers computed
// here: every time, temperature and status on the page is the server's. When the server
// cannot be reached, the page says since when what it shows dates.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch) { return; }
  var src = live.getAttribute("data-live-src");
  var offline = document.getElementById("live-offline");
  var signedOut = document.getElementById("live-signed-out");
  var last = Date.now();
  var busy = false;
  var again = false;
  var timer = null;

  function every() {
    var value = parseFloat(live.getAttribute("data-live-every"));
    return value > 0 ? value : 20;
  }

  function swap(html) {
    var fresh = document.createElement("template");
    fresh.innerHTML = html;
    Array.prototype.forEach.call(fresh.content.querySelectorAll("[data-live-part]"), function (part) {
      var name = part.getAttribute("data-live-part");
      var old = document.querySelector('[data-live-part="' + name + '"]');
      if (!old) { return; }
      // The element stays (a live region keeps being one); its content and attributes follow.
      Array.prototype.forEach.call(part.attributes, function (attr) {
        if (old.getAttribute(attr.name) !== attr.value) { old.setAttribute(attr.name, attr.value); }
      });
      Array.prototype.slice.call(old.attributes).forEach(function (attr) {
        if (!part.hasAttribute(attr.name)) { old.removeAttribute(attr.name); }
      });
      if (old.innerHTML !== part.innerHTML) { old.innerHTML = part.innerHTML; }
    });
    live.setAttribute("data-live-refreshed", String(Date.now()));
  }

  function reachable(yes) {
    if (signedOut) { signedOut.hidden = true; }
    if (!offline) { return; }
    // A copy the service worker showed with no signal says its own age (static/offline.js).
    if (yes || document.documentElement.hasAttribute("data-offline-copy")) { offline.hidden = true; return; }
    var banner = document.querySelector('[data-live-part="banner"]');
    var at = (banner && banner.getAttribute("data-live-at")) || offline.getAttribute("data-at");
    offline.textContent = offline.getAttribute("data-text").replace("{at}", at);
    offline.hidden = false;
  }

  function signedOutNow() {
    if (offline) { offline.hidden = true; }
    if (signedOut) { signedOut.hidden = false; }
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(src, {
      credentials: "same-origin",
      cache: "no-store",
      // Script, not a person: signed out, the login page it gets sets no cookie (web.py).
      headers: { "Accept": "text/html", "X-Coldchain-Script": "live" }
    })
      .then(function (response) {
        // Signed out meanwhile: the login page comes back instead of the parts. The server
        // answered: not a network problem, the person must sign in again.
        if (response.ok && new URL(response.url).pathname === "/login") { return null; }
        if (!response.ok || response.headers.get("X-Live-Parts") !== "1") {
          throw new Error("no parts: " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        if (html === null) { signedOutNow(); return; }
        swap(html);
        reachable(true);
      })
      .catch(function () { reachable(false); })
      .then(function () {
        busy = false;
        last = Date.now();
        if (again) { again = false; refresh(); }
      });
  }

  function soon() { // a burst of stream events is one refresh
    if (timer === null) {
      timer = window.setTimeout(function () { timer = null; refresh(); }, 150);
    }
  }

  window.setInterval(function () {
    if (Date.now() - last >= every() * 1000) { refresh(); }
  }, 1000);
  if (live.getAttribute("data-live-initial") !== "1") { refresh(); }
  if (window.EventSource) {
    var source = new EventSource("/api/v1/alerts/stream");
    source.addEventListener("alert", soon);
    source.addEventListener("open", function () { soon(); }); // (re)connected: catch up
    // Closed when the page is left: Chromium otherwise kept the stream of each page left
    // behind open, and past six (its connections per host over HTTP/1.1) the next page
    // waited for a free connection and never loaded.
    window.addEventListener("pagehide", function () { source.close(); });
  }
  window.coldchainLive = { refresh: refresh };
})();
