// Live alerts: the alert worker's per-user stream (/api/v1/alerts/stream, session cookie),
// each new alert inserted as a banner at the top of the page, without reloading.
(function () {
  "use strict";
  var box = document.getElementById("live-alerts");
  if (!box || !window.EventSource) { return; }
  var source = new EventSource("/api/v1/alerts/stream");
  source.addEventListener("alert", function (event) {
    var item = JSON.parse(event.data);
    if (item.kind !== "opened" && item.kind !== "escalated") { return; }
    var alert = item.alert;
    if (document.querySelector('[data-live-alert="' + alert.id + '"]')) { return; }
    var banner = document.createElement("div");
    banner.className = "banner";
    banner.setAttribute("role", "alert");
    banner.setAttribute("data-live-alert", String(alert.id));
    var title = document.createElement("strong");
    title.textContent = "✖ " + box.getAttribute("data-new") + " — ";
    var text = document.createElement("span");
    text.textContent = box.getAttribute("data-lang") === "en" ? alert.text_en : alert.text_fr;
    var link = document.createElement("a");
    link.className = "button";
    link.href = "/alerts/" + alert.id;
    link.textContent = box.getAttribute("data-see");
    banner.appendChild(title);
    banner.appendChild(text);
    banner.appendChild(document.createTextNode(" "));
    banner.appendChild(link);
    box.insertBefore(banner, box.firstChild);
  });
})();
