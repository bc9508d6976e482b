"""What each task takes to automate: training and runtime compute per task, per sample.

Each of goods and R&D has 100 labour tasks (easiest first) plus task 0, the work compute
already does, which needs nothing. The requirements of the labour tasks spread below the full
automation requirement over the FLOP gap as the model's authors place them: with one unit
u = gap^(1/7), the 100%, 50%, 20%, 10%, 5% and 0% quantiles of tasks lie 0, 4, 7, 8.5, 9.5 and
10.5 units below the top, log-linear in between (so 20% -> 100% spans exactly the gap). With a
steepness s > 0 they come in steps s OOMs apart within the gap. R&D needs the goods
requirements divided by ``goods_vs_rnd_requirements_*``.

numpy only; imports nothing of ours.
"""
from __future__ import annotations

import numpy as np

N_LABOUR_TASKS = 100
SECONDS_PER_YEAR = 60 * 60 * 24 * 365

# (quantile of tasks, gap units below the full-automation requirement)
_QUANTILES = np.array([0.0, 0.05, 0.1, 0.2, 0.5, 1.0])
_UNITS_BELOW = np.array([10.5, 9.5, 8.5, 7.0, 4.0, 0.0])
# gap units below the top for each labour task, easiest first
UNITS_BELOW_TOP = np.interp(np.linspace(0.0, 1.0, N_LABOUR_TASKS), _QUANTILES, _UNITS_BELOW)


def log10_requirements(top: np.ndarray, gap: np.ndarray, steepness: np.ndarray) -> np.ndarray:
    """log10 of each labour task's requirement, (n, 100), for per-sample ``top``, ``gap`` and
    ``steepness`` (OOMs per step; 0 for a smooth spread)."""
    log_top = np.log10(top)[:, None]
    log_gap = np.log10(gap)[:, None]
    req = log_top - log_gap / 7.0 * UNITS_BELOW_TOP[None, :]
    steep = steepness[:, None]
    if np.any(steep > 0):
        low = log_top - log_gap
        with np.errstate(divide="ignore", invalid="ignore"):
            stepped = low + np.ceil((req - low) / steep) * steep
        req = np.where(steep > 0, np.minimum(stepped, log_top), req)
    return req


def task_requirements(p) -> dict[str, np.ndarray]:
    """Natural logs of the training (FLOP) and runtime (FLOP per worker-year) requirements of
    every task, task 0 first at 1 FLOP (ln = 0): ``ln_training`` and ``ln_runtime``, each
    (2, n, 101) with goods first and R&D second; and ``training`` in FLOP, to count automatable
    tasks by the same comparison the model's authors make."""
    ln10 = np.log(10.0)
    top_train = np.asarray(p["full_automation_requirements_training"], dtype=float)
    top_run = np.asarray(p["full_automation_requirements_runtime"], dtype=float) * SECONDS_PER_YEAR
    tops = ((top_train, top_run), (top_train / p["goods_vs_rnd_requirements_training"],
                                   top_run / p["goods_vs_rnd_requirements_runtime"]))
    n = top_train.shape[0]
    ln_training = np.zeros((2, n, N_LABOUR_TASKS + 1))
    ln_runtime = np.zeros((2, n, N_LABOUR_TASKS + 1))
    training = np.ones((2, n, N_LABOUR_TASKS + 1))
    for k, (train, run) in enumerate(tops):
        log10_train = log10_requirements(train, np.asarray(p["flop_gap_training"], dtype=float),
                                         np.asarray(p["training_requirements_steepness"], dtype=float))
        log10_run = log10_requirements(run, np.asarray(p["flop_gap_runtime"], dtype=float),
                                       np.asarray(p["runtime_requirements_steepness"], dtype=float))
        ln_training[k, :, 1:] = log10_train * ln10
        ln_runtime[k, :, 1:] = log10_run * ln10
        training[k, :, 1:] = 10.0 ** log10_train
    return {"ln_training": ln_training, "ln_runtime": ln_runtime, "training": training}
