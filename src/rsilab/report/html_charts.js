/* rsilab report charts: draw a report dict (rsilab.report.html.report_data) with plotly.js.
   Shared by the offline HTML report and the web playground. Re-drawing into the same root
   updates every chart in place (Plotly.react on the same elements). No network access. */
"use strict";
var RsilabCharts = (function () {
  var REGIMES = ["explosion", "combustion", "fizzle", "ceiling"];
  /* the two phases' bars: the legend's swatch is a trace's first bar, so each phase has one colour */
  var PHASE_COLOURS = {early: "#9ecae1", late: "#3f3f3f"};
  /* no "share" button and no server to send a chart to: a report and the playground stay local */
  var CONFIG = {displaylogo: false, responsive: true, showSendToCloud: false, plotlyServerURL: "",
                toImageButtonOptions: {format: "png", width: 900, height: 500, scale: 1}};

  function esc(v) {
    return String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function fmt(v, digits) {
    if (v === null || v === undefined) return "-";
    if (typeof v !== "number") return esc(typeof v === "object" ? JSON.stringify(v) : v);
    if (Number.isInteger(v) && Math.abs(v) < 1e7) return v.toLocaleString("en");
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(digits || 3);
    return v.toFixed(digits || 3);
  }
  function section(root, id, title) {
    var el = document.getElementById(id);
    if (!el) {
      var box = document.createElement("section");
      box.className = "rsi-section";
      box.id = id + "-section";
      box.innerHTML = "<h2>" + esc(title) + "</h2>";
      el = document.createElement("div");
      el.id = id;
      box.appendChild(el);
      root.appendChild(box);
    }
    el.parentNode.style.display = "";
    return el;
  }
  function hide(id) {
    var el = document.getElementById(id + "-section");
    if (el) el.style.display = "none";
  }
  function plot(el, traces, layout) {
    layout = Object.assign({margin: {t: 30, r: 20, b: 50, l: 60}, height: 380, legend: {orientation: "h", y: -0.2}},
                           layout || {});
    /* the PNG is named after its chart (plotly would name it after the title, or "plot-image") */
    var image = Object.assign({}, CONFIG.toImageButtonOptions, {filename: el.id});
    return Plotly.react(el, traces, layout, Object.assign({}, CONFIG, {toImageButtonOptions: image}));
  }
  function table(el, header, rows) {
    var h = "<table class='rsi-table'><thead><tr>" + header.map(function (c) { return "<th>" + esc(c) + "</th>"; }).join("") +
            "</tr></thead><tbody>";
    rows.forEach(function (r) { h += "<tr>" + r.map(function (c) { return "<td>" + c + "</td>"; }).join("") + "</tr>"; });
    el.innerHTML = h + "</tbody></table>";
  }
  function priorText(p) {
    if (!p || typeof p !== "object") return fmt(p);
    var order = ["value", "low", "mode", "high", "mean", "sd", "mu", "sigma", "samples"];
    var keys = Object.keys(p).filter(function (k) { return k !== "dist"; }).sort(function (a, b) {
      return order.indexOf(a) - order.indexOf(b); });
    return esc(p.dist) + " " + keys.map(function (k) {
      return esc(k) + "=" + (Array.isArray(p[k]) ? "[" + p[k].length + " values]" : fmt(p[k], 4));
    }).join(", ");
  }

  function fan(el, f) {
    var t = f.t, q = f.quantiles, traces = [];
    [["5", "95", 0.15], ["10", "90", 0.25], ["25", "75", 0.35]].forEach(function (b) {
      traces.push({x: t, y: q[b[0]], mode: "lines", line: {width: 0}, showlegend: false, hoverinfo: "skip", name: b[0] + "%"});
      traces.push({x: t, y: q[b[1]], mode: "lines", line: {width: 0}, fill: "tonexty",
                   fillcolor: "rgba(68,68,68," + b[2] + ")", name: b[0] + "-" + b[1] + "%"});
    });
    traces.push({x: t, y: q["50"], mode: "lines", line: {color: "black", width: 2}, name: "median"});
    var shapes = (f.multiples_log10 || []).map(function (m) {
      return {type: "line", xref: "paper", x0: 0, x1: 1, y0: m, y1: m, line: {dash: "dot", color: "grey", width: 1}};
    });
    return plot(el, traces, {xaxis: {title: {text: "years"}}, yaxis: {title: {text: "log10 capability / initial"}},
                             shapes: shapes, title: {text: f.rows.toLocaleString("en") + " of " + f.n_samples.toLocaleString("en") +
                             " trajectories; blow-ups drawn at the cap (10^" + Math.round(f.cap_log10) + ")", font: {size: 12}}});
  }
  function regimes(el, byPhase, phase) {
    var traces = ["early", "late"].map(function (ph) {
      var pr = byPhase[ph];
      return {type: "bar", name: ph + (ph === phase ? " (headline)" : ""), x: REGIMES,
              y: REGIMES.map(function (r) { return pr[r].p; }),
              error_y: {type: "data", array: REGIMES.map(function (r) { return 1.96 * pr[r].se; }), visible: true},
              marker: {color: PHASE_COLOURS[ph]}};
    });
    return plot(el, traces, {barmode: "group", yaxis: {title: {text: "probability (95% interval)"}, range: [0, 1]}});
  }
  function cdfs(el, c) {
    var traces = Object.keys(c).map(function (m) {
      return {x: c[m].t, y: c[m].F, mode: "lines", name: "reach " + m, line: {shape: "hv"}};
    });
    return plot(el, traces, {xaxis: {title: {text: "years"}}, yaxis: {title: {text: "fraction of all samples"}, range: [0, 1]}});
  }
  function gridOutputs(el, g) {
    var traces = Object.keys(g.series).map(function (k) { return {x: g.t, y: g.series[k], mode: "lines", name: k}; });
    return plot(el, traces, {xaxis: {title: {text: "years"}}, yaxis: {title: {text: "mean over samples"}}});
  }
  function sobol(el, rows) {
    var names = rows.map(function (r) { return r.parameter; });
    return plot(el, [
      {type: "bar", name: "first order S1", x: names, y: rows.map(function (r) { return r.S1; }),
       error_y: {type: "data", array: rows.map(function (r) { return r.S1_conf; })}},
      {type: "bar", name: "total order ST", x: names, y: rows.map(function (r) { return r.ST; }),
       error_y: {type: "data", array: rows.map(function (r) { return r.ST_conf; })}}
    ], {barmode: "group", yaxis: {title: {text: "Sobol index (95% interval)"}}});
  }
  /* Shapley effects, with Kucherenko's first-order and total indices where the exact estimator gave them */
  function shapley(el, rows) {
    var names = rows.map(function (r) { return r.parameter; });
    var bar = function (name, key) {
      return {type: "bar", name: name, x: names, y: rows.map(function (r) { return r[key]; }),
              error_y: {type: "data", array: rows.map(function (r) { return r[key + "_conf"]; })}};
    };
    var traces = [bar("Shapley effect", "shapley")];
    if (rows.length && rows[0].S1 !== null) traces.push(bar("first order S1", "S1"), bar("total ST", "ST"));
    return plot(el, traces, {barmode: "group", yaxis: {title: {text: "share of the variance (95% interval)"}}});
  }

  function takeoffTable(root, p, s) {
    var tk = s.takeoff;
    if (!tk) return hide(p + "takeoff");
    var q = function (e, digits) { return e && e.median !== null && e.median !== undefined ?
      fmt(e.median, digits) + " [" + fmt(e.p10, digits) + ", " + fmt(e.p90, digits) + "]" : "-"; };
    var rows = [["P(explosive at some point)", fmt(tk.p_explosive) + " ± " + fmt(tk.p_explosive_se, 4)]];
    if (tk.p_explosive > 0) {
      rows.push(["orders of magnitude gained while explosive (median [p10, p90])", q(tk.ooms_while_explosive, 1)]);
      rows.push(["years explosive (median [p10, p90])", q(tk.years_explosive, 2)]);
    }
    Object.keys(tk.compression || {}).forEach(function (k) {
      var c = tk.compression[k]; rows.push(["P(" + esc(c.what) + ")", fmt(c.p)]); });
    var ends = tk.ends || {};
    Object.keys(ends.late_regime_probabilities || {}).forEach(function (k) {
      if (ends.late_regime_probabilities[k] > 0) rows.push(["ends (late regime): " + esc(k) + ": " + esc((ends.means || {})[k]),
                                                            fmt(ends.late_regime_probabilities[k])]); });
    var el = section(root, p + "takeoff", "Takeoff: " + s.scenario + ", " + fmt(s.n_samples) + " samples, " +
                     s.horizon_years + " years, seed " + s.seed);
    table(el, ["outcome", "value"], rows);
    el.insertAdjacentHTML("beforeend", "<p class='note'>explosive: " + esc(tk.explosive_means) + "</p>");
  }
  function summaryTables(root, p, d) {
    var s = d.summary;
    var el = section(root, p + "regime-table", "Regimes (" + esc(s.regime_phase) + " phase headline)");
    var other = s.regime_phase === "late" ? "early" : "late";
    table(el, ["regime", "P (" + s.regime_phase + ")", "± s.e.", "P (" + other + ")"], REGIMES.map(function (r) {
      return [esc(r), fmt(s.regime_probabilities[r]), fmt(s.regime_standard_errors[r], 4),
              fmt(s.regime_probabilities_by_phase[other][r])];
    }));
    el = section(root, p + "threshold-table", "Years to each multiple of initial capability (among samples that reach it)");
    table(el, ["multiple", "reached", "p10", "median", "p90"], Object.keys(s.threshold_times).map(function (m) {
      var e = s.threshold_times[m];
      return [esc(m), fmt(e.fraction_reached), fmt(e.p10, 2), fmt(e.median, 2), fmt(e.p90, 2)];
    }));
    var known = ["model", "model_options", "scenario", "n_samples", "seed", "horizon_years", "regime_phase",
                 "regime_probabilities", "regime_standard_errors", "regime_probabilities_by_phase", "threshold_times",
                 "threshold_times_note", "status_counts", "effective_returns", "timings_seconds", "charts",
                 "returns_prior", "run_id", "takeoff"];
    var outs = Object.keys(s).filter(function (k) {
      return known.indexOf(k) < 0 && s[k] !== null && (typeof s[k] === "number" || (typeof s[k] === "object" && !Array.isArray(s[k])));
    });
    outs.unshift("effective_returns");
    el = section(root, p + "outputs-table", "Model outputs per sample");
    table(el, ["output", "value"], outs.map(function (k) {
      var v = s[k];
      if (typeof v === "number") return [esc(k), fmt(v)];
      return [esc(k), Object.keys(v).map(function (q) { return esc(q) + " " + fmt(v[q]); }).join("; ")];
    }).concat([["status", Object.keys(s.status_counts).filter(function (k) { return s.status_counts[k]; }).map(function (k) {
      return esc(k) + " " + fmt(s.status_counts[k]); }).join(", ")]]));
  }
  function parameters(root, p, d) {
    if (!d.parameters || !d.parameters.length) return hide(p + "params");
    var el = section(root, p + "params", "Scenario: model " + (d.config.model || {}).name + ", parameters and priors");
    table(el, ["parameter", "prior", "unit", "bounds", "meaning"], d.parameters.map(function (r) {
      return [esc(r.name), priorText(r.prior), esc(r.unit), "[" + fmt(r.low, 4) + ", " + fmt(r.high, 4) + "]", esc(r.meaning)];
    }));
  }
  function provenance(root, p, d) {
    var el = section(root, p + "provenance", "Provenance");
    var pr = d.provenance, rows = [["run", esc(d.run.id) + " (" + esc(d.run.kind) + " " + esc(d.run.name) + ")"]];
    Object.keys(pr).forEach(function (k) {
      var v = pr[k];
      rows.push([esc(k), v !== null && typeof v === "object" ? Object.keys(v).map(function (q) {
        return esc(q) + " " + fmt(v[q]); }).join("; ") : fmt(v)]);
    });
    table(el, ["what", "value"], rows);
  }

  function drawForecast(root, p, d) {
    var c = d.charts;
    takeoffTable(root, p, d.summary);
    fan(section(root, p + "fan", "Fan chart: capability over time"), c.fan);
    regimes(section(root, p + "regimes", "Regime probabilities by phase"), c.regimes_by_phase, c.regime_phase);
    cdfs(section(root, p + "cdf", "Time to each threshold (CDF over all samples)"), c.threshold_cdfs);
    if (Object.keys(c.grid_outputs.series).length)
      gridOutputs(section(root, p + "grid", "The model's own outputs over time"), c.grid_outputs);
    else hide(p + "grid");
    summaryTables(root, p, d);
  }
  /* An outcome model (no capability path, no regimes): a table per group of declared metrics,
     the CDF over all samples of each by-horizon metric and each series' bands. */
  function outcomeTables(root, p, s) {
    s.outcome_groups.forEach(function (grp) {
      var g = grp.group, first = grp.metrics[0];
      var el = section(root, p + "outcome-" + g, g.replace(/_/g, " ") + ": " + first.quantity.replace(/_/g, " ") +
                       " (" + first.unit + "), " + fmt(s.n_samples) + " samples, horizon " + s.horizon_years + ", seed " + s.seed);
      var header = ["", "p10", "median", "p90"];
      if (first.by_horizon) header.splice(1, 0, "reached");
      /* a calendar year to 0.1 year (the models' grid), without a thousands separator */
      var number = first.unit === "calendar year" ? function (v) { return v.toFixed(1); } : fmt;
      var shown = function (v) { return v === null ? "beyond horizon" : number(v); };
      table(el, header, grp.metrics.map(function (m) {
        var e = s[g][m.name], q = e[m.quantity];
        var row = [esc(m.name), shown(q.p10), shown(q.median), shown(q.p90)];
        if (m.by_horizon) row.splice(1, 0, fmt(e.fraction_reached));
        return row;
      }));
    });
    var note = section(root, p + "outcome-notes", "How to read these");
    note.innerHTML = "<p class='note'>quantiles: " + esc(s.quantiles_note) + ".</p><p class='note'>regimes: " +
                     esc(s.regimes) + ".</p>";
  }
  /* times from the start on a log axis; calendar years (a model with a time origin) on a linear one */
  function metricCdfs(el, cdfs, calendar) {
    var traces = cdfs.map(function (c) { return {x: c.t, y: c.F, mode: "lines", name: c.name, line: {shape: "hv"}}; });
    var title = cdfs.length ? cdfs[0].quantity.replace(/_/g, " ") + " (" + cdfs[0].unit + (calendar ? ")" : ", log scale)") : "";
    return plot(el, traces, {xaxis: {title: {text: title}, type: calendar ? "linear" : "log"},
                             yaxis: {title: {text: "fraction of all samples"}, range: [0, 1]}});
  }
  function seriesBands(el, t, sr, rows, calendar) {
    var q = sr.quantiles, traces = [];
    [["10", "90", 0.2], ["25", "75", 0.35]].forEach(function (b) {
      traces.push({x: t, y: q[b[0]], mode: "lines", line: {width: 0}, showlegend: false, hoverinfo: "skip", name: b[0] + "%"});
      traces.push({x: t, y: q[b[1]], mode: "lines", line: {width: 0}, fill: "tonexty",
                   fillcolor: "rgba(68,68,68," + b[2] + ")", name: b[0] + "-" + b[1] + "%"});
    });
    traces.push({x: t, y: q["50"], mode: "lines", line: {color: "black", width: 2}, name: "median"});
    return plot(el, traces, {xaxis: {title: {text: calendar ? "year" : "years"}}, yaxis: {title: {text: sr.unit}, type: sr.log_scale ? "log" : "linear"},
                             title: {text: esc(sr.meaning) + " (" + rows.toLocaleString("en") + " samples)", font: {size: 12}}});
  }
  function drawOutcome(root, p, d) {
    var c = d.charts;
    outcomeTables(root, p, d.summary);
    if (c.metric_cdfs.length)
      metricCdfs(section(root, p + "metric-cdf", "When each event arrives (CDF over all samples; not reached within the horizon: never counted)"),
                 c.metric_cdfs, c.calendar);
    (c.series.order || Object.keys(c.series.by_name)).forEach(function (n) {
      seriesBands(section(root, p + "series-" + n, n.replace(/_/g, " ") + " over time"), c.series.t, c.series.by_name[n],
                  c.series.rows, c.calendar);
    });
  }
  function drawExperiment(root, p, d) {
    var c = d.charts;
    plot(section(root, p + "capability", "Capability per round"),
         [{x: c.rounds, y: c.capability, mode: "lines+markers", name: "capability"}],
         {xaxis: {title: {text: "round"}}, yaxis: {title: {text: "capability"}}});
    if (c.accuracy_by_difficulty) {
      plot(section(root, p + "accuracy", "Accuracy per difficulty, per round"), c.accuracy_by_difficulty.map(function (r) {
        return {x: r.difficulty, y: r.accuracy, mode: "lines+markers", name: "round " + r.round};
      }), {xaxis: {title: {text: "difficulty"}}, yaxis: {title: {text: "held-out accuracy"}, range: [0, 1.05]}});
    }
    if (c.label_precision) {
      plot(section(root, p + "precision", "Label precision per round"),
           [{x: c.rounds, y: c.label_precision, mode: "lines+markers", name: "label precision"}],
           {xaxis: {title: {text: "round"}}, yaxis: {title: {text: "precision of kept labels"}, range: [0, 1.05]}});
    }
  }
  function drawFit(root, p, d) {
    var c = d.charts;
    if (c.levels) {
      var lv = c.levels, tl = [{x: lv.round, y: lv.data, mode: "markers", name: "data: capability per round"}];
      tl.push({x: lv.round, y: lv.band[0], mode: "lines", line: {width: 0}, showlegend: false});
      tl.push({x: lv.round, y: lv.band[1], mode: "lines", line: {width: 0}, fill: "tonexty",
               fillcolor: "rgba(214,39,40,0.2)", name: "band (k's interval)"});
      tl.push({x: lv.round, y: lv.fit, mode: "lines", name: "fit: geometric gains at k's median", line: {color: "#d62728"}});
      plot(section(root, p + "fit", "Data, fit and band"), tl, {xaxis: {title: {text: "round"}}, yaxis: {title: {text: "capability"}}});
    } else if (c.gains) {
      var tr = [{x: c.gains.round, y: c.gains.gain, mode: "markers", name: "data: gain per round"}];
      if (c.gains.band) {
        tr.push({x: c.gains.round, y: c.gains.band[0], mode: "lines", line: {width: 0}, showlegend: false});
        tr.push({x: c.gains.round, y: c.gains.band[1], mode: "lines", line: {width: 0}, fill: "tonexty",
                 fillcolor: "rgba(214,39,40,0.2)", name: "band (k interval)"});
      }
      if (c.gains.fit) tr.push({x: c.gains.round, y: c.gains.fit, mode: "lines", name: "fit: g0 k^i", line: {color: "#d62728"}});
      plot(section(root, p + "fit", "Data, fit and band"), tr, {xaxis: {title: {text: "round"}}, yaxis: {title: {text: "capability gain"}}});
    } else if (c.extrapolation) {
      var e = c.extrapolation, t2 = [{x: e.x, y: e.y_true, mode: "markers", name: "held-out data"},
                                     {x: e.x, y: e.y_pred, mode: "lines+markers", name: "fit"}];
      if (e.interval) {
        t2.push({x: e.x, y: e.interval[0], mode: "lines", line: {width: 0}, showlegend: false});
        t2.push({x: e.x, y: e.interval[1], mode: "lines", line: {width: 0}, fill: "tonexty", name: "band"});
      }
      plot(section(root, p + "fit", "Data, fit and band (held-out points)"), t2, {xaxis: {type: "log"}, yaxis: {type: "log"}});
    }
    if (c.missing && c.missing.length) section(root, p + "missing", "Not in the store").innerHTML = c.missing.map(esc).join("<br>");
    var el = section(root, p + "fit-params", "Fitted values");
    table(el, ["quantity", "value"], Object.keys(c.parameters || {}).map(function (k) { return [esc(k), fmt(c.parameters[k])]; }));
  }

  /* Draw report dict d into element root; prefix p keeps two drawings on one page apart (A/B). */
  function draw(root, d, p) {
    p = p || "rsi-";
    /* a section of an earlier drawing that this one does not draw (another kind of run) goes away */
    Array.prototype.forEach.call(root.querySelectorAll(".rsi-section"), function (el) { el.style.display = "none"; });
    if (d.kind === "forecast") drawForecast(root, p, d);
    else if (d.kind === "outcome") drawOutcome(root, p, d);
    else if (d.kind === "sensitivity") {
      var s = d.summary;
      if (d.charts.shapley) shapley(section(root, p + "shapley", "Shapley effects of " + s.output + " (method: shapley, " +
                                            s.estimator + " estimator)"), d.charts.shapley);
      else sobol(section(root, p + "sobol", "Sobol indices of " + s.output + " (method: sobol" +
                         (s.correlations_ignored ? "; the scenario's correlations are not applied)" : ")")), d.charts.sobol);
    } else if (d.kind === "experiment") drawExperiment(root, p, d);
    else if (d.kind === "fit") drawFit(root, p, d);
    if (d.kind === "forecast" || d.kind === "outcome" || d.kind === "sensitivity") parameters(root, p, d);
    provenance(root, p, d);
  }
  return {draw: draw, plot: plot, fmt: fmt, esc: esc, priorText: priorText};
})();
