// Live alarm summary: re-render the view whenever the server announces an alarm event (server-sent events),
// and every 30 s so "active for" stays true. Forms keep working without this script.
(function () {
  "use strict";
  var view = document.getElementById("view");
  var live = document.getElementById("live");
  if (!view || !window.EventSource) { return; }
  var pending = null;

  function refresh() {
    pending = null;
    var url = window.location.pathname + "?fragment=1";
    fetch(url, { credentials: "same-origin", cache: "no-store", redirect: "manual" }).then(function (response) {
      if (response.type === "opaqueredirect" || response.status === 401 || response.status === 303) {
        window.location.reload();
        return null;
      }
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html === null || html === undefined) { return; }
      var open = Array.prototype.map.call(view.querySelectorAll("details[open]"), function (d) {
        return d.closest("tr") ? d.closest("tr").getAttribute("data-key") : null;
      });
      var focused = document.activeElement && view.contains(document.activeElement) && document.activeElement.name === "comment";
      if (focused) { pending = window.setTimeout(refresh, 1000); return; }
      view.innerHTML = html;
      open.forEach(function (key) {
        var row = key && view.querySelector('tr[data-key="' + CSS.escape(key) + '"] details');
        if (row) { row.open = true; }
      });
    }).catch(function () { /* the next event or tick retries */ });
  }

  function soon() {
    if (pending === null) { pending = window.setTimeout(refresh, 50); }
  }

  var source = new EventSource(view.getAttribute("data-events") || "/console/events");
  source.addEventListener("alarm", soon);
  source.onopen = function () { live.textContent = live.getAttribute("data-live"); live.classList.remove("down"); soon(); };
  source.onerror = function () { live.textContent = live.getAttribute("data-reconnecting"); live.classList.add("down"); };
  window.setInterval(soon, 30000);
})();
