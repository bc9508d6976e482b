"""Leave-one-cluster-out predictive check of the pooled model of k.

Owns ``loco_check``. Each cluster in turn is held out; the pooled model (``hierarchy``'s fast
path) is fitted to the others, and each held-out series' later levels are predicted from its
first two levels and the pooled predictive k of a new series of its family (a new family when
the held-out cluster was its family's only one):

    level_t | k = (1 - r_t) y_0 + r_t y_1 + noise,   r_t = S_t(k) / S_(t_1)(k)

with c0 and the first gain under flat priors given the two measured levels (so their noise
propagates), and the level's own noise added. The check is calibrated when the observed later
levels fall inside the central 90% of their predictive distributions about 90% of the time; the
probability integral transform (PIT) of each point is kept. Series whose noise is estimated
(no ``se`` or ``n_items``) have no noise to predict with and are skipped, and counted.

Imports numpy, scipy and the estimate modules.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr

from rsilab.estimate.hierarchy import pool_on_grid, theta_grid
from rsilab.estimate.levels import Levels, geometric_ratio, log_marginal
from rsilab.estimate.transforms import apply_transform, proportion_and_slope


def _observed(lv: Levels) -> tuple[np.ndarray, np.ndarray]:
    """The levels and their noise SDs on the fitting scale (binomial: at the continuity-corrected
    proportion, by the transform's slope)."""
    if lv.noise == "known":
        return np.asarray(lv.y, float), np.asarray(lv.sd, float)
    p = (lv.successes + 0.5) / (lv.trials + 1.0)
    z = apply_transform(p * (lv.ceiling or 1.0), lv.transform, lv.ceiling)
    _, dp = proportion_and_slope(z, lv.transform, lv.ceiling)
    return z, np.sqrt(p * (1 - p) / lv.trials) / dp


def predictive_pit(lv: Levels, theta: np.ndarray, density: np.ndarray, n_condition: int = 2) -> np.ndarray:
    """PIT of each level after the first ``n_condition`` under the predictive from those levels and
    the density of theta = ln k (on the grid ``theta``)."""
    y, sd = _observed(lv)
    order = np.argsort(lv.t)
    t, y, sd = np.asarray(lv.t, float)[order], y[order], sd[order]
    w = density * np.gradient(theta)
    w = w / w.sum()
    r = geometric_ratio(theta, t - t[0], t[1] - t[0])         # (K, n): 0 at the first level, 1 at the second
    later = slice(n_condition, None)
    mean = (1 - r[:, later]) * y[0] + r[:, later] * y[1]
    var = (1 - r[:, later]) ** 2 * sd[0] ** 2 + r[:, later] ** 2 * sd[1] ** 2 + sd[later] ** 2
    return (w[:, None] * ndtr((y[later] - mean) / np.sqrt(var))).sum(axis=0)


def loco_check(levels: list[Levels], families: list[str], clusters: list[str], names: list[str], *,
               level: float = 0.9, loglik: np.ndarray | None = None) -> dict[str, Any]:
    """Hold out each cluster in turn; the share of later levels inside their central ``level`` predictive interval.
    ``loglik``: each series' log marginal likelihood on ``theta_grid()``, where the caller has it already."""
    th = theta_grid()
    L = np.array([log_marginal(lv, th) for lv in levels]) if loglik is None else loglik
    per_series, skipped = [], []
    for c in sorted(set(clusters), key=clusters.index):
        held = [i for i, x in enumerate(clusters) if x == c]
        rest = [i for i in range(len(levels)) if i not in held]
        if len({clusters[i] for i in rest}) < 2:
            skipped.extend({"series": names[i], "reason": "fewer than 2 other clusters"} for i in held)
            continue
        g = pool_on_grid(L[rest], [families[i] for i in rest], [clusters[i] for i in rest], marginals="families")
        for i in held:
            lv = levels[i]
            if lv.noise == "estimated":
                skipped.append({"series": names[i], "reason": "noise estimated (no se or n_items)"})
                continue
            if lv.n < 3:
                skipped.append({"series": names[i], "reason": "fewer than 3 levels"})
                continue
            f = families[i]
            density = g.families[f]["new_series"] if f in g.families else g.new_series
            pit = predictive_pit(lv, th, density)
            per_series.append({"series": names[i], "cluster": c, "family": f,
                               "family_held_out": f not in g.families, "pit": pit.tolist()})
    pits = np.concatenate([s["pit"] for s in per_series]) if per_series else np.array([])
    tail = (1 - level) / 2
    inside = (pits >= tail) & (pits <= 1 - tail)
    return {"level": level, "coverage": float(inside.mean()) if pits.size else None, "n_points": int(pits.size),
            "n_series": len(per_series), "series": per_series, "skipped": skipped,
            "note": "each cluster held out; later levels predicted from the first two and the pooled k of a "
                    "new series of the family"}
