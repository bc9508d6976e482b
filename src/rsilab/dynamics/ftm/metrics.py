"""The model's own metrics, read off a batch's series under the model's own names.

timeline_metrics (calendar years on the step grid; NaN when it never happens in the run):
- ``rampup_start``: the step at which the share of goods tasks automated reaches
  ``rampup_trigger`` (the wake-up; the last such crossing if it crossed more than once);
- ``automation_gns_20%``, ``automation_gns_100%``, ``automation_rnd_20%``, ``automation_rnd_100%``:
  the first step with at least 20% / 100% of goods / R&D tasks automated;
- ``sub_agi_year``, ``agi_year``: the step at which AI that could (without the
  runtime/training tradeoff) automate 20% / 100% of goods tasks is first trained (the last
  crossing, as above).
takeoff_metrics (years):
- ``full_automation_gns``, ``full_automation_rnd``: from more than 20% to 100% of tasks automated;
- ``sub_agi_to_agi``: ``agi_year - sub_agi_year``;
- ``cog_output_multiplier``: from AI more than doubling the cognitive output of hardware R&D to
  multiplying it by more than 10;
- ``gwp_growth``: from annual GWP growth above 5% to above 20% (growth over the past 10 steps);
GWP doubling times: the first step's, annualised, then the years each doubling of GWP takes
counted from the wake-up, rounded to 0.01 year; the first five.

These are the definitions of the model's authors (``compute_timeline_metrics``,
``compute_takeoff_metrics``, ``compute_doubling_times`` in their ftm/core/model.py), including
their choices of strict and non-strict inequalities. numpy only; imports nothing of ours.
"""
from __future__ import annotations

import numpy as np

TIMELINE_METRICS = ("rampup_start", "automation_gns_20%", "automation_gns_100%", "automation_rnd_20%",
                    "automation_rnd_100%", "sub_agi_year", "agi_year")
TAKEOFF_METRICS = ("full_automation_gns", "full_automation_rnd", "sub_agi_to_agi", "cog_output_multiplier",
                   "gwp_growth")
N_DOUBLINGS = 5


def first_index(condition: np.ndarray) -> np.ndarray:
    """First step (axis 0) where ``condition`` holds, per sample; -1 where it never does."""
    return np.where(condition.any(axis=0), condition.argmax(axis=0), -1)


def last_rising_index(condition: np.ndarray) -> np.ndarray:
    """Last step i, among all but the final one, where ``condition`` holds at i and not at
    i - 1 (before step 0 it does not hold), per sample; -1 if none. (The authors check each
    step's predecessors as the run goes, so the final step's is never checked.)"""
    held = condition[:-1]
    before = np.zeros_like(held)
    before[1:] = held[:-1]
    rising = held & ~before
    steps = rising.shape[0]
    flipped = rising[::-1]
    return np.where(rising.any(axis=0), steps - 1 - flipped.argmax(axis=0), -1)


def _years(index: np.ndarray, years: np.ndarray) -> np.ndarray:
    return np.where(index >= 0, years[np.maximum(index, 0)], np.nan)


def _span(start: np.ndarray, end: np.ndarray, t_step: float) -> np.ndarray:
    return np.where((start >= 0) & (end >= 0), (end - start) * t_step, np.nan)


def timeline_metrics(series: dict[str, np.ndarray], years: np.ndarray, trigger: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample timeline metrics ((n,) arrays, calendar years) from (steps, n) series."""
    goods = series["frac_tasks_automated_goods"]
    rnd = series["frac_tasks_automated_rnd"]
    capable = series["frac_automatable_tasks_goods_no_tradeoff"]
    return {
        "rampup_start": _years(last_rising_index(goods >= trigger[None, :]), years),
        "automation_gns_20%": _years(first_index(goods >= 0.2), years),
        "automation_gns_100%": _years(first_index(goods >= 1.0), years),
        "automation_rnd_20%": _years(first_index(rnd >= 0.2), years),
        "automation_rnd_100%": _years(first_index(rnd >= 1.0), years),
        "sub_agi_year": _years(last_rising_index(capable >= 0.2), years),
        "agi_year": _years(last_rising_index(capable >= 1.0), years),
    }


def gwp_growth(gwp: np.ndarray, t_step: float) -> np.ndarray:
    """Annual growth of GWP, ln(GWP(t) / GWP(t - 1 year)), at steps one year in to the
    penultimate one, (steps - 1 - year, n): the span the authors read."""
    delta = int(1 / t_step)
    last = gwp.shape[0] - 1
    return np.log(gwp[delta:last] / gwp[:last - delta])


def takeoff_metrics(series: dict[str, np.ndarray], timeline: dict[str, np.ndarray], t_step: float) -> dict[str, np.ndarray]:
    """Per-sample takeoff metrics ((n,) arrays, years)."""
    goods = series["frac_tasks_automated_goods"]
    rnd = series["frac_tasks_automated_rnd"]
    multiplier = series["automation_multiplier_rnd"]
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = gwp_growth(series["gwp"], t_step)
    return {
        "full_automation_gns": _span(first_index(goods > 0.2), first_index(goods >= 1.0), t_step),
        "full_automation_rnd": _span(first_index(rnd > 0.2), first_index(rnd >= 1.0), t_step),
        "sub_agi_to_agi": timeline["agi_year"] - timeline["sub_agi_year"],
        "cog_output_multiplier": _span(first_index(multiplier > 2), first_index(multiplier > 10), t_step),
        "gwp_growth": _span(first_index(growth > 0.05), first_index(growth > 0.20), t_step),
    }


def doubling_times(gwp: np.ndarray, years: np.ndarray, rampup_start: np.ndarray, t_step: float) -> np.ndarray:
    """(n, 5): the first step's GWP doubling time (years), then the years of each successive
    doubling from the wake-up (NaN where there is none), rounded to 0.01 year."""
    steps, n = gwp.shape
    out = np.full((n, N_DOUBLINGS), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[:, 0] = t_step / np.log2(gwp[1] / gwp[0]) if steps > 1 else np.nan
    cols = np.arange(n)
    ref = np.where(np.isfinite(rampup_start), np.rint((rampup_start - years[0]) / t_step), -1).astype(np.int64)
    index = np.arange(steps)[:, None]
    for k in range(1, N_DOUBLINGS):
        alive = ref >= 0
        if not alive.any():
            break
        target = 2.0 * gwp[np.maximum(ref, 0), cols]
        doubled = (gwp > target[None, :]) & (index >= ref[None, :]) & alive[None, :]
        nxt = first_index(doubled)
        found = nxt >= 0
        out[found, k] = years[nxt[found]] - years[ref[found]]
        ref = np.where(found, nxt, -1)
    return np.round(out, 2)


def all_metrics(series: dict[str, np.ndarray], years: np.ndarray, t_step: float,
                trigger: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric per sample under its own name, plus ``doubling_times`` (n, 5)."""
    timeline = timeline_metrics(series, years, trigger)
    takeoff = takeoff_metrics(series, timeline, t_step)
    return {**timeline, **takeoff, "doubling_times": doubling_times(series["gwp"], years, timeline["rampup_start"], t_step)}
