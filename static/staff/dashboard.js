/* The staff dashboard: polls /staff/stats.json, keeps a rolling window of snapshots and draws
   uPlot charts from the differences between them (counters are cumulative since the server
   process started). No inline script: the page passes its settings in data- attributes. */
(function () {
  "use strict";

  var body = document.body;
  var STATS_URL = body.dataset.statsUrl;
  var POLL_MS = (parseFloat(body.dataset.pollSeconds) || 5) * 1000;
  var WINDOW_POINTS = parseInt(body.dataset.windowPoints, 10) || 120;
  var LATENCY_WINDOW_S = 60; // percentiles and hit rate are computed over the last minute
  var SOURCES = ["llm", "cache", "pregen", "fallback"];
  var COLOURS = { llm: "#4e79a7", cache: "#59a14f", pregen: "#b07aa1", fallback: "#e15759" };

  var snapshots = [];          // the raw JSON of recent polls, oldest first
  var series = {};             // chart name -> arrays for uPlot: [xs, ys...]
  var charts = {};

  // --- Arithmetic on snapshots -------------------------------------------------------------------

  function delta(now, before) {
    var d = now - before;
    return d < 0 ? now : d; // a counter that went down: the server restarted
  }

  function sum(obj) {
    return Object.keys(obj || {}).reduce(function (total, key) { return total + obj[key]; }, 0);
  }

  function quantile(q, bounds, counts) {
    var total = counts[counts.length - 1] || 0;
    if (total <= 0) return null;
    var rank = q * total, lower = 0, below = 0;
    for (var i = 0; i < counts.length; i++) {
      var upper = i < bounds.length ? bounds[i] : Infinity;
      if (counts[i] >= rank) {
        if (upper === Infinity) return lower;
        var inside = counts[i] - below;
        return lower + (upper - lower) * (inside ? (rank - below) / inside : 1);
      }
      lower = upper;
      below = counts[i];
    }
    return lower;
  }

  function windowQuantile(q, now, before, key) {
    var h = now.latency[key];
    if (!before) return quantile(q, h.bounds, h.counts);
    var old = before.latency[key].counts;
    var counts = h.counts.map(function (c, i) { return delta(c, old[i] || 0); });
    return quantile(q, h.bounds, counts);
  }

  function snapshotAgo(seconds) {
    var now = snapshots[snapshots.length - 1];
    for (var i = snapshots.length - 2; i >= 0; i--) {
      if (now.at - snapshots[i].at >= seconds) return snapshots[i];
    }
    return snapshots.length > 1 ? snapshots[0] : null;
  }

  function point() {
    var now = snapshots[snapshots.length - 1];
    var prev = snapshots.length > 1 ? snapshots[snapshots.length - 2] : null;
    var windowStart = snapshotAgo(LATENCY_WINDOW_S);
    var perMinute = prev ? 60 / Math.max(now.at - prev.at, 0.001) : 0;
    var p = { at: now.at };
    p.ttft50 = windowQuantile(0.5, now, windowStart, "ttft");
    p.ttft95 = windowQuantile(0.95, now, windowStart, "ttft");
    p.reply95 = windowQuantile(0.95, now, windowStart, "reply");
    SOURCES.forEach(function (s) {
      p[s] = prev ? delta(now.sources[s] || 0, prev.sources[s] || 0) * perMinute : null;
    });
    var base = windowStart || { cache: { hits: {}, misses: 0 } };
    var hits = delta(sum(now.cache.hits), sum(base.cache.hits));
    var misses = delta(now.cache.misses, base.cache.misses);
    p.hitRate = hits + misses > 0 ? (100 * hits) / (hits + misses) : null;
    p.errors = prev ? delta(sum(now.errors), sum(prev.errors)) * perMinute : null;
    p.games = now.games.active;
    p.connections = now.games.connections;
    p.queue = now.llm.queue_depth;
    p.inFlight = now.llm.in_flight;
    return p;
  }

  // --- Charts ------------------------------------------------------------------------------------

  var CHARTS = {
    latency: { el: "chart-latency", fields: [["ttft50", "TTFT p50", "#4e79a7"], ["ttft95", "TTFT p95", "#f28e2b"], ["reply95", "Whole reply p95", "#bab0ac"]] },
    sources: { el: "chart-sources", fields: SOURCES.map(function (s) { return [s, s, COLOURS[s]]; }) },
    cache: { el: "chart-cache", fields: [["hitRate", "hit rate %", "#59a14f"]], range: [0, 100] },
    errors: { el: "chart-errors", fields: [["errors", "errors/min", "#e15759"]] },
    games: { el: "chart-games", fields: [["games", "active games", "#edc948"], ["connections", "connections", "#76b7b2"]] },
    queue: { el: "chart-queue", fields: [["queue", "queue depth", "#ff9da7"], ["inFlight", "in flight", "#9c755f"]] }
  };

  function chartWidth(el) {
    return Math.max(280, el.clientWidth || el.parentNode.clientWidth || 400);
  }

  function makeChart(name) {
    var spec = CHARTS[name];
    var el = document.getElementById(spec.el);
    var opts = {
      width: chartWidth(el),
      height: 180,
      series: [{}].concat(spec.fields.map(function (f) {
        return { label: f[1], stroke: f[2], width: 2, spanGaps: false };
      })),
      axes: [{ stroke: "#aaa", grid: { stroke: "#333" } }, { stroke: "#aaa", grid: { stroke: "#333" } }],
      scales: { x: { time: true }, y: spec.range ? { range: spec.range } : { range: function (u, min, max) { return [0, Math.max(max || 0, 1)]; } } },
      legend: { live: true }
    };
    series[name] = [[]].concat(spec.fields.map(function () { return []; }));
    charts[name] = new uPlot(opts, series[name], el);
  }

  function pushPoint(p) {
    Object.keys(CHARTS).forEach(function (name) {
      var data = series[name];
      data[0].push(p.at);
      CHARTS[name].fields.forEach(function (f, i) { data[i + 1].push(p[f[0]] === undefined ? null : p[f[0]]); });
      while (data[0].length > WINDOW_POINTS) data.forEach(function (column) { column.shift(); });
      charts[name].setData(data);
    });
  }

  function resizeCharts() {
    Object.keys(charts).forEach(function (name) {
      var el = document.getElementById(CHARTS[name].el);
      charts[name].setSize({ width: chartWidth(el), height: 180 });
    });
  }

  // --- Tiles and table ---------------------------------------------------------------------------

  function seconds(v) { return v === null || v === undefined ? "–" : v.toFixed(2) + " s"; }
  function percent(v) { return v === null || v === undefined ? "–" : (100 * v).toFixed(0) + " %"; }
  function count(v) { return Math.round(v || 0).toLocaleString(); }

  function setText(id, text) { document.getElementById(id).textContent = text; }

  function renderTiles(s) {
    setText("tile-games", count(s.games.active));
    setText("tile-connections", count(s.games.connections));
    setText("tile-ttft", seconds(s.latency.ttft.p50) + " / " + seconds(s.latency.ttft.p95));
    setText("tile-hit-rate", percent(s.cache.hit_rate));
    setText("tile-queue", count(s.llm.queue_depth) + " / " + count(s.llm.in_flight));
    setText("tile-memory", (s.memory_bytes / 1048576).toFixed(0) + " MiB");
  }

  function cell(row, text, numeric) {
    var td = document.createElement(row.children.length ? "td" : "th");
    if (!row.children.length) td.scope = "row";
    if (numeric) td.className = "num";
    td.textContent = text;
    row.appendChild(td);
  }

  function renderTable(rows) {
    var tbody = document.getElementById("npc-rows");
    tbody.replaceChildren();
    if (!rows.length) {
      var empty = document.createElement("tr");
      var td = document.createElement("td");
      td.colSpan = 7;
      td.className = "empty";
      td.textContent = "No replies yet.";
      empty.appendChild(td);
      tbody.appendChild(empty);
      return;
    }
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      cell(tr, r.npc);
      cell(tr, count(r.replies), true);
      cell(tr, count(r.tokens_in), true);
      cell(tr, count(r.tokens_out), true);
      cell(tr, percent(r.hit_rate), true);
      cell(tr, percent(r.fallback_rate), true);
      cell(tr, count(r.flagged), true);
      if (r.flagged > 0) tr.className = "flagged";
      tbody.appendChild(tr);
    });
  }

  // --- Polling -----------------------------------------------------------------------------------

  function setStatus(state, text) {
    var el = document.getElementById("status");
    el.dataset.state = state;
    el.textContent = text;
  }

  function poll() {
    fetch(STATS_URL, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (response.redirected || response.status === 302 || response.status === 403) {
          throw new Error("signed out: log in again through the admin");
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (s) {
        snapshots.push(s);
        while (snapshots.length > WINDOW_POINTS + 1) snapshots.shift();
        pushPoint(point());
        renderTiles(s);
        renderTable(s.npcs);
        setStatus("ok", "Updated " + new Date(s.at * 1000).toLocaleTimeString());
      })
      .catch(function (error) {
        setStatus("error", "Could not read the numbers (" + error.message + "); trying again.");
      })
      .finally(function () { window.setTimeout(poll, POLL_MS); });
  }

  function start() {
    Object.keys(CHARTS).forEach(makeChart);
    var resizeTimer = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(resizeCharts, 150);
    });
    poll();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
