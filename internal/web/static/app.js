// ramp dashboard behaviour. No inline scripts (the Content-Security-Policy forbids
// them): everything hangs off data- attributes, so pages work without this file and
// get better with it.
(function () {
  "use strict";

  // The environment switcher keeps the current section.
  document.addEventListener("change", function (ev) {
    var sel = ev.target;
    if (!(sel instanceof HTMLSelectElement) || sel.id !== "env-select" || !sel.value) return;
    var nav = sel.getAttribute("data-nav");
    var section = ["flags", "rollouts", "segments"].indexOf(nav) >= 0 ? nav : "flags";
    window.location.assign("/env/" + encodeURIComponent(sel.value) + "/" + section);
  });

  document.addEventListener("click", function (ev) {
    var t = ev.target instanceof Element ? ev.target : null;
    if (!t) return;

    // Dismiss a notice.
    var dismiss = t.closest("[data-dismiss]");
    if (dismiss) {
      var toast = document.getElementById("toast");
      if (toast) toast.textContent = "";
      return;
    }

    // Jump to the line a validation problem points at.
    var go = t.closest("[data-goto-line]");
    if (go) {
      selectLine(document.getElementById("doc"), parseInt(go.getAttribute("data-goto-line"), 10));
      return;
    }

    // Open and close confirmation dialogs.
    var opener = t.closest("[data-open-dialog]");
    if (opener) {
      var dlg = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dlg && typeof dlg.showModal === "function") {
        ev.preventDefault();
        dlg.showModal();
        var first = dlg.querySelector("textarea, input:not([type=hidden])");
        if (first) first.focus();
      }
      return;
    }
    var closer = t.closest("[data-close-dialog]");
    if (closer) {
      var d = closer.closest("dialog");
      if (d) d.close();
    }
  });

  // A successful action inside a dialog closes it.
  document.addEventListener("htmx:afterRequest", function (ev) {
    var elt = ev.detail && ev.detail.elt;
    var xhr = ev.detail && ev.detail.xhr;
    if (!elt || !xhr || xhr.status >= 400) return;
    var d = elt.closest && elt.closest("dialog");
    if (d && d.open) {
      d.close();
      var f = d.querySelector("form");
      if (f) f.reset();
    }
  });

  function selectLine(area, line) {
    if (!area || !line) return;
    var text = area.value, start = 0;
    for (var i = 1; i < line; i++) {
      var nl = text.indexOf("\n", start);
      if (nl < 0) break;
      start = nl + 1;
    }
    var end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    area.focus();
    area.setSelectionRange(start, end);
    // Scroll the line into view: the textarea's line height is fixed.
    var lh = parseFloat(getComputedStyle(area).lineHeight) || 20;
    area.scrollTop = Math.max(0, (line - 4) * lh);
    showPos(area);
  }

  // The gutter numbers the lines and keeps the server's marks on the lines the
  // problems point at; it follows the textarea's scrolling.
  function lineNumbers(area, gutter) {
    if (!gutter) return;
    var marks = {};
    gutter.querySelectorAll(".err").forEach(function (e) { marks[e.textContent] = e.title; });
    var render = function () {
      var n = Math.max(area.value.split("\n").length, area.rows);
      var frag = document.createDocumentFragment();
      for (var i = 1; i <= n; i++) {
        if (marks[i]) {
          var s = document.createElement("span");
          s.className = "err";
          s.title = marks[i];
          s.textContent = String(i);
          frag.appendChild(s);
          frag.appendChild(document.createTextNode("\n"));
        } else {
          frag.appendChild(document.createTextNode(i + "\n"));
        }
      }
      gutter.textContent = "";
      gutter.appendChild(frag);
      gutter.scrollTop = area.scrollTop;
    };
    area.addEventListener("input", render);
    area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
    gutter.scrollTop = area.scrollTop;
  }

  function showPos(area) {
    var out = document.getElementById("doc-pos");
    if (!out || !area) return;
    var before = area.value.slice(0, area.selectionStart);
    var line = before.split("\n").length;
    var col = before.length - before.lastIndexOf("\n");
    out.textContent = "line " + line + ", column " + col;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var area = document.getElementById("doc");
    if (area) {
      ["keyup", "click", "focus"].forEach(function (e) { area.addEventListener(e, function () { showPos(area); }); });
      var first = parseInt(area.getAttribute("data-first-line") || "0", 10);
      if (first > 0) selectLine(area, first);
      lineNumbers(area, document.querySelector("[data-gutter]"));
    }
    initCharts(document);
  });

  // --- charts: treatment vs control per metric, with the treatment's confidence
  // band, refreshed in place. The series come as JSON from the dashboard.
  var charts = [];

  function initCharts(root) {
    var holder = root.querySelector("[data-series-src]");
    if (!holder || typeof uPlot === "undefined") return;
    var src = holder.getAttribute("data-series-src");
    var every = parseInt(holder.getAttribute("data-every") || "5", 10) * 1000;
    var load = function () {
      fetch(src, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) draw(holder, data); })
        .catch(function () { /* the next poll retries */ });
    };
    load();
    setInterval(load, every);
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(function () {
        charts.forEach(function (c) { fit(c); });
      }).observe(holder);
    }
  }

  function fit(c) {
    var w = c.el.clientWidth;
    if (w > 0 && Math.abs(w - c.plot.width) > 1) c.plot.setSize({ width: w, height: c.height });
  }

  function draw(holder, data) {
    (data.metrics || []).forEach(function (m) {
      var box = holder.querySelector('[data-chart="' + CSS.escape(m.key) + '"]');
      if (!box) return;
      var empty = box.querySelector(".chart-empty");
      var plotEl = box.querySelector(".chart");
      var est = box.querySelector("[data-estimate]");
      if (est && m.estimate) est.textContent = m.estimate;
      var status = box.querySelector("[data-status]");
      if (status && m.status) {
        status.className = "pill tone-" + m.tone;
        status.lastChild.textContent = m.status_label || m.status;
      }
      var pts = m.t || [];
      if (pts.length < 2) {
        if (empty) empty.hidden = false;
        if (plotEl) plotEl.hidden = true;
        return;
      }
      if (empty) empty.hidden = true;
      plotEl.hidden = false;
      var rows = [m.t, m.lower, m.upper, m.treatment, m.control, m.tolerance];
      var existing = charts.find(function (c) { return c.key === m.key; });
      if (existing) {
        existing.plot.setData(rows);
        return;
      }
      var height = 220;
      var opts = {
        width: Math.max(200, plotEl.clientWidth || 400),
        height: height,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        axes: [
          { stroke: "#5d6573", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#e2e5ea" }, font: "11px system-ui, sans-serif" },
          { stroke: "#5d6573", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#e2e5ea" }, font: "11px system-ui, sans-serif", size: 56,
            values: function (u, vals) { return vals.map(function (v) { return fmt(v, m.unit); }); } }
        ],
        series: [
          {},
          { label: "band low", stroke: "rgba(51,70,200,0)", points: { show: false } },
          { label: "band high", stroke: "rgba(51,70,200,0)", points: { show: false } },
          { label: "treatment", stroke: "#3346c8", width: 2, points: { show: false } },
          { label: "control", stroke: "#8a93a3", width: 2, dash: [5, 4], points: { show: false } },
          { label: "tolerance", stroke: "#b3261e", width: 1, dash: [2, 3], points: { show: false } }
        ],
        bands: [{ series: [2, 1], fill: "rgba(51,70,200,0.16)" }]
      };
      var plot = new uPlot(opts, rows, plotEl);
      var c = { key: m.key, plot: plot, el: plotEl, height: height };
      charts.push(c);
    });
  }

  function fmt(v, unit) {
    if (v == null) return "";
    var a = Math.abs(v);
    if (unit === "%") return (v * 100).toFixed(a < 0.01 ? 2 : 1) + "%";
    if (a >= 1000) return (v / 1000).toFixed(1) + "k";
    if (a >= 10) return v.toFixed(0);
    if (a >= 1) return v.toFixed(2);
    return v.toPrecision(2);
  }
})();
