"""The Monte Carlo of outcome models (``OutcomeModel``): no solver, no regimes.

An outcome model computes each sample's declared metrics (e.g. the years after SC at which a
milestone arrives, NaN where it does not within the horizon) and series on the output grid
itself, for a whole chunk of samples at once. This module runs it over the drawn samples in
chunks (in threads: numpy releases the GIL), keeps every metric per sample and the first
``SERIES_ROWS`` samples' series, and summarises them as the model declares:

- a by-horizon metric (the time of an event): quantiles over *all* samples, a sample whose
  event is not within the horizon ranking after every one that is, so a quantile is None
  when it falls among those ("beyond the horizon"), plus the fraction reached with its
  standard error. Never a placeholder date;
- any other metric: quantiles over its defined (non-NaN) values and the fraction defined;
- a series: quantile bands at each grid time from the kept rows (as the fan chart of
  capability paths), over the rows where it is defined.

There are no regimes: they are read off a capability path, which these models do not have;
the summary says so in the model's words (``OutcomeModel.regimes``). Imports numpy and the
model contract; never the CLI, report/ or the store.
"""
from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from rsilab.dynamics.base import OutcomeModel, Outcomes
from rsilab.simulate.compiled import cores, gather

SERIES_ROWS = 4_000                          # samples whose series are kept for the bands
SERIES_QUANTILES = (5, 10, 25, 50, 75, 90, 95)
QUANTILES = (0.1, 0.5, 0.9)
QUANTILES_NOTE = ("p10, median, p90 over all samples; for a by-horizon metric a sample that does not reach it "
                  "within the horizon counts as later than every sample that does, and a quantile that falls "
                  "among those is null (beyond the horizon); for the others over the samples where it is defined")


def censored_quantiles(values: np.ndarray, qs=QUANTILES, *, by_horizon: bool) -> list[float | None]:
    """Linear-interpolation quantiles (numpy's default rule). ``by_horizon``: over all values,
    NaN ranked last and a quantile that touches a NaN is None; otherwise over the non-NaN
    values (None when there are none)."""
    x = np.sort(np.asarray(values, dtype=np.float64))   # NaN sorts last
    n_valid = int(np.count_nonzero(~np.isnan(x)))
    n = x.size if by_horizon else n_valid
    out: list[float | None] = []
    for q in qs:
        if n == 0:
            out.append(None)
            continue
        h = (n - 1) * q
        lo, hi = math.floor(h), math.ceil(h)
        if hi >= n_valid:
            out.append(None)
        elif lo == hi or x[lo] == x[hi]:
            out.append(float(x[lo]))
        else:
            out.append(float(x[lo] + (h - lo) * (x[hi] - x[lo])))
    return out


def column_quantiles(rows: np.ndarray, percents=SERIES_QUANTILES) -> tuple[np.ndarray, np.ndarray]:
    """Per column of ``rows`` (k, g): the percentiles over its non-NaN values (NaN where a
    column has none) and the fraction of rows defined there."""
    x = np.sort(np.asarray(rows, dtype=np.float64), axis=0)   # NaN sorts last in each column
    k, g = x.shape
    valid = np.count_nonzero(~np.isnan(x), axis=0)
    out = np.full((len(percents), g), np.nan)
    cols = np.arange(g)
    have = valid > 0
    for i, pct in enumerate(percents):
        h = (valid - 1).clip(min=0) * (pct / 100.0)
        lo = np.floor(h).astype(np.int64)
        hi = np.ceil(h).astype(np.int64)
        a, b = x[lo, cols], x[hi, cols]
        with np.errstate(invalid="ignore"):   # inf - inf where both neighbours are infinite
            v = np.where(a == b, a, a + (h - lo) * (b - a))
        out[i] = np.where(have, v, np.nan)
    return out, valid / max(k, 1)


def summarise_metric(values: np.ndarray, metric) -> dict[str, Any]:
    q = censored_quantiles(values, by_horizon=metric.by_horizon)
    entry: dict[str, Any] = {metric.quantity: {"p10": q[0], "median": q[1], "p90": q[2]}}
    n = max(values.size, 1)
    frac = float(np.count_nonzero(~np.isnan(values)) / n)
    if metric.by_horizon:
        entry["fraction_reached"] = frac
        entry["fraction_reached_se"] = math.sqrt(frac * (1 - frac) / n)
    else:
        entry["fraction_defined"] = frac
    return entry


@dataclass
class OutcomeEnsemble:
    """The result of one Monte Carlo run of an outcome model."""

    scenario: Any
    params: dict[str, np.ndarray]
    metrics: dict[str, np.ndarray]        # (n,) per declared metric
    t_grid: np.ndarray
    series_rows: dict[str, np.ndarray]    # (k, g) float32 (float64 beyond its range) per declared series, k <= SERIES_ROWS
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(next(iter(self.params.values())).shape[0])

    @property
    def model(self) -> OutcomeModel:
        return self.scenario.model

    series_percents = SERIES_QUANTILES

    @property
    def series_row_count(self) -> int:
        return int(next(iter(self.series_rows.values())).shape[0]) if self.series_rows else 0

    def series_bands(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per declared series: its ``series_percents`` quantiles at each grid time over the
        kept rows, and the fraction of those rows defined there (what the store keeps)."""
        return {name: column_quantiles(rows, self.series_percents) for name, rows in self.series_rows.items()}

    def summary(self) -> dict[str, Any]:
        """The JSON summary: the declared metrics by group (contract in docs/forecast.md)."""
        model = self.model
        summary: dict[str, Any] = {
            "model": model.name, "model_options": dict(model.choice), "model_kind": model.kind,
            "scenario": self.scenario.name, "n_samples": self.n, "seed": self.scenario.seed,
            "horizon_years": self.scenario.horizon_years, "regimes": model.regimes, "time_origin": model.time_origin,
        }
        # the declarations, in the model's order (a list: stored summaries sort their keys)
        groups: list[dict[str, Any]] = []
        for m in model.metrics:
            if not groups or groups[-1]["group"] != m.group:
                groups.append({"group": m.group, "metrics": []})
            groups[-1]["metrics"].append({"name": m.name, "quantity": m.quantity, "unit": m.unit,
                                          "meaning": m.meaning, "by_horizon": m.by_horizon})
            summary.setdefault(m.group, {})[m.name] = summarise_metric(self.metrics[m.name], m)
        summary["outcome_groups"] = groups
        summary["quantiles_note"] = QUANTILES_NOTE
        summary["series"] = {s.name: {"unit": s.unit, "meaning": s.meaning, "log_scale": s.log_scale} for s in model.series}
        summary["series_order"] = [s.name for s in model.series]   # a list: stored summaries sort their keys
        summary["timings_seconds"] = self.timings
        return summary


def _evaluate(model: OutcomeModel, p: dict[str, np.ndarray], t_grid: np.ndarray, keep: int,
              kernel=None) -> Outcomes:
    n = len(next(iter(p.values())))
    prepared = model.prepare(p)
    out = model.evaluate(prepared, t_grid, keep) if kernel is None else kernel(model, prepared, t_grid, keep)
    # the contract, checked once per chunk: exactly the declared outputs, in the declared shapes
    declared = {m.name for m in model.metrics}
    if set(out.metrics) != declared or any(v.shape != (n,) for v in out.metrics.values()):
        raise AssertionError(f"{model.name}.evaluate returned metrics {sorted(out.metrics)} "
                             f"for {n} samples; it declares {sorted(declared)}")
    for s in model.series:
        rows = out.series.get(s.name)
        if rows is None or rows.ndim != 2 or rows.shape[1] != len(t_grid) or rows.shape[0] < min(keep, n):
            raise AssertionError(f"{model.name}.evaluate: series {s.name!r} needs at least {min(keep, n)} rows "
                                 f"of {len(t_grid)} grid times")
    return Outcomes(out.metrics, {k: _compact(v[:keep]) for k, v in out.series.items()})


def _compact(rows: np.ndarray) -> np.ndarray:
    """float32, unless a finite value lies beyond its range (an economy's compute reaches 1e200)."""
    rows = np.asarray(rows, dtype=np.float64)
    finite = rows[np.isfinite(rows)]
    if finite.size and np.abs(finite).max() > np.finfo(np.float32).max:
        return rows
    return rows.astype(np.float32)


def run_outcomes(scenario, params: dict[str, np.ndarray], *, progress: Callable[[int, int], None] | None = None,
                 t_sample: float = 0.0, compiled: bool = True) -> OutcomeEnsemble:
    """Evaluate every sample of ``params`` (drawn by the caller) with the scenario's outcome model:
    through its compiled kernel where one is registered (``rsilab.simulate.kernels``) unless
    ``compiled`` is False, else its own ``evaluate``."""
    from rsilab.simulate.kernels import kernel_for

    t0 = time.perf_counter()
    model: OutcomeModel = scenario.model
    kernel = kernel_for(model) if compiled else None
    n = len(next(iter(params.values())))
    t_grid = np.linspace(0.0, scenario.horizon_years, int(scenario.simulation["n_grid"]))
    chunk = int(model.chunk_samples)
    starts = list(range(0, n, chunk))
    args = [({k: v[s:s + chunk] for k, v in params.items()}, max(0, min(chunk, SERIES_ROWS - s))) for s in starts]
    pool = ThreadPoolExecutor(max_workers=cores(), thread_name_prefix="rsilab-outcome") if len(args) > 1 else None
    chunks = (pool.map(lambda a: _evaluate(model, a[0], t_grid, a[1], kernel), args) if pool is not None
              else (_evaluate(model, p, t_grid, keep, kernel) for p, keep in args))
    results: list[Outcomes] = gather(chunks, pool, chunk, n, progress)
    t_solve = time.perf_counter() - t0
    metrics = {m.name: np.concatenate([r.metrics[m.name] for r in results]) for m in model.metrics}
    series = {s.name: np.concatenate([r.series[s.name] for r in results], axis=0) for s in model.series}
    return OutcomeEnsemble(scenario=scenario, params=params, metrics=metrics, t_grid=t_grid, series_rows=series,
                           timings={"sampling": t_sample, "solving": t_solve, "total": t_sample + time.perf_counter() - t0,
                                    "workers": 1})
