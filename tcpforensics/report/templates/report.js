{% raw %}
(function () {
  "use strict";
  // Chart specs travel as JSON in a non-executable block; parse, never eval.
  var figs = {};
  try {
    figs = JSON.parse(document.getElementById("report-figures").textContent || "{}");
  } catch (e) {
    figs = {};
  }
  var config = { responsive: true, displaylogo: false,
                 modeBarButtonsToRemove: ["select2d", "lasso2d"] };

  function draw(el) {
    if (el.getAttribute("data-drawn")) { return; }
    el.setAttribute("data-drawn", "1");
    el.classList.remove("pending");
    var spec = figs[el.getAttribute("data-fig")];
    if (!spec) { el.textContent = "(no data for this chart)"; return; }
    if (typeof window.Plotly === "undefined") {
      var msg = document.createElement("div");
      msg.className = "chart-error";
      msg.textContent = "Charts need plotly.js, which could not be loaded (this report " +
        "loads it from the network; re-create it with --plotly inline to view offline).";
      el.appendChild(msg);
      return;
    }
    window.Plotly.newPlot(el, spec.data, spec.layout, config);
  }

  var charts = Array.prototype.slice.call(document.querySelectorAll("div.chart[data-fig]"));
  charts.forEach(function (el) { el.classList.add("pending"); });
  // Charts are drawn one per task, so the page stays responsive while they render.
  var queue = [];
  var pumping = false;
  function pump() {
    var el = queue.shift();
    if (!el) { pumping = false; return; }
    draw(el);
    setTimeout(pump, 0);
  }
  function enqueue(el) {
    queue.push(el);
    if (!pumping) { pumping = true; setTimeout(pump, 0); }
  }
  // Draw charts as they come near the viewport, so a long report opens at once.
  if ("IntersectionObserver" in window) {
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (en) {
        if (en.isIntersecting) { io.unobserve(en.target); enqueue(en.target); }
      });
    }, { rootMargin: "600px 0px" });
    charts.forEach(function (el) { io.observe(el); });
  } else {
    charts.forEach(enqueue);
  }
  window.tcpforensicsDrawAll = function () { charts.forEach(draw); };

  // A link into a collapsed <details> (a grouped finding) opens it first.
  function revealHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id ? document.getElementById(id) : null;
    if (!el) { return; }
    for (var p = el; p; p = p.parentElement) {
      if (p.tagName === "DETAILS") { p.open = true; }
    }
    el.scrollIntoView();
  }
  window.addEventListener("hashchange", revealHash);
  if (location.hash) { revealHash(); }

  // ---- flow table: sort by clicking a header, filter by text and severity ----------
  var table = document.getElementById("flow-table");
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var filter = document.getElementById("flow-filter");
  var problems = document.getElementById("flow-problems");
  var count = document.getElementById("flow-count");
  var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });

  function applyFilter() {
    var q = (filter.value || "").toLowerCase().trim().split(/\s+/).filter(Boolean);
    var only = problems.checked;
    var shown = 0;
    rows.forEach(function (r, i) {
      var ok = q.every(function (w) { return texts[i].indexOf(w) >= 0; });
      if (ok && only) { ok = r.getAttribute("data-sev") !== "none"; }
      r.style.display = ok ? "" : "none";
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " flows shown";
  }
  filter.addEventListener("input", applyFilter);
  problems.addEventListener("change", applyFilter);
  applyFilter();

  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  heads.forEach(function (th, col) {
    th.addEventListener("click", function () {
      var numeric = !!th.getAttribute("data-type");
      var asc = !th.classList.contains("asc");
      heads.forEach(function (h) { h.classList.remove("asc", "desc"); });
      th.classList.add(asc ? "asc" : "desc");
      var keyed = rows.map(function (r, i) {
        var cell = r.cells[col];
        var v = cell.getAttribute("data-v");
        return { r: r, i: i, k: numeric ? parseFloat(v === null ? cell.textContent : v) || 0
                                        : cell.textContent.trim().toLowerCase() };
      });
      keyed.sort(function (a, b) {
        var c = a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i;
        return asc ? c : -c;
      });
      var frag = document.createDocumentFragment();
      keyed.forEach(function (x) { frag.appendChild(x.r); });
      tbody.appendChild(frag);
    });
  });
})();
{% endraw %}
