"""The per-sample table of a Monte Carlo run: one row per sample, built in this one place.

``sample_table`` reads arrays laid out as the store keeps them (``rsilab.store.ensembles``):
the full-precision arrays of a run in memory (``Forecast.to_pandas``) or a stored run's decoded
blob (the playground's results CSV), so both have the same columns in the same order: the drawn
parameters, the regime by each phase, the solver status, the years to each capability multiple
(NaN where not reached), log10 growth, the effective returns where kept and the model's own
per-sample outputs. An outcome model's run has its own columns (``outcome_table``): the drawn
parameters and its declared metrics. ``table_csv`` writes such a table. Imports numpy and core.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Mapping

import numpy as np

from rsilab.core.solution import Status

# the labels of the regime codes, in the order of rsilab.simulate.regimes.Regime
REGIMES = ("explosion", "combustion", "fizzle", "ceiling")
STATUSES = tuple(s.name.lower() for s in sorted(Status, key=int))


def sample_table(arrays: Mapping[str, Any], phase: str) -> dict[str, np.ndarray]:
    """Column name -> one value per sample; ``phase`` is the regime phase of ``regime`` (the
    other phase's codes are ``other_regime``)."""
    other = "early" if phase == "late" else "late"
    labels = np.array(REGIMES, dtype=object)
    cols: dict[str, np.ndarray] = {k[len("param__"):]: np.asarray(v) for k, v in arrays.items() if k.startswith("param__")}
    cols[f"regime_{phase}"] = labels[arrays["regime"]]
    cols[f"regime_{other}"] = labels[arrays["other_regime"]]
    cols["status"] = np.array(STATUSES, dtype=object)[arrays["status"]]
    for m, times in zip(arrays["capability_multiples"], arrays["threshold_times"]):
        cols[f"years_to_{m:g}x"] = np.where(np.isfinite(times), times, np.nan)
    cols["log10_growth"] = np.asarray(arrays["ln_growth"]) / np.log(10.0)
    if "returns_eff" in arrays:
        cols["effective_returns"] = np.asarray(arrays["returns_eff"])
    cols.update({k[len("output__"):]: np.asarray(v) for k, v in arrays.items() if k.startswith("output__")})
    return cols


def outcome_table(arrays: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """An outcome model's run (format ``outcomes-npz/1``): the drawn parameters, then each
    declared metric (NaN, an empty cell in the CSV, where a milestone is not reached)."""
    cols = {k[len("param__"):]: np.asarray(v) for k, v in arrays.items() if k.startswith("param__")}
    cols.update({k[len("metric__"):]: np.asarray(v) for k, v in arrays.items() if k.startswith("metric__")})
    return cols


def table_csv(cols: Mapping[str, np.ndarray]) -> str:
    """The table as CSV: numbers with the digits their dtype holds (4 for float16, 7 for float32,
    17 for float64), empty where there is none (NaN, not reached); booleans as true/false."""
    text_cols = [_csv_column(np.asarray(c)) for c in cols.values()]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(cols)
    w.writerows(zip(*text_cols))
    return buf.getvalue()


def _csv_column(values: np.ndarray) -> list[str]:
    if values.dtype == bool:
        return ["true" if v else "false" for v in values]
    if values.dtype.kind == "f":
        digits = {np.dtype(np.float16): 4, np.dtype(np.float32): 7}.get(values.dtype, 17)
        return ["" if not np.isfinite(v) else f"{v:.{digits}g}" for v in values.astype(np.float64).tolist()]
    return [str(v) for v in values.tolist()]
