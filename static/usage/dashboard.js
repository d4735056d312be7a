// Usage dashboard: fetch the usage API and draw the charts (Chart.js, vendored). No inline JS (CSP).
(function () {
  "use strict";
  var root = document.getElementById("usage-charts");
  if (!root || typeof Chart === "undefined") { return; }
  var api = root.dataset.api;
  var state = { window: "24h", group_by: "key" };
  var labels = { key: "API key", operation: "Endpoint", status_class: "Status class" };
  var palette = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#64748b"];
  var charts = {};

  function fmtBucket(iso, granularity) {
    var d = new Date(iso);
    return granularity === "hour"
      ? d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })
      : d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  }
  function groupName(g) { return state.group_by === "status_class" ? g + "xx" : g; }

  function draw(id, type, data, stacked) {
    if (charts[id]) { charts[id].destroy(); }
    charts[id] = new Chart(document.getElementById(id), {
      type: type,
      data: data,
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  function render(body) {
    var names = {};
    body.breakdown.forEach(function (row) { if (row.label) { names[row.group] = row.label; } });
    var buckets = [], seen = {}, groups = [], byGroup = {}, units = {};
    body.series.forEach(function (p) {
      if (!seen[p.bucket]) { seen[p.bucket] = true; buckets.push(p.bucket); }
      var g = p.group || "all";
      if (!byGroup[g]) { byGroup[g] = {}; groups.push(g); }
      byGroup[g][p.bucket] = p.requests;
      units[p.bucket] = (units[p.bucket] || 0) + p.units;
    });
    var xs = buckets.map(function (b) { return fmtBucket(b, body.granularity); });
    draw("chart-requests", "bar", {
      labels: xs,
      datasets: groups.map(function (g, i) {
        return { label: names[g] || groupName(g), backgroundColor: palette[i % palette.length],
                 data: buckets.map(function (b) { return byGroup[g][b] || 0; }) };
      })
    }, true);
    draw("chart-units", "line", {
      labels: xs,
      datasets: [{ label: "Units", borderColor: "#0ea5e9", backgroundColor: "rgba(14,165,233,.15)", fill: true,
                   data: buckets.map(function (b) { return units[b] || 0; }) }]
    }, false);
    var tbody = document.querySelector("#usage-breakdown tbody");
    tbody.textContent = "";
    document.getElementById("breakdown-label").textContent = labels[state.group_by];
    body.breakdown.forEach(function (row) {
      var tr = document.createElement("tr");
      [row.label || groupName(row.group), row.requests.toLocaleString(), row.units.toLocaleString(), row.errors.toLocaleString(),
       (100 * row.error_rate).toFixed(2) + " %", row.latency_p95_ms === null ? "—" : row.latency_p95_ms + " ms"]
        .forEach(function (text) { var td = document.createElement("td"); td.textContent = text; tr.appendChild(td); });
      tbody.appendChild(tr);
    });
    var t = body.totals;
    document.getElementById("usage-status").textContent = t.requests
      ? t.requests.toLocaleString() + " requests, " + t.units.toLocaleString() + " units, " + t.errors.toLocaleString() +
        " errors in this range · updated " + new Date().toLocaleTimeString()
      : "No requests in this range yet.";
  }

  function load() {
    var url = api + "?window=" + encodeURIComponent(state.window) + "&group_by=" + encodeURIComponent(state.group_by);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(render)
      .catch(function (e) { document.getElementById("usage-status").textContent = "Could not load usage (" + e.message + ")."; });
  }

  root.querySelectorAll("[data-window]").forEach(function (button) {
    button.addEventListener("click", function () {
      state.window = button.dataset.window;
      root.querySelectorAll("[data-window]").forEach(function (b) {
        var on = b === button;
        b.setAttribute("aria-pressed", on ? "true" : "false");
        b.classList.toggle("outline", !on);
      });
      load();
    });
  });
  root.querySelector("select[name=group_by]").addEventListener("change", function (e) { state.group_by = e.target.value; load(); });
  load();
  setInterval(load, 15000); // new requests appear within seconds of the rollup
})();
