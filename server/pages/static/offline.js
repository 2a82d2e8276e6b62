// The pages with no signal (base.html's #offline; docs/pages.md « Hors ligne »).
// - Registers the service worker (static/sw.js), which shows the last copy of a page when the
//   network cannot be reached; such a copy says here how old it is.
// - The forms a driver fills on the road (an alert's acknowledgement and corrective action,
//   the departure check, a handover) get an idempotency key (server/core/idempotency.py):
//   sent twice, they record once. With no signal, the form is kept on the phone (IndexedDB)
//   and sent when the signal returns (the `online` event, or the next page opened); the page
//   lists what waits. A sending the server refuses (someone else handled the alert meanwhile,
//   the stop was handed over) stays listed with the server's words until the driver dismisses
//   it: it is never dropped silently.
(function () {
  "use strict";
  var box = document.getElementById("offline");
  if (!box || !window.indexedDB || !window.fetch) { return; }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(function (error) {
      console.warn("service worker not registered", error); // the pages work without it
    });
  }
  // This script's requests, not a person's: signed out, the login page they are sent to sets
  // no pre-session cookie (server/pages/web.py `fetched_by_script`).
  var SCRIPT = { "X-Coldchain-Script": "offline" };

  var QUEUED = /^\/(alerts\/\d+\/(acknowledge|corrective-action)|deliveries\/\d+\/(departure|stops\/\d+\/handover))$/;
  var list = document.getElementById("offline-list");
  var waiting = document.getElementById("offline-waiting");
  var copy = document.getElementById("offline-copy");
  var keptAt = Number(document.documentElement.getAttribute("data-offline-copy") || 0);
  // A phone may be shared: what one user queued is listed and sent for that user only.
  var user = box.getAttribute("data-user");

  function words(name) { return box.getAttribute("data-" + name) || ""; }

  function kind(path) { // the words of the form's kind, from its action
    var found = /(acknowledge|corrective-action|departure|handover)$/.exec(path);
    return words("form-" + (found ? found[1] : "departure"));
  }

  // The outbox: one record per form, keyed by its idempotency key.
  function outbox(mode, work) {
    return new Promise(function (resolve, reject) {
      var opening = indexedDB.open("coldchain-offline", 1);
      opening.onupgradeneeded = function () {
        opening.result.createObjectStore("outbox", { keyPath: "key" });
      };
      opening.onerror = function () { reject(opening.error); };
      opening.onsuccess = function () {
        var db = opening.result;
        var tx = db.transaction("outbox", mode);
        var result = work(tx.objectStore("outbox"));
        tx.oncomplete = function () { db.close(); resolve(result && result.result); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      };
    });
  }
  function all() {
    return outbox("readonly", function (store) { return store.getAll(); }).then(function (items) {
      return items.filter(function (item) { return item.user === user; })
        .sort(function (a, b) { return a.at - b.at; });
    });
  }
  function put(item) { return outbox("readwrite", function (store) { store.put(item); }); }
  function remove(key) { return outbox("readwrite", function (store) { store.delete(key); }); }

  function show() {
    return all().then(function (items) {
      var pending = items.filter(function (item) { return item.state !== "refused"; });
      list.textContent = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        var when = new Date(item.at).toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
        if (item.state === "refused") {
          li.className = "problem";
          li.textContent = words("refused").replace("{form}", item.label).replace("{reason}", item.reason) + " ";
          var dismiss = document.createElement("button");
          dismiss.type = "button";
          dismiss.textContent = words("dismiss");
          dismiss.addEventListener("click", function () { remove(item.key).then(show); });
          li.appendChild(dismiss);
        } else {
          li.textContent = item.label + " — " + when + (item.state === "login" ? " — " + words("login") : "");
        }
        li.setAttribute("data-offline-key", item.key);
        list.appendChild(li);
      });
      waiting.hidden = pending.length === 0;
      waiting.textContent = words("waiting").replace("{count}", String(pending.length));
      box.hidden = items.length === 0 && !keptAt;
      return items;
    });
  }

  function showAge() {
    var minutes = Math.max(0, Math.floor((Date.now() - keptAt) / 60000));
    copy.textContent = words("copy").replace("{minutes}", String(minutes));
    copy.hidden = false;
  }
  if (keptAt) { showAge(); window.setInterval(showAge, 30000); }

  // Every form of the four kinds carries a key, online too: a second tap, or a sending whose
  // answer was lost, records once. With no signal, the form is kept instead of sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var path = new URL(form.action, location.href).pathname;
    if (!QUEUED.test(path)) { return; }
    var field = form.querySelector('input[name="idempotency_key"]');
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "idempotency_key";
      field.value = crypto.randomUUID();
      form.appendChild(field);
    }
    if (navigator.onLine) { return; }
    event.preventDefault();
    var fields = [];
    new FormData(form).forEach(function (value, name) {
      // The CSRF token is taken afresh when sending: the session may have changed meanwhile.
      if (name !== "csrf" && name !== "idempotency_key") { fields.push([name, String(value)]); }
    });
    var item = { key: field.value, user: user, path: path, page: location.pathname, label: kind(path),
      fields: fields, at: Date.now(), state: "waiting" };
    form.removeChild(field); // the next filling of this form is another sending
    put(item).then(function () { form.reset(); return show(); });
  });

  // The server's words about a refusal: the page's error box (or the refusal page's).
  function reason(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var said = page.querySelector("main [role=alert]");
    return said ? said.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function fresh(item) { // this session's CSRF token, from the page the form was on
    return fetch(item.page, { credentials: "same-origin", cache: "no-store", headers: SCRIPT }).then(function (response) {
      if (new URL(response.url).pathname === "/login") { return null; } // signed out meanwhile
      return response.text().then(function (html) {
        var found = /name="csrf" value="([^"]+)"/.exec(html);
        return found ? found[1] : null;
      });
    });
  }

  function send(item) {
    return fresh(item).then(function (token) {
      if (token === null) {
        item.state = "login";
        return put(item).then(function () { return "stop"; });
      }
      var body = new URLSearchParams(item.fields);
      body.append("csrf", token);
      body.append("idempotency_key", item.key);
      return fetch(item.path, { method: "POST", body: body, credentials: "same-origin", headers: SCRIPT }).then(function (response) {
        if (new URL(response.url).pathname === "/login") {
          item.state = "login";
          return put(item).then(function () { return "stop"; });
        }
        if (response.ok && response.redirected) { return remove(item.key); } // recorded (303)
        return response.text().then(function (html) { // refused: kept, with the server's words
          item.state = "refused";
          item.reason = reason(html) || String(response.status);
          return put(item);
        });
      });
    });
  }

  var replaying = false;
  function replay() {
    if (replaying || !navigator.onLine) { return Promise.resolve(); }
    replaying = true;
    var sent = 0;
    function next(items) {
      var item = items.shift();
      if (!item) { return null; }
      return send(item).then(function (outcome) {
        sent += 1;
        return outcome === "stop" ? null : next(items);
      });
    }
    var run = function () {
      return all().then(function (items) {
        return next(items.filter(function (item) { return item.state !== "refused"; }));
      });
    };
    // One tab at a time sends (Web Locks where the browser has them): two tabs sending the
    // same key would have the second told it is under way.
    var locked = navigator.locks ? navigator.locks.request("coldchain-outbox", run) : run();
    return locked.catch(function (error) {
      console.warn("queued forms not sent yet", error); // no signal after all: kept, retried later
    }).then(function () {
      replaying = false;
      return show();
    }).then(function () {
      if (sent && keptAt) { location.reload(); } // a copy on screen: show the page as it is now
    });
  }

  window.addEventListener("online", replay);
  window.addEventListener("offline", show);
  // Signing out forgets the pages kept on the phone.
  var logout = document.getElementById("logout");
  if (logout && navigator.serviceWorker && navigator.serviceWorker.controller) {
    logout.form.addEventListener("submit", function () {
      navigator.serviceWorker.controller.postMessage("forget-pages");
    });
  }
  show().then(replay);
  window.coldchainOffline = { replay: replay, show: show };
})();
