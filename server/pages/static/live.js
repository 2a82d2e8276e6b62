// Live alerts: the alert worker's per-user stream (/api/v1/alerts/stream, session cookie).
// A new or escalated alert is inserted as a banner at the top of the page, and every event
// also updates the page's alerts list (templates/_alerts.html): a new row, the severity
// after an escalation, the state once acknowledged, acted on or closed. No reload.
(function () {
  "use strict";
  var box = document.getElementById("live-alerts");
  if (!box || !window.EventSource) { return; }
  var lang = box.getAttribute("data-lang");

  function banner(alert) {
    if (document.querySelector('[data-live-alert="' + alert.id + '"]')) { return; }
    var div = document.createElement("div");
    div.className = "banner";
    div.setAttribute("role", "alert");
    div.setAttribute("data-live-alert", String(alert.id));
    var title = document.createElement("strong");
    title.textContent = "✖ " + box.getAttribute("data-new") + " — ";
    var text = document.createElement("span");
    text.textContent = lang === "en" ? alert.text_en : alert.text_fr;
    div.appendChild(title);
    div.appendChild(text);
    div.appendChild(document.createTextNode(" "));
    div.appendChild(seeLink(alert, box.getAttribute("data-see")));
    box.insertBefore(div, box.firstChild);
  }

  function seeLink(alert, word) {
    var link = document.createElement("a");
    link.className = "button";
    link.href = "/alerts/" + alert.id;
    link.textContent = word;
    return link;
  }

  // Times as the server shows them: Europe/Brussels, « 10/03/2026 07:05 » or « 2026-03-10 07:05 ».
  function brussels(iso) {
    if (!/([zZ]|[+-]\d\d:?\d\d)$/.test(iso)) { iso += "Z"; } // stored times are UTC
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: "Europe/Brussels", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).formatToParts(new Date(iso)).forEach(function (p) { parts[p.type] = p.value; });
    var time = parts.hour + ":" + parts.minute;
    return lang === "en"
      ? parts.year + "-" + parts.month + "-" + parts.day + " " + time
      : parts.day + "/" + parts.month + "/" + parts.year + " " + time;
  }

  function celsius(value) {
    var text = value.toFixed(1);
    return (lang === "en" ? text : text.replace(".", ",")) + " °C";
  }

  function part(row, name) {
    var found = row.querySelector("." + name);
    if (!found) {
      found = document.createElement(name === "alert-severity" ? "strong" : "span");
      found.className = name;
    }
    return found;
  }

  // Fill a row from the stream's alert summary (server/alerting/outbox.py `summary`).
  function fill(row, alert, words) {
    row.className = "alert sev-" + alert.severity + " state-" + alert.state;
    row.setAttribute("data-start", alert.start_at);
    part(row, "alert-severity").textContent =
      (alert.severity === "critical" ? "✖ " : "▲ ") + (words[alert.severity] || alert.severity);
    part(row, "alert-text").textContent = lang === "en" ? alert.text_en : alert.text_fr;
    part(row, "alert-state").textContent = words[alert.state] || alert.state;
    part(row, "alert-peak").textContent =
      alert.peak === null || alert.peak === undefined
        ? "" : " · " + words.peak + " " + celsius(alert.peak);
    part(row, "alert-late").textContent = alert.detected_late ? " · ⏱ " + words.late : "";
  }

  function newRow(alert, words) {
    var row = document.createElement("li");
    row.setAttribute("data-alert-id", String(alert.id));
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.appendChild(document.createTextNode(
      words.start + " " + brussels(alert.start_at) + " · " + words.state + " : "));
    meta.appendChild(part(row, "alert-state"));
    meta.appendChild(part(row, "alert-peak"));
    meta.appendChild(part(row, "alert-late"));
    row.appendChild(part(row, "alert-severity"));
    row.appendChild(document.createTextNode(" — "));
    row.appendChild(part(row, "alert-text"));
    row.appendChild(document.createTextNode(" "));
    row.appendChild(meta);
    row.appendChild(seeLink(alert, words.see));
    return row;
  }

  function updateList(list, alert) {
    var words = JSON.parse(list.getAttribute("data-words"));
    var ul = list.querySelector("ul.alerts");
    var row = ul.querySelector('[data-alert-id="' + alert.id + '"]');
    if (!row) {
      if (alert.state === "closed") { return; } // closed before we heard of it: nothing to do
      row = newRow(alert, words);
      var start = Date.parse(alert.start_at);
      var before = null; // newest first, as the server lists them
      Array.prototype.some.call(ul.children, function (other) {
        if (Date.parse(other.getAttribute("data-start")) <= start) { before = other; return true; }
        return false;
      });
      ul.insertBefore(row, before);
      ul.hidden = false;
      var empty = list.querySelector(".no-alert");
      if (empty) { empty.hidden = true; }
    }
    fill(row, alert, words);
    row.setAttribute("data-live-updated", String(Date.now()));
  }

  var source = new EventSource("/api/v1/alerts/stream");
  source.addEventListener("alert", function (event) {
    var item = JSON.parse(event.data);
    if (item.kind === "opened" || item.kind === "escalated") { banner(item.alert); }
    Array.prototype.forEach.call(document.querySelectorAll(".alert-list"), function (list) {
      updateList(list, item.alert);
    });
  });
})();
