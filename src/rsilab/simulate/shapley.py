"""Shapley effects of an outcome with respect to possibly correlated parameters.

Why Shapley effects (Owen 2014; Song, Nelson & Staum 2016) rather than Kucherenko's indices:
with correlated inputs, first- and total-order indices no longer split the variance (a parameter
correlated with an influential one gets a large first-order index without mattering itself,
and the indices can sum to more or less than one), so a ranking read off them is ambiguous.
Shapley effects share the variance among the parameters, each one's share lying in [0, 1] and
the shares summing to one, whatever the correlations; for independent inputs each lies between
that parameter's first- and total-order Sobol index. The exact estimator below visits every
subset of parameters and so yields Kucherenko's first-order index Var(E[Y | X_i]) / Var(Y) and
total index E[Var(Y | X_-i)] / Var(Y) at no extra cost; they are reported beside the effects.

The estimator is Song, Nelson & Staum's: the cost of a subset J of parameters is
c(J) = E[Var(Y | X_-J)], estimated by drawing X_-J (outer samples) and then N_INNER draws of
X_J given X_-J (inner samples) and averaging the inner sample variances; the Shapley effect of
i is the average over orderings of the parameters of c(parameters up to and including i) minus
c(those before it). ``exact`` enumerates all 2^d - 2 proper non-empty subsets (with Shapley's
subset weights, the average over all d! orderings) and is used up to EXACT_UP_TO free parameters;
beyond, ``random-permutation`` averages over random orderings, one outer sample per step, as
Song et al. recommend for a fixed budget. Var(Y), the cost of all parameters, is pooled from
every evaluation (each is, marginally, a draw from the joint prior).

Conditional draws are exact for rsilab's correlation model, a Gaussian copula: a parameter is
its prior's inverse CDF at Phi(z), with normal scores z of correlation matrix R, so z_J given
z_-J is normal with mean R_J,-J R_-J,-J^-1 z_-J and covariance R_JJ - R_J,-J R_-J,-J^-1 R_-J,J,
then mapped through each marginal. Conditioning is on the normal scores: for priors with a
strictly increasing inverse CDF that is conditioning on the parameter values; an empirical
prior's step inverse CDF makes it slightly finer than conditioning on the value.

Standard errors come from the delta method: every estimate is (mean of per-unit terms) / V + b,
with units (outer samples of one subset, or whole orderings) independent, so its linearisation
is a mean of independent terms and its variance is computed within each subset (stratum).

This module owns the estimator only: it never runs a simulation itself (the caller passes a
vectorised ``evaluate``), and imports numpy, our errors, the prior format and the copula's
helpers, never the Monte Carlo or the CLI.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import factorial
from typing import Callable, Mapping

import numpy as np

from rsilab.core.priors import Prior
from rsilab.errors import ConfigError
from rsilab.simulate.priors import correlation_matrix, normal_scores_to_uniforms

# Inner samples per outer sample: Song, Nelson & Staum's recommendation (their Section 5); two is
# the fewest an unbiased variance needs, and three costs little more while cutting the estimate's
# variance when the conditional variance changes little between outer samples.
N_INNER = 3
# Free parameters up to which every subset is visited (2^8 - 2 = 254 subsets). The subset count
# doubles with each parameter while an ordering's cost grows by one step; per standard error,
# visiting every subset took fewer simulations on the presets default (5 free parameters) and
# drift (8), more on boxing (10) (benchmarks/bench_sensitivity.py prints the comparison).
EXACT_UP_TO = 8
Z95 = 1.959963984540054


@dataclass(frozen=True)
class ShapleyEstimate:
    """Per parameter (in ``names`` order): the Shapley effect, and Kucherenko's first-order and
    total indices where the estimator visited the subsets they need (``exact``), with standard
    errors; ``variance`` is the pooled Var(Y)."""

    names: tuple[str, ...]
    estimator: str
    shapley: np.ndarray
    shapley_se: np.ndarray
    first_order: np.ndarray | None
    first_order_se: np.ndarray | None
    total: np.ndarray | None
    total_se: np.ndarray | None
    variance: float
    mean: float
    n_evaluations: int
    n_cost_estimates: int   # subsets (exact) or orderings (random-permutation)


def estimate_shapley(evaluate: Callable[[dict[str, np.ndarray]], np.ndarray], priors: Mapping[str, Prior],
                     correlations: Mapping[tuple[str, str], float], *, n_outer: int, rng: np.random.Generator,
                     estimator: str = "auto") -> ShapleyEstimate:
    """Shapley effects of ``evaluate``'s output over the free ``priors`` (all must be non-fixed).

    ``evaluate`` takes a dict of parameter arrays (one entry per free parameter, all the same
    length) and returns the outcome per sample; it is called once with every sample the
    estimator needs. ``n_outer``: outer samples per subset (``exact``) or orderings
    (``random-permutation``); ``estimator="auto"`` picks exact up to EXACT_UP_TO parameters.
    """
    names = tuple(priors)
    d = len(names)
    if estimator not in ("auto", "exact", "random-permutation"):
        raise ConfigError("estimator", estimator, "auto, exact or random-permutation")
    if n_outer < 2:  # a standard error needs two independent units per subset
        raise ConfigError("n_outer", n_outer, "at least 2")
    if estimator == "auto" or d == 1:  # one parameter has no orderings to sample
        estimator = "exact" if d <= EXACT_UP_TO else "random-permutation"
    corr = correlation_matrix(names, correlations)
    full = (1 << d) - 1
    if estimator == "exact":
        # every proper non-empty subset, n_outer outer samples each; with one parameter there is
        # none, and the one subset sampled (all of it, given nothing) only estimates Var(Y)
        masks = np.arange(1, full) if d > 1 else np.array([full])
        group_mask = np.repeat(masks, n_outer)
        orders = None
    else:
        orders = np.argsort(rng.random((n_outer, d)), axis=1)
        # ordering p, step j: the subset of its first j + 1 parameters (the last step, all of
        # them, is Var(Y), pooled)
        bits = np.cumsum(1 << orders[:, :-1], axis=1)
        group_mask = bits.reshape(-1)
    z = _conditional_scores(group_mask, corr, rng)                    # (d, groups, N_INNER)
    u = normal_scores_to_uniforms(z.reshape(d, -1))
    y = np.asarray(evaluate({name: priors[name].ppf(u[i]) for i, name in enumerate(names)}), dtype=float)
    y = y.reshape(len(group_mask), N_INNER)
    mean = float(y.mean())
    s2 = y.var(axis=1, ddof=1)                                        # inner variance per outer sample
    q = ((y - mean) ** 2).mean(axis=1)                                # its share of the pooled Var(Y)
    if not q.mean() > 0:
        raise ConfigError("outcome", f"{y.flat[0]:g} for every sample", "an outcome that varies across samples")
    if estimator == "exact":
        est, se = _exact(masks, s2, q, d, n_outer)
        sh, s1, st = est.reshape(3, d)
        sh_se, s1_se, st_se = se.reshape(3, d)
        n_cost = len(masks)
    else:
        sh, sh_se = _random_permutation(orders, s2, q, d)
        s1 = s1_se = st = st_se = None
        n_cost = n_outer
    return ShapleyEstimate(names, estimator, sh, sh_se, s1, s1_se, st, st_se, float(q.mean()), mean, y.size, n_cost)


def _conditional_scores(group_mask: np.ndarray, corr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normal scores (d, groups, N_INNER): per group, one outer draw of the scores outside its
    subset J (bitmask) and N_INNER draws of those in J given them."""
    d, groups = corr.shape[0], len(group_mask)
    z = np.empty((d, groups, N_INNER))
    for mask in np.unique(group_mask):
        rows = np.flatnonzero(group_mask == mask)
        inside = np.array([(int(mask) >> i) & 1 == 1 for i in range(d)])
        J, K = np.flatnonzero(inside), np.flatnonzero(~inside)
        if K.size:
            z_k = np.linalg.cholesky(corr[np.ix_(K, K)]) @ rng.standard_normal((K.size, rows.size))
            gain = np.linalg.solve(corr[np.ix_(K, K)], corr[np.ix_(K, J)]).T     # R_JK R_KK^-1
            cond_cov = corr[np.ix_(J, J)] - gain @ corr[np.ix_(K, J)]
            z[np.ix_(K, rows)] = z_k[:, :, None]
            centre = (gain @ z_k)[:, :, None]
        else:
            cond_cov, centre = corr, 0.0
        eps = rng.standard_normal((J.size, rows.size * N_INNER))
        z[np.ix_(J, rows)] = centre + (np.linalg.cholesky(cond_cov) @ eps).reshape(J.size, rows.size, N_INNER)
    return z


def subset_weights(d: int) -> np.ndarray:
    """(d, 2^d) coefficients of c(J) (J as a bitmask) in the Shapley value of each player:
    sum over J not holding i of |J|! (d - |J| - 1)! / d! (c(J + i) - c(J))."""
    w = [factorial(s) * factorial(d - s - 1) / factorial(d) for s in range(d)]
    out = np.zeros((d, 1 << d))
    for mask in range(1 << d):
        size = bin(mask).count("1")
        for i in range(d):
            if (mask >> i) & 1:
                out[i, mask] += w[size - 1]
            else:
                out[i, mask] -= w[size]
    return out


def _exact(masks: np.ndarray, s2: np.ndarray, q: np.ndarray, d: int, n_outer: int) -> tuple[np.ndarray, np.ndarray]:
    """Shapley effects, Kucherenko's first-order and total indices (3d values) and their SEs."""
    full = (1 << d) - 1
    coef = np.zeros((len(masks), 3 * d))
    offset = np.zeros(3 * d)
    if d > 1:
        weights = subset_weights(d)
        coef[:, :d] = weights[:, masks].T
        offset[:d] = weights[:, full]                                 # c(all) = Var(Y): 1/d each
        for i in range(d):
            coef[masks == full ^ (1 << i), d + i] = -1.0              # S_i = 1 - c(-i) / V
            coef[masks == 1 << i, 2 * d + i] = 1.0                    # T_i = c({i}) / V
        offset[d:2 * d] = 1.0
    else:
        offset[:] = 1.0                                               # one parameter holds it all
    k = len(masks)
    # per outer sample: k times its subset's coefficients, so that the mean over all of them is
    # sum_J coef_J c_hat(J)
    alpha = k * np.repeat(coef, n_outer, axis=0) * s2[:, None]
    return _ratio_estimate(alpha.reshape(k, n_outer, -1), q.reshape(k, n_outer), offset)


def _random_permutation(orders: np.ndarray, s2: np.ndarray, q: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    m = orders.shape[0]
    cost = np.zeros((m, d + 1))
    cost[:, 1:d] = s2.reshape(m, d - 1)                               # c(first j), with c({}) = 0
    # the last step's c(all) = Var(Y) enters as 1 after dividing by V: the offset below
    alpha = np.zeros((m, d))
    np.put_along_axis(alpha, orders, np.diff(cost, axis=1), axis=1)
    last = np.zeros((m, d))
    np.put_along_axis(last, orders[:, -1:], 1.0, axis=1)
    per_order_q = q.reshape(m, d - 1).mean(axis=1)
    return _ratio_estimate(alpha[None], per_order_q[None], 0.0, offset_units=last[None])


def _ratio_estimate(alpha: np.ndarray, q: np.ndarray, offset: np.ndarray | float, *,
                    offset_units: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """mean(alpha) / mean(q) + offset (+ mean(offset_units)), with delta-method standard errors.

    alpha (strata, units, k), q (strata, units): units are independent, identically distributed
    within a stratum; strata are fixed by the design, so the variance is summed within strata.
    """
    n = q.size
    V = q.mean()
    A = alpha.reshape(n, -1).mean(axis=0)
    h = alpha / V - q[..., None] * (A / V**2)
    est = A / V + offset
    if offset_units is not None:
        h = h + offset_units
        est = est + offset_units.reshape(n, -1).mean(axis=0)
    per_stratum = q.shape[1]
    var = per_stratum * h.var(axis=1, ddof=1).sum(axis=0) / n**2
    return est, np.sqrt(var)


def conf95(se: np.ndarray | None) -> np.ndarray | None:
    """Half-width of the normal 95% interval (None where there is no standard error)."""
    return None if se is None else Z95 * se


__all__ = ["ShapleyEstimate", "estimate_shapley", "subset_weights", "N_INNER", "EXACT_UP_TO"]
