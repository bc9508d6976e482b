"""k pooled across series by exact quadrature on a tree: series within clusters within families.

Owns ``pool_on_grid``, the fast path of the pooled model (``rsilab.estimate.pooling`` also runs
the same model through PyMC's sampler). The model, on theta = ln k:

    mu                      ~ N(0, MU_PRIOR_SD^2)                (the typical series' ln k)
    mu_f  = mu  + w_f,        w_f ~ N(0, tau_f^2)                (method family f)
    m_c   = mu_f + u_c,       u_c ~ N(0, tau_c^2)                (cluster c: series sharing checkpoints)
    theta_i = m_c + v_i,      v_i ~ N(0, tau_s^2)                (series i)
    levels of series i | theta_i: the levels model (``rsilab.estimate.levels``), its c0, G and
                                  unknown noise SD integrated out: a likelihood L_i(theta) on a grid
    tau_f, tau_c, tau_s     ~ half-normal(TAU_PRIOR_SD) each, on a grid of values

The hierarchy is a tree, so for every value of the three taus the posterior of every node is
exact by sum-product message passing with each integral a Gaussian convolution on the theta grid
(upward: each node's likelihood from its children; downward: its prior from the rest); the taus
are then integrated over their grid with weights proportional to the evidence times the prior.
Nothing is sampled, so the answer is the same on every run; accuracy is the grids' (theta: 241
points on [ln 1/20, ln 20]; each tau: 11 values on [0, 1.6]). One family: no family level (tau_f
is 0, the family mean is mu).

Imports numpy and threadpoolctl only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from rsilab.errors import EstimationError
from rsilab.estimate.kposterior import KPosterior
from rsilab.estimate.levels import K_HIGH, K_LOW
from rsilab.estimate.levels import theta_grid as levels_theta_grid

MU_PRIOR_SD = 1.0      # k of the typical series within a factor e^2 (0.14 to 7.4) of 1 at two SDs
TAU_PRIOR_SD = 0.5     # spread of ln k between families, clusters, series: a factor 1.65 at one SD
N_THETA = 241
TAU_GRID = np.array([0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.3, 1.6])


def theta_grid() -> np.ndarray:
    """The pooled model's grid of ln k: the levels model's, at N_THETA points."""
    return levels_theta_grid(N_THETA)


def tau_log_prior(grid: np.ndarray, sd: float = TAU_PRIOR_SD) -> np.ndarray:
    """ln of the half-normal(sd) prior's mass at each grid value (trapezoid weights on the grid)."""
    if len(grid) == 1:
        return np.zeros(1)
    w = np.zeros(len(grid))
    d = np.diff(grid)
    w[:-1] += d / 2
    w[1:] += d / 2
    return np.log(w) - 0.5 * (grid / sd) ** 2


@lru_cache(maxsize=4096)
def gaussian_kernel(tau: float) -> np.ndarray:
    """The Gaussian convolution on the theta grid: (f * N(0, tau^2))(theta_i) = sum_j f_j K[i, j].
    Cached: the same taus recur across the mixture and across the leave-one-out refits."""
    n = N_THETA
    if tau <= 0:
        return np.eye(n)
    h = (np.log(K_HIGH) - np.log(K_LOW)) / (n - 1)
    offsets = np.arange(-(n - 1), n) * h
    row = np.exp(-0.5 * (offsets / tau) ** 2)
    row /= row.sum()             # an interior row sums to 1: no mass made or lost by the grid
    idx = np.arange(n)
    return row[(idx[:, None] - idx[None, :]) + n - 1]


def _lse(x: np.ndarray) -> float:
    m = float(np.max(x))
    return m + float(np.log(np.sum(np.exp(x - m)))) if np.isfinite(m) else m


def log_convolve(logf: np.ndarray, K: np.ndarray) -> np.ndarray:
    """ln of (exp(logf) convolved by K), row by row, without underflow."""
    logf = np.atleast_2d(logf)
    m = np.max(logf, axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    # a product far from all mass underflows to 0: floored at e^-700, so no message is -inf
    return np.log(np.maximum(np.exp(logf - m) @ K.T, np.exp(-700.0))) + m


def _normalise(logp: np.ndarray, th: np.ndarray) -> np.ndarray:
    p = np.exp(logp - logp.max())
    return p / np.trapezoid(p, th)


@dataclass
class GridPool:
    """What ``pool_on_grid`` finds. Densities are over ``theta`` (ln k), mixed over the taus."""

    theta: np.ndarray
    mu: np.ndarray                              # posterior of mu
    new_series: np.ndarray                      # predictive theta of a new series (new family, cluster)
    families: dict[str, dict[str, np.ndarray]]  # per family: "mean" (mu_f), "new_series" (new cluster in f)
    series: np.ndarray                          # (S, G) posterior of each theta_i (shrunk)
    tau_post: dict[str, np.ndarray]             # marginal posterior mass of each tau on TAU_GRID
    tau_grid: dict[str, np.ndarray]
    log_evidence: float
    family_names: list[str] = field(default_factory=list)

    def posterior(self, density: np.ndarray) -> KPosterior:
        return KPosterior(self.theta, density / np.trapezoid(density, self.theta))

    def tau_summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for name, mass in self.tau_post.items():
            grid = self.tau_grid[name]
            cdf = np.cumsum(mass)
            out[name] = {"mean": float(mass @ grid), "median": float(grid[np.searchsorted(cdf, 0.5)]),
                         "p95": float(grid[min(np.searchsorted(cdf, 0.95), len(grid) - 1)])}
        return out


def pool_on_grid(loglik: np.ndarray, families: list[str], clusters: list[str], *,
                 marginals: str = "all") -> GridPool:
    """Pool series given their log-likelihood of theta on ``theta_grid()`` (shape (S, N_THETA)).

    ``families``, ``clusters``: per series; every cluster must lie within one family.
    ``marginals``: "all"; "families" (no series' posteriors); "none" (mu, a new series and the
    evidence only).
    """
    from threadpoolctl import threadpool_limits

    # thousands of products of a few rows by a 241 x 241 kernel: a BLAS spreading each over
    # threads spends far longer synchronising them than multiplying
    with threadpool_limits(1, user_api="blas"):
        return _pool(loglik, families, clusters, marginals)


def _pool(loglik: np.ndarray, families: list[str], clusters: list[str], marginals: str) -> GridPool:
    th = theta_grid()
    L = np.asarray(loglik, float)
    S = len(L)
    if L.shape != (S, len(th)):
        raise ValueError(f"loglik must have shape (series, {len(th)})")
    fam_names = sorted(set(families), key=families.index)
    cl_names = sorted(set(clusters), key=clusters.index)
    fam_of_cl = {}
    for f, c in zip(families, clusters):
        if fam_of_cl.setdefault(c, f) != f:
            raise EstimationError(f"cluster {c!r} holds series of two families ({fam_of_cl[c]!r}, {f!r}): "
                                  "a cluster's series share checkpoints, so they share a method family")
    s_cl = np.array([cl_names.index(c) for c in clusters])
    c_fam = np.array([fam_names.index(fam_of_cl[c]) for c in cl_names])
    # a floor 700 nats below each series' peak (a density of e^-700 is nothing next to the peak's):
    # every message stays finite, so the downward pass's divisions (subtractions of logs) are exact
    L = np.nan_to_num(L, nan=-np.inf, posinf=-np.inf)
    if not np.isfinite(L.max(axis=1)).all():
        raise EstimationError("a series' likelihood of k is zero everywhere on the grid")
    L = np.maximum(L, L.max(axis=1, keepdims=True) - 700.0)
    grids = {"family": TAU_GRID if len(fam_names) > 1 else np.zeros(1), "cluster": TAU_GRID, "series": TAU_GRID}
    lp = {k: tau_log_prior(g) for k, g in grids.items()}
    def kern(tau: float) -> np.ndarray:
        return gaussian_kernel(round(float(tau), 12))

    log_mu_prior = -0.5 * (th / MU_PRIOR_SD) ** 2
    h = th[1] - th[0]
    n_c, n_f = len(cl_names), len(fam_names)
    member_c = np.zeros((n_c, S)); member_c[s_cl, np.arange(S)] = 1          # sums of log messages by cluster
    member_f = np.zeros((n_f, n_c)); member_f[c_fam, np.arange(n_c)] = 1     # ... and by family
    # upward pass for every tau combination: the evidence, and the weights of the mixture
    up: dict[tuple[int, ...], Any] = {}
    combos, logw = [], []
    for iS, tS in enumerate(grids["series"]):
        lam_s = log_convolve(L, kern(tS))
        Lam_c = member_c @ lam_s
        up[(iS,)] = (lam_s, Lam_c)
        for iC, tC in enumerate(grids["cluster"]):
            lam_c = log_convolve(Lam_c, kern(tC))
            Lam_f = member_f @ lam_c
            up[(iS, iC)] = (lam_c, Lam_f)
            for iF, tF in enumerate(grids["family"]):
                lam_f = log_convolve(Lam_f, kern(tF))
                root = log_mu_prior + lam_f.sum(0)
                up[(iS, iC, iF)] = (lam_f, root)
                combos.append((iS, iC, iF))
                logw.append(_lse(root) + np.log(h) + lp["series"][iS] + lp["cluster"][iC] + lp["family"][iF])
    logw = np.array(logw)
    log_evidence = _lse(logw)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    G = len(th)
    mu_post = np.zeros(G)
    new_series = np.zeros(G)
    fam_mean = np.zeros((n_f, G))
    fam_new = np.zeros((n_f, G))
    series_post = np.zeros((S, G))
    tau_post = {k: np.zeros(len(g)) for k, g in grids.items()}

    def normalise_rows(logp):
        p = np.exp(logp - logp.max(axis=1, keepdims=True))
        return p / np.trapezoid(p, th, axis=1)[:, None]

    for (iS, iC, iF), wt in zip(combos, w):
        tau_post["series"][iS] += wt
        tau_post["cluster"][iC] += wt
        tau_post["family"][iF] += wt
        if wt < 1e-6:
            continue          # negligible in the mixture: its downward pass changes no printed digit
        tS, tC, tF = grids["series"][iS], grids["cluster"][iC], grids["family"][iF]
        lam_s, Lam_c = up[(iS,)]
        lam_c, Lam_f = up[(iS, iC)]
        lam_f, root = up[(iS, iC, iF)]
        mu_d = _normalise(root, th)
        mu_post += wt * mu_d
        new_series += wt * _normalise(log_convolve(np.log(mu_d + 1e-300), kern(np.sqrt(tS ** 2 + tC ** 2 + tF ** 2)))[0], th)
        if marginals == "none":
            continue
        post_f = log_convolve(root[None, :] - lam_f, kern(tF)) + Lam_f                   # (F, G)
        d = normalise_rows(post_f)
        fam_mean += wt * d
        fam_new += wt * normalise_rows(log_convolve(np.log(d + 1e-300), kern(np.sqrt(tS ** 2 + tC ** 2))))
        if marginals == "families":
            continue
        pi_c = log_convolve(post_f[c_fam] - lam_c, kern(tC))                             # (C, G)
        pi_s = log_convolve((pi_c + Lam_c)[s_cl] - lam_s, kern(tS))                      # (S, G)
        series_post += wt * normalise_rows(pi_s + L)
    return GridPool(theta=th, mu=mu_post, new_series=new_series,
                    families={f: {"mean": fam_mean[j], "new_series": fam_new[j]} for j, f in enumerate(fam_names)},
                    series=series_post, tau_post=tau_post, tau_grid=grids, log_evidence=log_evidence,
                    family_names=fam_names)
