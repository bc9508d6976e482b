/* rsilab playground: edit a scenario, let the engine validate it, run it, compare two runs.
   Every check is the engine's (POST /api/validate); the page only shows its messages. Run and
   the links stay disabled until there is something to run or to link to. */
"use strict";
(function () {
  var state = {name: null, scenario: null, parameters: [], distributions: {}, valid: false, last: null, kept: {},
               fileName: null};
  var $ = function (id) { return document.getElementById(id); };
  var esc = RsilabCharts.esc, fmt = RsilabCharts.fmt;
  var validateTimer = null, validation = null;

  function api(path, body) {
    var opts = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
    return fetch(path, opts).then(function (r) {
      return r.json().then(function (j) { return {ok: r.ok, status: r.status, body: j}; });
    });
  }
  function request() { return {name: state.name, scenario: state.scenario}; }

  /* -- the editor ------------------------------------------------------------------------ */
  function defaultsFor(dist, p, prior) {
    var num = function (v) { return typeof v === "number" && isFinite(v) ? v : null; };
    var lo = num(p.low), hi = num(p.high), def = num(p.default) !== null ? p.default : (lo !== null ? lo : 1);
    var cur = {};
    Object.keys(prior || {}).forEach(function (k) { if (k === "dist" || num(prior[k]) !== null) cur[k] = prior[k]; });
    var a = cur.low !== undefined ? cur.low : (cur.value !== undefined ? cur.value : (lo !== null ? lo : 0));
    var b = cur.high !== undefined ? cur.high : (cur.value !== undefined ? cur.value * 2 || 1 : (hi !== null ? hi : a + 1));
    if (dist === "fixed") return {dist: "fixed", value: cur.value !== undefined ? cur.value : def};
    if (dist === "uniform") return {dist: dist, low: a, high: b};
    if (dist === "loguniform") return {dist: dist, low: a > 0 ? a : (b > 0 ? b / 10 : 1), high: b > 0 ? b : 10};
    if (dist === "triangular") return {dist: dist, low: a, mode: (a + b) / 2, high: b};
    if (dist === "split_loguniform") return {dist: dist, low: a, median: cur.median !== undefined ? cur.median :
                                             (def > Math.min(a, b) && def < Math.max(a, b) ? def : (a + b) / 2), high: b};
    if (dist === "normal") { var spec = {dist: dist, mean: def, sd: Math.abs(b - a) / 4 || 1};
      if (lo !== null) spec.low = lo; if (hi !== null) spec.high = hi; return spec; }
    if (dist === "lognormal") { var ln = {dist: dist, mu: Math.log(def > 0 ? def : 1), sigma: 0.5};
      if (lo !== null && lo > 0) ln.low = lo; if (hi !== null) ln.high = hi; return ln; }
    return cur;
  }
  function fieldsOf(dist) {
    var d = state.distributions[dist];
    return d ? d.required.concat(d.optional) : [];
  }
  function decl(name) { return state.parameters.filter(function (p) { return p.name === name; })[0]; }
  function specOf(name) {
    var s = state.scenario.params[name];
    if (s === undefined) return decl(name).prior;  /* left at the model's default */
    return typeof s === "object" ? s : {dist: "fixed", value: s};
  }
  function parseInput(text) {
    var t = String(text).trim();
    if (t === "") return t;
    var v = Number(t);
    return isNaN(v) ? t : v;  /* the engine names a non-number; the page does not guess */
  }
  function renderParams() {
    var body = $("params").querySelector("tbody");
    body.innerHTML = "";
    state.parameters.forEach(function (p) {
      var spec = specOf(p.name), tr = document.createElement("tr");
      tr.className = "param";
      tr.dataset.name = p.name;
      var dists = Object.keys(state.distributions).filter(function (d) { return d !== "empirical" || spec.dist === "empirical"; });
      var sel = "<select class='dist' data-name='" + esc(p.name) + "'>" + dists.map(function (d) {
        return "<option" + (d === spec.dist ? " selected" : "") + ">" + esc(d) + "</option>"; }).join("") + "</select>";
      var inputs = spec.dist === "empirical" ? " <span class='note'>" + spec.samples.length + " samples</span>" :
        fieldsOf(spec.dist).map(function (f) {
          var v = spec[f] === undefined ? "" : spec[f];
          return " <label>" + esc(f) + " <input class='arg' data-name='" + esc(p.name) + "' data-arg='" + esc(f) +
                 "' id='arg-" + esc(p.name) + "-" + esc(f) + "' value='" + esc(v) + "'" +
                 (spec.dist !== "fixed" && state.distributions[spec.dist].optional.indexOf(f) >= 0 ? " placeholder='none'" : "") + "></label>";
        }).join("");
      tr.innerHTML = "<td><b>" + esc(p.name) + "</b></td><td>" + sel + inputs +
        "<div class='err' id='err-" + esc(p.name) + "'></div></td><td>" + esc(p.unit) + "</td><td>[" + fmt(p.low, 4) + ", " +
        fmt(p.high, 4) + "]</td><td>" + esc(p.meaning) + "</td>";
      body.appendChild(tr);
    });
    var sim = state.scenario.simulation;
    ["n_samples", "horizon_years", "seed"].forEach(function (k) { $("sim-" + k).value = sim[k]; });
    var m = state.scenario.model, opts = Object.keys(m).filter(function (k) { return k !== "name"; });
    $("model-line").textContent = "model " + m.name + (opts.length ? " (" + opts.map(function (k) { return k + " = " + m[k]; }).join(", ") + ")" : "") +
      (state.scenario.meta && state.scenario.meta.title ? ": " + state.scenario.meta.title : "");
  }
  function onParamChange(ev) {
    var t = ev.target, name = t.dataset.name;
    if (!name) return;
    if (t.classList.contains("dist")) {
      state.scenario.params[name] = defaultsFor(t.value, decl(name), specOf(name));
      renderParams();
    } else if (t.classList.contains("arg")) {
      var spec = Object.assign({}, specOf(name)), v = parseInput(t.value);
      if (v === "" && spec.dist !== "fixed" && state.distributions[spec.dist].optional.indexOf(t.dataset.arg) >= 0) delete spec[t.dataset.arg];
      else spec[t.dataset.arg] = v;
      state.scenario.params[name] = spec;
    }
    scheduleValidate();
  }
  function onSimChange(ev) {
    var k = ev.target.dataset.sim;
    if (!k) return;
    state.scenario.simulation[k] = parseInput(ev.target.value);
    scheduleValidate();
  }

  /* -- validation: the engine's messages beside the field they name ----------------------- */
  function clearErrors() {
    document.querySelectorAll(".err").forEach(function (e) { e.textContent = ""; });
    document.querySelectorAll("input.bad").forEach(function (e) { e.classList.remove("bad"); });
  }
  function showError(body) {
    clearErrors();
    var field = body.field || "", parts = field.split("."), target = $("err-global"), input = null;
    if (parts[0] === "params" && parts[1] && $("err-" + parts[1])) {
      target = $("err-" + parts[1]);
      input = parts[2] ? $("arg-" + parts[1] + "-" + parts[2]) : $("arg-" + parts[1] + "-value");
    } else if (parts[0] === "simulation") {
      target = $("err-simulation");
      input = $("sim-" + parts[1]);
    }
    target.textContent = body.error;
    if (input) input.classList.add("bad");
  }
  function scheduleValidate() {
    state.valid = false;
    clearTimeout(validateTimer);
    validateTimer = setTimeout(validate, 200);
  }
  function validate() {
    clearTimeout(validateTimer);
    validation = api("/api/validate", request()).then(function (r) {
      state.valid = r.ok;
      if (r.ok) { clearErrors(); state.fileName = r.body.file_name; setLinks(r.body.permalink, null); } else showError(r.body);
      return r;
    });
    return validation;
  }

  /* -- running -------------------------------------------------------------------------- */
  function enable(a, href) {
    a.href = href;
    a.setAttribute("aria-disabled", "false");
  }
  function setLinks(link, runId) {
    var q = "?v=" + link.v + "&s=" + encodeURIComponent(link.s);
    enable($("permalink"), "/" + q);
    enable($("dl-toml"), "/api/scenario.toml" + q);
    $("dl-toml").setAttribute("download", state.fileName + ".toml");
    if (runId !== null) {
      enable($("dl-csv"), "/api/runs/" + runId + "/results.csv");
      enable($("dl-json"), "/api/runs/" + runId + "/results.json");
    }
  }
  /* reuse: show the stored run of exactly this scenario if there is one (opening a permalink) */
  function run(reuse) {
    $("status").textContent = "checking...";
    return validate().then(function (r) {
      if (!r.ok) { $("status").textContent = "not run: see the message beside the field"; return null; }
      $("status").textContent = "running " + Number(state.scenario.simulation.n_samples).toLocaleString("en") + " samples...";
      $("run").disabled = true;
      var t0 = performance.now();
      return api("/api/run" + (reuse === true ? "?reuse=1" : ""), request()).then(function (res) {
        $("run").disabled = false;
        if (!res.ok) { showError(res.body); $("status").textContent = "not run"; return null; }
        var d = res.body;
        state.last = {name: d.run.name, data: d};
        RsilabCharts.draw($("results"), d, "rsi-");
        setLinks(d.permalink, d.run.id);
        $("keep-a").disabled = $("keep-b").disabled = false;
        $("status").textContent = (d.reused ? "stored run " : "run ") + d.run.id + " (" + d.run.name + "): " +
          d.summary.n_samples.toLocaleString("en") + " samples, seed " + d.summary.seed +
          (d.reused ? ", recorded " + d.run.created_at : ", " + ((performance.now() - t0) / 1000).toFixed(2) + " s");
        $("status").dataset.runId = d.run.id;
        loadRuns();
        return d;
      });
    });
  }

  /* -- A/B comparison --------------------------------------------------------------------- */
  var REGIMES = ["explosion", "combustion", "fizzle", "ceiling"];
  /* an outcome model's headline: each metric of its first group (median, p10, p90) */
  function outcomeHeadline(s) {
    var grp = s.outcome_groups[0];
    return grp.metrics.map(function (m) {
      var q = s[grp.group][m.name][m.quantity];
      return {name: m.name, quantity: m.quantity, median: q.median, p10: q.p10, p90: q.p90};
    });
  }
  /* the headline first (as the CLI and the report tell it), then the regimes by phase; an
     outcome model (no regimes): each metric's fraction reached and median */
  function keyOutputs(s) {
    var rows = [], tk = s.takeoff;
    if (s.model_kind === "outcome") {
      s.outcome_groups.forEach(function (grp) {
        grp.metrics.forEach(function (m) {
          var e = s[grp.group][m.name], q = e[m.quantity];
          if (m.by_horizon) rows.push(["reached " + m.name, e.fraction_reached]);
          rows.push(["median " + m.quantity + " " + m.name, q.median]);
        });
      });
      return rows;
    }
    if (tk) {
      rows.push(["P(explosive at some point)", tk.p_explosive]);
      rows.push(["orders of magnitude gained while explosive (median)", tk.ooms_while_explosive.median]);
      rows.push(["years explosive (median)", tk.years_explosive.median]);
      Object.keys(tk.compression || {}).forEach(function (k) { rows.push(["P(" + tk.compression[k].what + ")", tk.compression[k].p]); });
    }
    var other = s.regime_phase === "late" ? "early" : "late";
    [s.regime_phase, other].forEach(function (ph) {
      REGIMES.forEach(function (r) { rows.push(["P(" + r + ", " + ph + ")", s.regime_probabilities_by_phase[ph][r]]); });
    });
    Object.keys(s.threshold_times).forEach(function (m) {
      rows.push(["reached " + m, s.threshold_times[m].fraction_reached]);
      rows.push(["median years to " + m, s.threshold_times[m].median]);
    });
    var shown = tk ? Object.keys(tk.compression || {}) : [];  /* the compression figures lead already */
    Object.keys(s).forEach(function (k) {
      if (k.indexOf("p_") === 0 && typeof s[k] === "number" && shown.indexOf(k) < 0) rows.push([k, s[k]]);
    });
    if (s.effective_returns) rows.push(["median effective returns", s.effective_returns.median]);
    return rows;
  }
  /* an outcome model whose clock is the calendar (it declares a time origin) */
  function calendarOf(s) { return s.time_origin !== null && s.time_origin !== undefined; }
  /* the headline and where it ends: P(explosive at some point), then the late regime's
     probabilities, each with its 95% interval */
  function headlineBars(s) {
    if (s.model_kind === "outcome") {
      /* no regimes: the headline metrics' medians with their p10 to p90 (a bound beyond the horizon is left open) */
      var h = outcomeHeadline(s);
      return {x: h.map(function (m) { return m.name; }), y: h.map(function (m) { return m.median; }),
              error_y: {type: "data", symmetric: false,
                        array: h.map(function (m) { return m.p90 === null || m.median === null ? null : m.p90 - m.median; }),
                        arrayminus: h.map(function (m) { return m.p10 === null || m.median === null ? null : m.median - m.p10; })}};
    }
    var late = s.regime_probabilities_by_phase.late, n = s.n_samples;
    var x = REGIMES.map(function (r) { return "ends " + r; }), y = REGIMES.map(function (r) { return late[r]; });
    var se = y.map(function (p) { return Math.sqrt(p * (1 - p) / n); });
    if (s.takeoff) {
      x.unshift("explosive at some point");
      y.unshift(s.takeoff.p_explosive);
      se.unshift(s.takeoff.p_explosive_se);
    }
    return {x: x, y: y, error_y: {type: "data", array: se.map(function (v) { return 1.96 * v; })}};
  }
  function keep(slot) {
    state.kept[slot] = state.last;
    renderCompare();
  }
  function renderCompare() {
    var a = state.kept.A, b = state.kept.B;
    if (!a && !b) return;
    $("compare").style.display = "";
    var label = function (k) { return k ? k.data.run.name + " (run " + k.data.run.id + ")" : "-"; };
    var ra = a ? keyOutputs(a.data.summary) : [], rb = b ? keyOutputs(b.data.summary) : [];
    var names = (ra.length ? ra : rb).map(function (r) { return r[0]; });
    var get = function (rows, n) { var f = rows.filter(function (r) { return r[0] === n; })[0]; return f ? f[1] : null; };
    var h = "<table class='rsi-table' id='compare-rows'><thead><tr><th>output</th><th>A: " + esc(label(a)) + "</th><th>B: " +
            esc(label(b)) + "</th><th>B - A</th></tr></thead><tbody>";
    names.forEach(function (n) {
      var va = get(ra, n), vb = get(rb, n), diff = (typeof va === "number" && typeof vb === "number") ? vb - va : null;
      h += "<tr data-output='" + esc(n) + "'><td>" + esc(n) + "</td><td>" + fmt(va) + "</td><td>" + fmt(vb) + "</td><td class='" +
           (diff > 0 ? "pos" : diff < 0 ? "neg" : "") + "'>" + (diff === null ? "-" : (diff > 0 ? "+" : "") + fmt(diff)) + "</td></tr>";
    });
    $("compare-table").innerHTML = h + "</tbody></table>";
    var traces = [], outcome = false;
    [["A", a], ["B", b]].forEach(function (x) {
      if (!x[1]) return;
      var s = x[1].data.summary;
      /* calendar years (a model with a time origin): markers, where bars from 0 would hide the differences */
      var style = calendarOf(s) ? {type: "scatter", mode: "markers", marker: {size: 10}} : {type: "bar"};
      traces.push(Object.assign(style, {name: x[0] + ": " + label(x[1])}, headlineBars(s)));
      if (s.model_kind === "outcome") outcome = calendarOf(s) ? "calendar" : "outcome";
    });
    var yaxis = outcome === "calendar" ? {title: {text: "median year (p10 to p90)"}}
              : outcome ? {title: {text: "median (bars: p10 to p90), log scale"}, type: "log"}
                        : {title: {text: "probability (95% interval)"}, range: [0, 1]};
    RsilabCharts.plot($("compare-chart"), traces, {barmode: "group", height: 320, margin: {t: 20, r: 20, b: 40, l: 60},
                                                   yaxis: yaxis});
  }

  /* -- presets, permalinks and the store --------------------------------------------------- */
  function load(desc) {
    state.name = desc.name;
    state.fileName = desc.file_name;
    state.scenario = desc.scenario;
    state.parameters = desc.parameters;
    state.distributions = desc.distributions;
    renderParams();
    clearErrors();
    setLinks(desc.permalink, null);
    state.valid = true;
    $("run").disabled = false;
  }
  function loadPreset(name) {
    return api("/api/presets/" + encodeURIComponent(name)).then(function (r) { if (r.ok) load(r.body); else showError(r.body); });
  }
  function loadRuns() {
    return api("/api/runs").then(function (r) {
      if (!r.ok) return;
      var h = "<table class='rsi-table'><thead><tr><th>run</th><th>kind</th><th>name</th><th>when (UTC)</th><th>seed</th>" +
              "<th>samples</th><th>headline</th></tr></thead><tbody>";
      r.body.forEach(function (x) {
        var kind = x.kind + (x.method ? " (" + x.method + ")" : "");  /* a sensitivity run names its method */
        h += "<tr><td><a href='/api/runs/" + x.id + "/report' target='_blank'>" + x.id + "</a></td><td>" + esc(kind) +
             "</td><td>" + esc(x.name) + "</td><td>" + esc(x.created_at) + "</td><td>" + fmt(x.seed) + "</td><td>" +
             fmt(x.n_samples) + "</td><td>" + esc(x.headline) + "</td></tr>";
      });
      $("runs").innerHTML = h + "</tbody></table>";
    });
  }
  function start() {
    $("params").addEventListener("change", onParamChange);
    $("params").addEventListener("input", function (ev) { if (ev.target.classList.contains("arg")) onParamChange(ev); });
    document.querySelectorAll("[data-sim]").forEach(function (el) { el.addEventListener("input", onSimChange); });
    $("run").addEventListener("click", function () { run(false); });
    $("keep-a").addEventListener("click", function () { keep("A"); });
    $("keep-b").addEventListener("click", function () { keep("B"); });
    $("preset").addEventListener("change", function () { loadPreset($("preset").value); });
    var params = new URLSearchParams(location.search);
    return api("/api/presets").then(function (r) {
      $("preset").innerHTML = r.body.map(function (p) {
        return "<option value='" + esc(p.name) + "'>" + esc(p.name) + " (" + esc(p.model) + ")</option>"; }).join("");
      loadRuns();
      if (params.has("s")) {
        return api("/api/permalink?v=" + encodeURIComponent(params.get("v") || "") + "&s=" + encodeURIComponent(params.get("s")))
          .then(function (p) {
            if (!p.ok) { $("err-global").textContent = "permalink: " + p.body.error; return loadPreset("default"); }
            var opt = document.createElement("option");
            opt.value = ""; opt.textContent = p.body.name + " (from the link)";
            $("preset").insertBefore(opt, $("preset").firstChild);
            $("preset").value = "";
            load(p.body);
            return run(true);
          });
      }
      $("preset").value = "default";
      return loadPreset("default");
    }).then(function () { document.body.dataset.ready = "1"; });
  }
  window.rsilabPage = {state: state, run: run, validate: validate};
  start();
})();
