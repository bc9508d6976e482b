"""Can the levels tell geometric returns from constant returns toward a ceiling?

Owns ``compare_saturation``. A loop whose gains shrink by k < 1 per round (a fizzle) and a loop
that keeps constant returns on a latent scale but is read through a metric that saturates below
its bound look alike on a few noisy levels. The second model, "constant returns toward a
ceiling", is

    level_t = L * logistic(a + b t)        (in the metric's own units; 0 < L <= the metric's bound)

with three parameters (a, b, L), as many as the geometric model's (c0, G, k). Both are scored
under the same noise model (``rsilab.estimate.levels``), so their maximum likelihoods compare
directly: a likelihood ratio below ``TELL_APART`` (3, "barely worth mentioning" on Jeffreys'
scale) either way means the data cannot tell them apart, and a fizzle verdict may then be the
metric's ceiling rather than the loop's returns.

Imports numpy, scipy and the levels model.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize
from scipy.special import expit

from rsilab.estimate.levels import Levels, likelihood
from rsilab.estimate.transforms import apply_transform

TELL_APART = 3.0


def _loglik(levels: Levels, mean_value: np.ndarray) -> float:
    """The noise model's log-likelihood of a mean path given in the metric's units."""
    c = levels.ceiling
    if levels.noise == "binomial":
        p = np.clip(mean_value / c, 1e-300, 1 - 1e-16)
        x, N = levels.successes, levels.trials
        return float(np.sum(x * np.log(p) + (N - x) * np.log1p(-p)))
    with np.errstate(all="ignore"):
        mu = apply_transform(np.clip(mean_value, 1e-300, None if c is None else c * (1 - 1e-12)),
                             levels.transform, c)
    r = np.asarray(levels.y) - mu
    if levels.noise == "known":
        return float(-0.5 * np.sum((r / levels.sd) ** 2))
    n = len(r)
    return float(-0.5 * n * np.log(max(np.mean(r * r), 1e-300)) - 0.5 * n)


def _observed_values(levels: Levels) -> np.ndarray:
    if levels.noise == "binomial":
        return levels.successes / levels.trials * levels.ceiling
    from rsilab.estimate.transforms import invert_transform

    return invert_transform(np.asarray(levels.y, float), levels.transform, levels.ceiling)


def fit_saturation(levels: Levels) -> dict[str, float]:
    """The maximum-likelihood (a, b, L) of constant returns toward a ceiling, and its log-likelihood."""
    v = _observed_values(levels)
    t = np.asarray(levels.t, float)
    c = levels.ceiling
    top = float(np.max(v))

    def ceiling_of(lam):
        return c * expit(lam) if c is not None else top * np.exp(lam)

    def neg(params):
        a, b, lam = params
        return -_loglik(levels, ceiling_of(lam) * expit(a + b * t))

    best = None
    for share in (0.2, 0.8):             # start the ceiling a fifth and four fifths of the way to the bound
        L0 = top + share * ((c - top) if c is not None else top)
        q = np.clip(v / L0, 1e-6, 1 - 1e-6)
        b0, a0 = np.polyfit(t, np.log(q) - np.log1p(-q), 1)
        lam0 = np.log(L0 / (c - L0)) if c is not None else np.log(L0 / top)
        res = optimize.minimize(neg, [a0, b0, lam0], method="Nelder-Mead",
                                options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 3000})
        if best is None or res.fun < best.fun:
            best = res
    a, b, lam = best.x
    return {"a": float(a), "b": float(b), "ceiling": float(ceiling_of(lam)), "loglik": float(-best.fun)}


def compare_saturation(levels: Levels) -> dict[str, Any]:
    """The two models' maximum log-likelihoods, their ratio, and which the data favour (or neither)."""
    geo = float(np.nanmax(likelihood(levels)[1]))
    sat = fit_saturation(levels)
    lr = geo - sat["loglik"]
    if abs(lr) < np.log(TELL_APART):
        favoured = "neither"
        note = (f"the data cannot tell geometric returns from constant returns toward a ceiling of "
                f"{sat['ceiling']:.4g} (likelihood ratio {np.exp(abs(lr)):.2g} < {TELL_APART:g})")
    elif lr > 0:
        favoured = "geometric"
        note = f"the data favour geometric returns (likelihood ratio {np.exp(min(lr, 700)):.3g})"
    else:
        favoured = "saturation"
        note = (f"the data favour constant returns toward a ceiling of {sat['ceiling']:.4g} over geometric returns "
                f"(likelihood ratio {np.exp(min(-lr, 700)):.3g}): the path looks like an S-curve, so k describes "
                "where on it the rounds fell rather than compounding; read the verdict with care")
    return {"geometric_loglik": geo, "saturation_loglik": sat["loglik"], "log_likelihood_ratio": float(lr),
            "saturation_ceiling": sat["ceiling"], "saturation_slope": sat["b"], "favoured": favoured,
            "note": note}
