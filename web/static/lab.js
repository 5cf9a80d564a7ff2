// The Lab's live parts: each element with a data-events attribute follows that server-sent
// event stream and swaps in the HTML fragment each event carries (rendered by the server:
// the charts are SVG). Without JavaScript the page is a snapshot of the same HTML.
(function () {
  "use strict";
  if (!window.EventSource) return;
  document.querySelectorAll("[data-events]").forEach(function (el) {
    var source = new EventSource(el.getAttribute("data-events"));
    var swap = function (ev) {
      // Keep open the <details> a reader opened (a data table, the log).
      var open = Array.prototype.map.call(el.querySelectorAll("details[open] > summary"), function (s) { return s.textContent; });
      el.innerHTML = ev.data;
      el.querySelectorAll("details > summary").forEach(function (s) {
        if (open.indexOf(s.textContent) >= 0) s.parentNode.open = true;
      });
      el.setAttribute("data-updated", String(Date.now()));
    };
    source.addEventListener("dashboard", swap);
    source.addEventListener("run", swap);
  });
})();
