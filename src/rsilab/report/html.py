"""The self-contained HTML report of one stored run (forecast, sensitivity, experiment or fit).

``report_data`` turns what the store holds into one JSON-ready dict (the run's summary
unchanged, its config, the model's parameter declarations, provenance and the series each chart
draws); ``render_html`` embeds that dict as a JSON block, plotly.js (the basic bundle in
``report/vendor``: scatter and bar traces, all the charts need) and the drawing code
(``html_charts.js``, shared with the web playground) into one file that opens from ``file://``
with no network request. Nothing here re-runs a simulation: a run recorded without the arrays a
chart needs gets a StoreError naming what is missing. Imports numpy, the store and the model
declarations; never the CLI or the web app.
"""
from __future__ import annotations

import hashlib
import html
import json
import math
import re
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from rsilab.errors import ConfigError, StoreError
from rsilab.report.samples import REGIMES
from rsilab.store.ensembles import ARRAYS_FORMAT, OUTCOMES_FORMAT, decode_arrays

REPORT_FORMAT = "rsilab-report/1"
ENSEMBLE_KINDS = ("forecast", "simulate", "web")
CDF_POINTS = 400  # points per threshold CDF: enough for a smooth curve, small in the page


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a run's config (sorted keys, no spaces)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _finite(x: Any) -> Any:
    """JSON cannot carry NaN or infinity: they become null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _text_if_infinite(x: float) -> float | str:
    """A declared bound or default may be infinite (no ceiling): shown as "inf", not lost."""
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _series(values: np.ndarray) -> list[Any]:
    return [_finite(float(v)) for v in np.asarray(values, dtype=float)]


def parameter_table(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Each parameter's prior beside the model's declaration (unit, bounds, meaning)."""
    from rsilab.dynamics import MODELS

    model_cfg = dict(config.get("model", {}))
    name = model_cfg.pop("name", None)
    if name not in MODELS:
        return []
    model = MODELS[name]().with_options(**model_cfg)
    specs = config.get("params", {})
    rows = []
    for p in model.params:
        prior = specs.get(p.name, {"dist": "fixed", "value": p.default})
        if isinstance(prior, dict):  # a stored config keeps an infinite value (no ceiling) as a float
            prior = {k: _text_if_infinite(v) if isinstance(v, float) else v for k, v in prior.items()}
        rows.append({"name": p.name, "unit": p.unit, "low": _text_if_infinite(p.low), "high": _text_if_infinite(p.high),
                     "default": _text_if_infinite(p.default), "meaning": p.meaning, "prior": prior})
    return rows


def ensemble_charts(summary: dict[str, Any], arrays: dict[str, Any]) -> dict[str, Any]:
    """The series a forecast's charts draw, from the stored arrays alone."""
    n = int(arrays["regime"].shape[0])
    meta = arrays["meta"]
    t = arrays["t_grid"]
    fan = {"t": _series(t), "cap_log10": meta["cap_log10"], "rows": meta["fan_rows"], "n_samples": n,
           "quantiles": {str(q): _series(row) for q, row in zip(meta["fan_quantiles"], arrays["fan_quantiles"])},
           "multiples_log10": [math.log10(m) for m in arrays["capability_multiples"]]}
    phase = summary.get("regime_phase", "late")
    by_phase = {}
    for ph in ("early", "late"):
        codes = arrays["regime"] if ph == phase else arrays["other_regime"]
        probs = {}
        for code, label in enumerate(REGIMES):
            p = float(np.mean(codes == code))
            probs[label] = {"p": p, "se": math.sqrt(p * (1 - p) / n)}
        by_phase[ph] = probs
    cdfs = {}
    for m, times in zip(arrays["capability_multiples"], arrays["threshold_times"]):
        reached = np.sort(times[np.isfinite(times)].astype(np.float64))
        if reached.size:
            idx = np.unique(np.linspace(0, reached.size - 1, min(CDF_POINTS, reached.size)).round().astype(int))
            cdfs[f"{m:g}x"] = {"t": _series(reached[idx]), "F": _series((idx + 1) / n)}
        else:
            cdfs[f"{m:g}x"] = {"t": [], "F": []}
    grid = {k[len("grid__"):]: _series(v) for k, v in arrays.items() if k.startswith("grid__")}
    return {"fan": fan, "regimes_by_phase": by_phase, "regime_phase": phase, "threshold_cdfs": cdfs,
            "grid_outputs": {"t": _series(t), "series": grid}}


def outcome_charts(summary: dict[str, Any], arrays: dict[str, Any]) -> dict[str, Any]:
    """The series an outcome model's charts draw: the CDF over all samples of each by-horizon
    metric (a sample not reached within the horizon never counts) and each series' bands."""
    cdfs: list[dict[str, Any]] = []   # a list: the page's JSON sorts keys, the model's order is kept
    for g in summary.get("outcome_groups", []):
        group = g["group"]
        for decl in g["metrics"]:
            name = decl["name"]
            if not decl["by_horizon"]:
                continue
            values = arrays[f"metric__{name}"].astype(np.float64)
            n = values.size
            reached = np.sort(values[np.isfinite(values)])
            idx = (np.unique(np.linspace(0, reached.size - 1, min(CDF_POINTS, reached.size)).round().astype(int))
                   if reached.size else np.zeros(0, dtype=int))
            cdfs.append({"group": group, "name": name, "t": _series(reached[idx]), "F": _series((idx + 1) / max(n, 1)),
                         "quantity": decl["quantity"], "unit": decl["unit"]})
    meta = arrays["meta"]
    series = {}
    for name, decl in summary.get("series", {}).items():
        bands = arrays[f"series__{name}"]
        series[name] = dict(decl, quantiles={str(q): _series(row) for q, row in zip(meta["series_quantiles"], bands)},
                            defined=_series(arrays[f"series_defined__{name}"]))
    # a model with a time origin reads calendar years; the series in the model's order (a list:
    # the page's JSON sorts keys)
    origin = summary.get("time_origin")
    t = arrays["t_grid"] + (origin or 0.0)
    return {"metric_cdfs": cdfs, "calendar": origin is not None,
            "series": {"t": _series(t), "rows": meta["series_rows"], "by_name": series,
                       "order": summary.get("series_order", list(series))}}


def forecast_data(run: dict[str, Any], summary: dict[str, Any], config: dict[str, Any],
                  timings: dict[str, Any], arrays: dict[str, Any], fmt: str = ARRAYS_FORMAT) -> dict[str, Any]:
    """The report dict of a Monte Carlo run (``run``: id, kind, name, created_at, version, status),
    from its stored arrays in format ``fmt``: an outcome model's run is of kind "outcome"."""
    outcome = fmt == OUTCOMES_FORMAT
    return {
        "format": REPORT_FORMAT, "kind": "outcome" if outcome else "forecast", "run": run, "summary": summary,
        "config": config, "parameters": parameter_table(config),
        "provenance": {"version": run.get("version"), "seed": summary.get("seed"), "n_samples": summary.get("n_samples"),
                       "config_sha256": config_hash(config), "git_revision": arrays["meta"].get("git_revision"),
                       "timings_seconds": timings, "created_at": run.get("created_at")},
        "charts": outcome_charts(summary, arrays) if outcome else ensemble_charts(summary, arrays),
    }


def _run_dict(rec) -> dict[str, Any]:
    return {"id": rec.id, "kind": rec.kind, "name": rec.name, "version": rec.version, "status": rec.status,
            "created_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(rec.created_at))}


def report_data(store, run_id: int) -> dict[str, Any]:
    """The report dict of stored run ``run_id``; StoreError if the store lacks what it needs."""
    rec = store.get_run(run_id)
    run = _run_dict(rec)
    if rec.kind in ENSEMBLE_KINDS:
        kept = store.run_arrays(run_id)
        if kept is None:
            raise StoreError(
                f"run {run_id} ({rec.kind} {rec.name!r}, rsilab {rec.version}) was recorded before runs kept their "
                "arrays: the store has its summary but no per-sample outcomes or quantile bands, which the report's "
                "charts need; re-run its scenario (same seed, same numbers) to get a run with a report")
        fmt, blob = kept
        if fmt not in (ARRAYS_FORMAT, OUTCOMES_FORMAT):
            raise StoreError(f"run {run_id} keeps arrays in format {fmt!r}; this rsilab reads "
                             f"{ARRAYS_FORMAT!r} and {OUTCOMES_FORMAT!r}")
        return forecast_data(run, rec.summary, rec.config, rec.timings, decode_arrays(blob), fmt)
    base = {"format": REPORT_FORMAT, "run": run, "summary": rec.summary, "config": rec.config,
            "provenance": {"version": rec.version, "seed": rec.seed, "config_sha256": config_hash(rec.config),
                           "git_revision": rec.config.get("git_revision"), "timings_seconds": rec.timings,
                           "created_at": run["created_at"]}}
    if rec.kind == "sensitivity":
        return dict(base, kind="sensitivity", parameters=parameter_table(rec.config),
                    charts={rec.summary.get("method", "sobol"): rec.summary.get("indices", [])})
    if rec.kind.startswith("experiment:"):
        return dict(base, kind="experiment", charts=experiment_charts(store.rounds(run_id)))
    if rec.kind.startswith("fit:"):
        return dict(base, kind="fit", charts=fit_charts(rec.kind, rec.summary))
    raise StoreError(f"run {run_id} is of kind {rec.kind!r}, which has no report")


def experiment_charts(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Capability per round; accuracy per difficulty per round and label precision where recorded."""
    out: dict[str, Any] = {"rounds": [r["round"] for r in rounds],
                           "capability": [_finite(r.get("capability")) for r in rounds],
                           "compute_flop": [_finite(r.get("compute_flop")) for r in rounds]}
    if any("accuracy" in r for r in rounds):
        per_round = []
        for r in rounds:
            acc = r.get("accuracy")
            diffs = (r.get("detail") or {}).get("difficulties") or list(range(1, len(acc or []) + 1))
            per_round.append({"round": r["round"], "difficulty": diffs, "accuracy": acc or []})
        out["accuracy_by_difficulty"] = per_round
    if any("label_precision" in r for r in rounds):
        out["label_precision"] = [_finite(r.get("label_precision")) for r in rounds]
    return out


def fit_charts(kind: str, summary: dict[str, Any]) -> dict[str, Any]:
    """What a stored fit shows. A rounds fit keeps its levels: the data are the capability per
    round, the fit is the geometric path at k's median, the band the path over k's posterior
    draws (fits stored before the levels model kept only their gains: those show the gains).
    Other fits keep their held-out extrapolation (data, fit, interval) when they had one."""
    out: dict[str, Any] = {"missing": []}
    if kind == "fit:rounds" and summary.get("fitted"):
        f = summary["fitted"]
        out["levels"] = {"round": f["round"], "data": _series(f["data"]), "fit": _series(f["level"]),
                         "band": [_series(f["band"][0]), _series(f["band"][1])]}
    elif kind == "fit:rounds" and summary.get("gains"):
        gains = np.asarray(summary["gains"], dtype=float)
        i = np.arange(len(gains))
        k = summary.get("k")
        g0 = gains[0]
        out["gains"] = {"round": (i + 1).tolist(), "gain": _series(gains)}
        if k is not None:
            out["gains"]["fit"] = _series(g0 * float(k) ** i)
            if summary.get("k_interval"):
                lo, hi = summary["k_interval"]
                out["gains"]["band"] = [_series(g0 * float(lo) ** i), _series(g0 * float(hi) ** i)]
    elif "extrapolation" in summary:
        ex = summary["extrapolation"]
        out["extrapolation"] = {k: ex.get(k) for k in ("x", "y_true", "y_pred", "interval")}
    else:
        out["missing"].append("this fit's run keeps its fitted parameters but not the data points; "
                              "the chart needs the data file it was fitted to")
    out["parameters"] = summary.get("parameters") or {k: summary.get(k) for k in ("k", "k_interval", "k_se", "p_k_gt_1",
                                                                                      "regime") if k in summary}
    return out


def _asset(name: str) -> str:
    return resources.files("rsilab.report").joinpath(name).read_text(encoding="utf-8")


def plotly_js() -> str:
    """plotly.js as this package ships it (``report/vendor``: the basic bundle, with only the trace
    types drawn here; never from a CDN)."""
    return resources.files("rsilab.report").joinpath("vendor", "plotly-basic.min.js").read_text(encoding="utf-8")


def json_safe(obj: Any) -> Any:
    """``obj`` with NaN and infinities as null (JSON has neither) and numpy scalars as Python's."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    return _finite(obj)


def _script_json(obj: Any) -> str:
    # "</" would end the <script> element early; "<\/" means the same inside a JSON string
    return json.dumps(json_safe(obj), sort_keys=True, allow_nan=False).replace("</", "<\\/")


def render_html(data: dict[str, Any]) -> str:
    title = f"rsilab report: run {data['run'].get('id')} ({data['run'].get('kind')} {data['run'].get('name')})"
    parts = {"TITLE": html.escape(title), "PLOTLY_JS": plotly_js().replace("</script", "<\\/script"),
             "CHARTS_JS": _asset("html_charts.js"), "DATA_JSON": _script_json(data)}
    # one pass, so that no inserted text is itself searched for placeholders
    return re.sub(r"\{\{([A-Z_]+)\}\}", lambda m: parts[m.group(1)], _asset("html_report.html"))


def write_report(data: dict[str, Any], path: str | Path) -> Path:
    """Write the report atomically (a temporary file renamed into place: nothing half-written)."""
    path = Path(path)
    text = render_html(data)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError("--out", str(path), f"a writable file path ({exc.strerror or exc})") from None
    return path


def write_run_report(store, run_id: int, path: str | Path) -> Path:
    return write_report(report_data(store, run_id), path)
