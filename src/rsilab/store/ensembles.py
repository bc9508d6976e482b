"""What the store keeps of an ensemble, so that a report never re-runs it, and recording it.

One numpy ``.npz`` archive per run (store table ``run_arrays``, format ``ensemble-npz/1``)
holds:

- per sample, in compact dtypes: regime by both phases and solver status (int8), the years to
  each capability multiple (float16: 3 significant digits, what a CDF draws; the summary's
  quantiles come from the full-precision run), ln growth, every non-fixed parameter's drawn
  value and the model's own per-sample outputs (bool, or float32 where the values fit in it,
  else float64);
- on the output grid: quantile bands of log10 capability multiple (from the kept
  trajectories, ``FAN_QUANTILES``) and the model's own series (means over samples);
- provenance that the summary does not hold (git revision).

``sample_arrays`` gives the per-sample part under the same names at full precision (what
``Forecast.to_pandas`` reads), so the stored and the in-memory table share one layout.

An outcome model's run (no paths, no regimes; its model's kind is "outcome") is kept in its
own format, ``outcomes-npz/1``: every drawn parameter and every declared metric per sample
(``metric__NAME``; NaN where a by-horizon metric is not reached), and each declared series as
the quantile bands the ensemble computes over its kept rows (``series__NAME``) with the
fraction of rows defined at each grid time (``series_defined__NAME``).
Drawn values dominate the size and do not compress (random mantissas), so they and the times
are stored as they are and only the rest is deflated (the size per sample:
benchmarks/bench_report_store.py). An ensemble is read by its attributes only (the
store never imports ``rsilab.simulate``: it holds bytes). Imports numpy, the store and core.
"""
from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np

from rsilab.core.version import git_revision

ARRAYS_FORMAT = "ensemble-npz/1"
OUTCOMES_FORMAT = "outcomes-npz/1"
FAN_QUANTILES = (5, 10, 25, 50, 75, 90, 95)


def _float32_if_it_fits(values) -> np.ndarray:
    """float32, unless a finite value lies beyond its range (priors may span 10^9..10^40)."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size and np.abs(finite).max() > np.finfo(np.float32).max:
        return values
    return values.astype(np.float32)


def array_format(ensemble) -> str:
    """The stored format of ``ensemble``'s arrays, as its model's kind declares."""
    return OUTCOMES_FORMAT if ensemble.scenario.model.kind == "outcome" else ARRAYS_FORMAT


def sample_arrays(ensemble) -> dict[str, np.ndarray]:
    """Per sample, at full precision and under the names the blob uses: ``regime``,
    ``other_regime``, ``status``, ``threshold_times`` (one row per multiple, beside
    ``capability_multiples``), ``ln_growth``, ``returns_eff``, ``param__NAME`` for every
    parameter (fixed ones too) and ``output__NAME`` for the model's own outputs; for an
    outcome model, ``param__NAME`` and ``metric__NAME`` for every declared metric."""
    if array_format(ensemble) == OUTCOMES_FORMAT:
        out = {f"param__{name}": np.asarray(values, dtype=np.float64) for name, values in ensemble.params.items()}
        out.update({f"metric__{name}": values for name, values in ensemble.metrics.items()})
        return out
    arrays: dict[str, np.ndarray] = {
        "regime": ensemble.regime,
        "other_regime": ensemble.other_regime,
        "status": ensemble.status,
        "threshold_times": ensemble.threshold_times,
        "capability_multiples": np.asarray(ensemble.scenario.capability_multiples, dtype=np.float64),
        "ln_growth": ensemble.ln_growth,
        "returns_eff": ensemble.returns_eff,
    }
    for name, values in ensemble.params.items():
        arrays[f"param__{name}"] = np.asarray(values, dtype=np.float64)
    for name, values in ensemble.outputs.items():
        arrays[f"output__{name}"] = values
    return arrays


def encode_ensemble(ensemble) -> bytes:
    """The compact arrays of ``ensemble`` as a compressed .npz blob (no pickles): the per-sample
    arrays of ``sample_arrays`` in compact dtypes, without the fixed parameters (the run's config
    holds them) and the effective returns (the summary's quantiles hold them); an outcome
    model's run in the format ``array_format`` names."""
    if array_format(ensemble) == OUTCOMES_FORMAT:
        return _encode_outcomes(ensemble)
    sc = ensemble.scenario
    full = sample_arrays(ensemble)
    arrays: dict[str, np.ndarray] = {
        "t_grid": np.asarray(ensemble.t_grid, dtype=np.float64),
        "regime": full["regime"].astype(np.int8),
        "other_regime": full["other_regime"].astype(np.int8),
        "status": full["status"].astype(np.int8),
        # float16 overflows past 65504: horizons are at most 1e4 years (not reached: inf)
        "threshold_times": full["threshold_times"].astype(np.float16),
        "capability_multiples": full["capability_multiples"],
        "ln_growth": _float32_if_it_fits(full["ln_growth"]),
    }
    for name, prior in sc.priors.items():
        if not prior.is_fixed:
            arrays[f"param__{name}"] = _float32_if_it_fits(full[f"param__{name}"])
    for name in ensemble.outputs:
        values = full[f"output__{name}"]
        arrays[f"output__{name}"] = values if values.dtype == bool else _float32_if_it_fits(values)
    for name, series in ensemble.grid_means.items():
        arrays[f"grid__{name}"] = np.asarray(series, dtype=np.float64)
    rows = ensemble.fan_rows.astype(np.float64) / np.log(10.0)
    cap = np.log10(sc.simulation["cap_multiple"])
    if rows.shape[0]:
        # blown-up samples are drawn at the cap, as in the PNG fan chart
        arrays["fan_quantiles"] = np.percentile(np.minimum(rows, cap), FAN_QUANTILES, axis=0)
    else:
        arrays["fan_quantiles"] = np.full((len(FAN_QUANTILES), len(ensemble.t_grid)), np.nan)
    meta = {"fan_rows": int(rows.shape[0]), "fan_quantiles": list(FAN_QUANTILES), "cap_log10": float(cap),
            "git_revision": git_revision()}
    arrays["meta_json"] = np.array(json.dumps(meta))
    return _npz(arrays)


def _encode_outcomes(ensemble) -> bytes:
    sc = ensemble.scenario
    full = sample_arrays(ensemble)
    arrays: dict[str, np.ndarray] = {"t_grid": np.asarray(ensemble.t_grid, dtype=np.float64)}
    for name, prior in sc.priors.items():
        if not prior.is_fixed:
            arrays[f"param__{name}"] = _float32_if_it_fits(full[f"param__{name}"])
    for name in ensemble.metrics:
        arrays[f"metric__{name}"] = _float32_if_it_fits(full[f"metric__{name}"])
    bands = ensemble.series_bands()
    for name, (quantiles, defined) in bands.items():
        arrays[f"series__{name}"] = quantiles
        arrays[f"series_defined__{name}"] = defined
    meta = {"series_rows": ensemble.series_row_count, "series_quantiles": list(ensemble.series_percents),
            "git_revision": git_revision()}
    arrays["meta_json"] = np.array(json.dumps(meta))
    return _npz(arrays)


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, values in arrays.items():
            # drawn values and times have random low bits: deflate would spend time for little
            random_bits = name.startswith(("param__", "metric__")) or name == "threshold_times"
            one = io.BytesIO()
            np.lib.format.write_array(one, np.asanyarray(values), allow_pickle=False)
            zf.writestr(f"{name}.npy", one.getvalue(),
                        compress_type=zipfile.ZIP_STORED if random_bits else zipfile.ZIP_DEFLATED, compresslevel=1)
    return buf.getvalue()


def decode_arrays(blob: bytes) -> dict[str, Any]:
    """The arrays of a blob written by ``encode_ensemble``; ``meta`` is the provenance dict."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        out: dict[str, Any] = {k: z[k] for k in z.files if k != "meta_json"}
        out["meta"] = json.loads(str(z["meta_json"]))
    return out


def record_ensemble(store, kind: str, ensemble, summary: dict[str, Any], timings: dict[str, Any]) -> int:
    """Record a finished Monte Carlo run: its row in ``runs`` and its arrays beside it."""
    sc = ensemble.scenario
    run_id = store.add_run(kind, sc.name, config=sc.to_dict(), summary=summary, timings=timings, seed=sc.seed)
    store.put_run_arrays(run_id, array_format(ensemble), encode_ensemble(ensemble))
    return run_id
