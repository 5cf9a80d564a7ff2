// The live bestseller panel: listens to /events/bestsellers (server-sent events) and
// re-renders the list in #bestseller-panel from each "bestsellers" event, a JSON array of
// {rank, id, name, price, units}. Text goes in with textContent, never as HTML.
(function () {
  "use strict";
  var panel = document.getElementById("bestseller-panel");
  if (!panel || !window.EventSource) {
    return;
  }
  function render(rows) {
    if (!rows || rows.length === 0) {
      var empty = document.createElement("p");
      empty.className = "muted";
      empty.textContent = "No orders yet.";
      panel.replaceChildren(empty);
      return;
    }
    var list = document.createElement("ol");
    list.className = "bestsellers";
    rows.forEach(function (row) {
      var li = document.createElement("li");
      li.value = row.rank;
      var a = document.createElement("a");
      a.href = "/products/" + encodeURIComponent(row.id);
      a.textContent = row.name;
      var note = document.createElement("span");
      note.className = "muted";
      note.textContent = row.units.toLocaleString("en-GB") + " sold · " + row.price;
      li.append(a, " ", note);
      list.append(li);
    });
    panel.replaceChildren(list);
  }
  var source = new EventSource(panel.dataset.events);
  source.addEventListener("bestsellers", function (e) {
    try {
      render(JSON.parse(e.data));
    } catch (err) {
      // A malformed event leaves the panel as it was.
    }
  });
})();
