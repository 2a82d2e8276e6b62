// The service worker of the installable app (served at /sw.js by server/pages/app.py, so that
// it controls every page). It keeps the app shell (style, scripts, icon) and the last copy of
// the driver's and the producer's pages, so that with no signal the phone still shows the last
// state of the van, marked as a copy with the time it was taken (static/offline.js says its
// age). Always the network first: a copy is only for when the network cannot be reached.
// Forms are not handled here: offline.js queues them in the page (Background Sync is not in
// every browser).
"use strict";

var SHELL = "coldchain-shell-v1";
var PAGES = "coldchain-pages-v1";
var SHELL_FILES = [
  "/static/pages.css",
  "/static/live.js",
  "/static/offline.js",
  "/static/manifest.webmanifest",
  "/static/icon.svg"
];
// The pages kept for offline reading: the driver's and the producer's, and an alert's (the
// driver acknowledges it from there).
var KEPT = /^\/(driver|producer|deliveries|lots|alerts\/\d+)(\/|$)/;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL).then(function (cache) { return cache.addAll(SHELL_FILES); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name !== SHELL && name !== PAGES;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

// Signing out forgets the pages kept (another person may use the phone next).
self.addEventListener("message", function (event) {
  if (event.data === "forget-pages") { event.waitUntil(caches.delete(PAGES)); }
});

// The copy as the page reads it: <html data-offline-copy="<when it was kept, ms>">.
function marked(copy) {
  var at = copy.headers.get("X-Kept-At") || "0";
  return copy.text().then(function (html) {
    return new Response(html.replace("<html ", '<html data-offline-copy="' + at + '" '), {
      headers: { "Content-Type": "text/html; charset=utf-8" }
    });
  });
}

function page(event) {
  var request = event.request;
  return fetch(request).then(function (response) {
    // Only a page as it was shown (not a redirection to the login page, not an error).
    if (response.status === 200 && response.type === "basic") {
      var kept = response.clone();
      event.waitUntil(kept.text().then(function (html) {
        return caches.open(PAGES).then(function (cache) {
          return cache.put(request.url, new Response(html, {
            headers: { "Content-Type": "text/html; charset=utf-8", "X-Kept-At": String(Date.now()) }
          }));
        });
      }));
    }
    return response;
  }, function (unreachable) {
    return caches.open(PAGES).then(function (cache) { return cache.match(request.url); })
      .then(function (copy) {
        if (!copy) { throw unreachable; }
        return marked(copy);
      });
  });
}

function shell(request) {
  return fetch(request).then(function (response) {
    if (response.ok) {
      var fresh = response.clone();
      caches.open(SHELL).then(function (cache) { return cache.put(request, fresh); });
    }
    return response;
  }, function (unreachable) {
    return caches.match(request, { ignoreSearch: true }).then(function (copy) {
      if (!copy) { throw unreachable; }
      return copy;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate" && KEPT.test(url.pathname)) {
    event.respondWith(page(event));
  } else if (SHELL_FILES.indexOf(url.pathname) !== -1) {
    event.respondWith(shell(request));
  }
});
