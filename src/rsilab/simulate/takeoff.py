"""The takeoff story of an ensemble: how likely an explosive phase is, how far and for how long
it runs, how much progress is compressed, and where the path ends.

The regimes (``rsilab.simulate.regimes``) read the effective returns over one stretch of each
path: the first output interval ("early") or the second half ("late"). A takeoff can be
explosive in between and still end in a fizzle as returns fall toward limits, so the headline
reads every output interval instead:

    p_eff = 1 + [ln g(t_{i+1}) - ln g(t_i)] / [ln I(t_{i+1}) - ln I(t_i)],   g = d ln I / dt,

the same secant elasticity as the regimes' (exactly p for dI/dt = c I^p), over each interval
between successive output times, and the last one up to the stop time of a blow-up. An interval
is explosive when p_eff > 1 + tol (the regime tolerance). Maps that carry their gain (the
discrete criticality model) are read as the regimes read them, by generation: generation i is
explosive when its gain is more than 1 + tol times the previous one's. Per sample this gives
whether any interval (generation) was explosive, the orders of magnitude of capability gained
over explosive ones and their total length in years.

This module imports numpy, ``rsilab.simulate.regimes`` and ``rsilab.simulate.compiled`` (which
compiles the per-sample loop) only (never the CLI or report/).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from rsilab.simulate import compiled
from rsilab.simulate.regimes import REGIME_LABELS

BLOCK = 4096   # samples per work item handed to a thread

# An interval whose ln-capability grew by less than this is not read: the secant elasticity
# divides by that growth, and on a flat stretch interpolation error in g would dominate it.
MIN_LN_GROWTH = 1e-3

# What each late regime says about where the takeoff ends (printed with the headline).
ENDINGS = {
    "explosion": "returns still above 1 at the end: growth still speeding up",
    "combustion": "returns about 1 at the end: steady exponential growth",
    "fizzle": "returns below 1 at the end: growth slowing (e.g. as returns fall toward limits)",
    "ceiling": "stopped at the model's capability ceiling",
}

STRETCH_FIELDS = ("explosive_any", "ooms_explosive", "years_explosive")


def explosive_stretch(sol, tol: float) -> dict[str, np.ndarray]:
    """Per sample of a solver ``Solution``: ``explosive_any`` (bool), ``ooms_explosive`` (log10
    capability gained while explosive) and ``years_explosive``."""
    if sol.gain_ratio is not None and sol.ln_path is not None:
        return generation_stretch(sol.ln_path, sol.step_times, tol)
    return interval_stretch(sol.t_grid, sol.y_grid[0], sol.rate_grid, sol.t_stop, sol.y_stop[0], sol.rate_stop, tol)


def generation_stretch(ln_path: np.ndarray, step_times: np.ndarray, tol: float) -> dict[str, np.ndarray]:
    """Gain maps: ``ln_path`` and ``step_times`` are (n, steps + 1), nan after a stop."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        dl = np.diff(ln_path, axis=1)                       # ln growth of each generation
        ln_gain = ln_path[:, :-1] + np.log(np.expm1(dl))    # ln of each generation's gain, without overflow
        ln_k = np.diff(ln_gain, axis=1)                     # ln(gain_{i+1} / gain_i)
        hot = np.isfinite(ln_k) & (ln_k > np.log1p(tol))
        ooms = np.where(hot, dl[:, 1:], 0.0).sum(axis=1) / np.log(10.0)
        years = np.where(hot, np.diff(step_times, axis=1)[:, 1:], 0.0).sum(axis=1)
    return {"explosive_any": hot.any(axis=1), "ooms_explosive": ooms, "years_explosive": years}


def interval_stretch(t_grid: np.ndarray, ln_cap: np.ndarray, rate: np.ndarray, t_stop: np.ndarray,
                     ln_cap_stop: np.ndarray, rate_stop: np.ndarray, tol: float) -> dict[str, np.ndarray]:
    """Per sample: ``explosive_any`` (bool), ``ooms_explosive`` (log10 capability gained over
    explosive intervals) and ``years_explosive``.

    ``ln_cap`` and ``rate`` are (n, g): ln capability and d ln I / dt at the output times
    (non-finite after a stop); the ``*_stop`` arrays are their values at ``t_stop``. Points
    without a finite capability and a positive rate are skipped; an interval whose growth is
    below ``MIN_LN_GROWTH`` is merged into the next one.
    """
    n = ln_cap.shape[0]
    hot = np.zeros(n, dtype=np.bool_)
    ooms, years = np.zeros(n), np.zeros(n)
    kernel = compiled.jit(_stretch_rows, "takeoff summary", announce=False)
    arrays = tuple(np.ascontiguousarray(a, dtype=np.float64) for a in (t_grid, ln_cap, rate, t_stop, ln_cap_stop, rate_stop))
    compiled.in_threads(lambda lo, hi: kernel(lo, hi, *arrays, float(tol), MIN_LN_GROWTH, hot, ooms, years), n, BLOCK)
    return {"explosive_any": hot, "ooms_explosive": ooms / np.log(10.0), "years_explosive": years}


def _stretch_rows(lo, hi, t_grid, ln_cap, rate, t_stop, ln_cap_stop, rate_stop, tol, min_growth, hot, ooms, years):
    """The per-sample loop of ``interval_stretch``, samples lo .. hi - 1 (compiled by numba;
    plain Python also runs it)."""
    g = ln_cap.shape[1]
    for i in range(lo, hi):
        have = False
        y_a = lr_a = t_a = 0.0
        for j in range(g + 1):
            if j < g:
                t = t_grid[j]
                if t > t_stop[i]:
                    continue
                y, r = ln_cap[i, j], rate[i, j]
            else:  # the stop point: a blow-up's last stretch ends here
                t, y, r = t_stop[i], ln_cap_stop[i], rate_stop[i]
            if not (math.isfinite(y) and math.isfinite(r) and r > 0.0):
                continue
            if have:
                dy = y - y_a
                if dy <= min_growth:
                    continue
            lr = math.log(r)  # after the merge test: a merged point's log is never read
            if have:
                # p_eff = 1 + (ln g_b - ln g_a) / dy > 1 + tol
                if lr - lr_a > tol * dy:
                    hot[i] = True
                    ooms[i] += dy
                    years[i] += t - t_a
            have = True
            y_a, lr_a, t_a = y, lr, t


def _quantiles(values: np.ndarray) -> dict[str, float | None]:
    if values.size == 0:
        return {"p10": None, "median": None, "p90": None}
    q = np.quantile(values, [0.1, 0.5, 0.9])
    return {"p10": float(q[0]), "median": float(q[1]), "p90": float(q[2])}


def compression_label(key: str) -> str:
    """``p_compress_3y_in_1y`` -> ``>= 3 years of progress in <= 1 year`` (the model's own labels)."""
    label = key.removeprefix("p_compress_")
    amount, _, window = label.partition("_in_")

    def words(s: str) -> str:
        for suffix, unit in (("mo", "months"), ("y", "years")):
            if s.endswith(suffix):
                num = s[: -len(suffix)]
                return f"{num} {unit[:-1] if num == '1' else unit}"
        return s

    return f">= {words(amount)} of progress in <= {words(window)}"


def takeoff_summary(stretch: dict[str, np.ndarray], late: dict[str, dict[str, float]], tol: float,
                    outputs: dict[str, Any]) -> dict[str, Any]:
    """The headline, in the order a reader asks: P(explosive at any point) with its standard
    error; for those samples, how far (orders of magnitude gained while explosive) and how long
    (years); the compression figures where the model has them (``p_compress_*`` outputs); and
    where it ends (the late regime, each word explained)."""
    hot = stretch["explosive_any"]
    n = hot.size
    p = float(hot.mean()) if n else 0.0
    compression = {k: {"p": float(v), "what": compression_label(k)} for k, v in outputs.items()
                   if k.startswith("p_compress_") and isinstance(v, float)}
    ending = max(REGIME_LABELS, key=lambda k: late[k]["p"])  # ties: the first in REGIME_LABELS
    return {
        "p_explosive": p,
        "p_explosive_se": float(np.sqrt(p * (1 - p) / max(n, 1))),
        "explosive_means": f"effective returns above 1 + {tol:g} over at least one output interval "
                           f"(gain maps: a generation's gain above 1 + {tol:g} times the previous one's)",
        "ooms_while_explosive": _quantiles(stretch["ooms_explosive"][hot]),
        "years_explosive": _quantiles(stretch["years_explosive"][hot]),
        "compression": compression,
        "ends": {"most_likely": ending, "late_regime_probabilities": {k: late[k]["p"] for k in REGIME_LABELS},
                 "late_regime_standard_errors": {k: late[k]["se"] for k in REGIME_LABELS},
                 "means": dict(ENDINGS), "late_means": "the effective returns over the second half of the path"},
    }
