// Counts deadlines down while the page is open. Only an enhancement: the server wrote the same
// text when it rendered the page. Corrected for the difference between the server's clock and
// this browser's.
(function () {
  "use strict";
  var cells = document.querySelectorAll("[data-deadline]");
  if (!cells.length) { return; }
  var serverNow = Date.parse(document.body.getAttribute("data-now"));
  var offset = isNaN(serverNow) ? 0 : serverNow - Date.now();

  // The same words as hoster_compliance.timeutil.duration_text.
  function duration(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    if (minutes === 0) { return "under 1 min"; }
    var units = [[Math.floor(minutes / 1440), "d"], [Math.floor(minutes % 1440 / 60), "h"],
                 [minutes % 60, "min"]];
    while (units[0][0] === 0) { units.shift(); }
    return units.slice(0, 2).filter(function (u) { return u[0]; })
      .map(function (u) { return u[0] + " " + u[1]; }).join(" ");
  }

  function tick() {
    var now = Date.now() + offset;
    cells.forEach(function (cell) {
      var deadline = Date.parse(cell.getAttribute("data-deadline"));
      var dueSoon = Date.parse(cell.getAttribute("data-due-soon") || "");
      var left = deadline - now;
      var state = left < 0 ? "overdue" : (!isNaN(dueSoon) && now >= dueSoon ? "due-soon" : "open");
      cell.querySelector(".when").textContent = (left < 0 ? "overdue by " : "in ") + duration(left);
      cell.querySelector(".flag").textContent = state === "due-soon" ? "due soon" : "";
      cell.className = "left " + state;
      var row = cell.closest("tr");
      if (row) { row.className = "row-" + state; }
    });
  }
  tick();
  setInterval(tick, 10000);
})();
