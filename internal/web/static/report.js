// The report page's charts: exposure and the treated percentage over time, and each
// metric's difference with its interval, with the decisions marked. The columns
// come as JSON from /rollouts/{id}/report/charts; no inline script (the CSP forbids
// it), everything hangs off data- attributes.
(function () {
  "use strict";

  var axis = { stroke: "#5d6573", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#e2e5ea" }, font: "11px system-ui, sans-serif" };
  var plots = [];

  function marksHook(marks) {
    return function (u) {
      var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
      ctx.save();
      marks.forEach(function (m) {
        var x = u.valToPos(m.t, "x", true);
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
        ctx.strokeStyle = m.tone === "bad" ? "#b3261e" : m.tone === "warn" ? "#b26a00" : "#8a93a3";
        ctx.setLineDash([3, 3]);
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + h);
        ctx.stroke();
      });
      ctx.restore();
    };
  }

  function count(v) {
    if (v == null) return "";
    var a = Math.abs(v);
    if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (a >= 1e3) return (v / 1e3).toFixed(a >= 1e4 ? 0 : 1) + "k";
    return String(Math.round(v));
  }

  function show(holder, key, el) {
    var empty = holder.querySelector('[data-empty="' + CSS.escape(key) + '"]');
    if (empty) empty.hidden = true;
    el.hidden = false;
  }

  function make(el, opts, rows) {
    opts.width = Math.max(200, el.clientWidth || 400);
    var plot = new uPlot(opts, rows, el);
    plots.push({ plot: plot, el: el, height: opts.height });
  }

  function exposure(root, data) {
    var el = root.querySelector('[data-report-chart="exposure"]');
    var e = data.exposure || {};
    if (!el || !e.t || e.t.length < 2) return;
    show(root, "exposure", el);
    make(el, {
      height: 240,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, pct: { range: [0, 100] } },
      axes: [axis,
        Object.assign({}, axis, { size: 56, values: function (u, vals) { return vals.map(count); } }),
        Object.assign({}, axis, { scale: "pct", side: 1, size: 44, grid: { show: false }, values: function (u, vals) { return vals.map(function (v) { return v + "%"; }); } })],
      series: [{},
        { label: "treatment units", stroke: "#3346c8", width: 2, spanGaps: true, points: { show: false } },
        { label: "control units", stroke: "#8a93a3", width: 2, dash: [5, 4], spanGaps: true, points: { show: false } },
        { label: "treated %", scale: "pct", stroke: "#1f7a4d", width: 2, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } }],
      hooks: { draw: [marksHook(data.marks || [])] }
    }, [e.t, e.treatment, e.control, e.percent]);
  }

  function metric(root, m, marks) {
    var el = root.querySelector('[data-report-chart="' + CSS.escape(m.key) + '"]');
    if (!el || !m.t || m.t.length < 2) return;
    show(root, m.key, el);
    var unit = m.unit ? " " + m.unit : "";
    var zero = m.t.map(function () { return 0; });
    make(el, {
      height: 220,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [axis, Object.assign({}, axis, { size: 60, values: function (u, vals) { return vals.map(function (v) { return (+v.toPrecision(3)) + unit; }); } })],
      series: [{},
        { label: "lower", stroke: "rgba(51,70,200,0)", points: { show: false } },
        { label: "upper", stroke: "rgba(51,70,200,0)", points: { show: false } },
        { label: "difference", stroke: "#3346c8", width: 2, points: { show: false } },
        { label: "no difference", stroke: "#8a93a3", width: 1, dash: [2, 3], points: { show: false } }],
      bands: [{ series: [2, 1], fill: "rgba(51,70,200,0.16)" }],
      hooks: { draw: [marksHook(marks)] }
    }, [m.t, m.lower, m.upper, m.diff, zero]);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.querySelector("[data-report-src]");
    if (!root || typeof uPlot === "undefined") return;
    var page = root.closest("main") || document;
    fetch(root.getAttribute("data-report-src"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        exposure(page, data);
        (data.metrics || []).forEach(function (m) { metric(page, m, data.marks || []); });
      })
      .catch(function () { /* the page still shows every figure as text */ });
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(function () {
        plots.forEach(function (p) {
          var w = p.el.clientWidth;
          if (w > 0 && Math.abs(w - p.plot.width) > 1) p.plot.setSize({ width: w, height: p.height });
        });
      }).observe(page);
    }
  });
})();
