"""The ratio method's pooling (for comparison only): a random-effects model of successive gains, by REML.

Each series' k is here the regression of each gain on the previous one, which measurement noise
biases toward 0 (``rsilab.estimate.rounds``); ``rsilab.estimate.pooling`` pools on the levels
instead. Kept so that ``rsilab evidence fit --method ratio`` shows the figures this model gave.

Owns ``RatioPooledK``, the hierarchical model of the returns per round k across published (and
users') series. Within series i, each pair of successive gains (on the chosen transform's scale,
divided by the series' root-mean-square gain so that every series speaks in the same units)
follows the definition of k:

    g_(j+1) = k_i g_j + e_j,                e_j ~ N(0, sigma^2)
    k_i     = mu + u_cluster(i) + v_i,      u ~ N(0, tau_c^2), v ~ N(0, tau_s^2)

Series of one run (same paper, method and model: they share checkpoints) form a cluster. This is
a linear mixed model with random slopes; REML estimates (sigma^2, tau_c^2, tau_s^2), mu is the
generalised least-squares estimate and the per-series k are the shrunken (BLUP) predictions.
The model is on k itself rather than ln k: a log ratio is undefined when a gain is zero or
negative, which happens in many published series (a metric that dips), and dropping those
pairs would bias k upward.

Method families are a second fit's grouping level: the same model with one mean per family
(fixed effects) instead of one mu, which gives each family's mean k and the predictive
P(k > 1) for a new series of that family. Intervals use Student's t with (clusters - means)
degrees of freedom, since the clusters are the independent units. Heterogeneity: tau (SD of
the true k across series) and the I^2 analogue tau^2 / (tau^2 + typical within-series variance
of a series' own k). Leave-one-out: the pooled k refitted without each series.

Imports numpy and scipy only (and our errors); never rsilab.simulate.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from rsilab.errors import ConfigError, EstimationError
from rsilab.estimate.result import check_level

_LOG_RATIO_BOUNDS = (-14.0, 4.0)  # ln(tau^2 / sigma^2): between-series variance against the residual's


@dataclass
class _Data:
    """Stacked pairs of successive normalised gains, with each pair's series and cluster index."""

    x: np.ndarray
    y: np.ndarray
    series: np.ndarray
    cluster: np.ndarray
    n_series: int
    n_clusters: int


def normalised_pairs(gains: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(earlier, later) gains of each successive pair, in units of the series' RMS gain (k is unchanged)."""
    g = np.asarray(gains, float)
    g = g / float(np.sqrt(np.mean(g ** 2)))
    return g[:-1], g[1:]


def stack_pairs(pairs: list[tuple[np.ndarray, np.ndarray]], clusters: list[str]) -> _Data:
    xs, ys, si, ci = [], [], [], []
    names = sorted(set(clusters), key=clusters.index)
    for i, ((x, y), c) in enumerate(zip(pairs, clusters)):
        xs.append(np.asarray(x, float)); ys.append(np.asarray(y, float))
        si.append(np.full(len(x), i)); ci.append(np.full(len(x), names.index(c)))
    return _Data(np.concatenate(xs), np.concatenate(ys), np.concatenate(si), np.concatenate(ci),
                 len(pairs), len(names))


@dataclass
class _Fit:
    beta: np.ndarray
    beta_cov: np.ndarray
    sigma2: float
    tau_c2: float
    tau_s2: float
    blup_c: np.ndarray
    blup_s: np.ndarray
    pev: np.ndarray  # prediction error covariance of (beta, u, v), Henderson's C matrix
    reml: float
    converged: bool = True  # the REML polish's own verdict (scipy's success)


def _design(d: _Data, groups: np.ndarray | None, n_groups: int) -> np.ndarray:
    if groups is None:
        return d.x[:, None]
    X = np.zeros((len(d.x), n_groups))
    X[np.arange(len(d.x)), groups] = d.x
    return X


def _zmat(d: _Data) -> tuple[np.ndarray, np.ndarray]:
    n = len(d.x)
    Zc = np.zeros((n, d.n_clusters)); Zc[np.arange(n), d.cluster] = d.x
    Zs = np.zeros((n, d.n_series)); Zs[np.arange(n), d.series] = d.x
    return Zc, Zs


def _series_stats(d: _Data) -> tuple[np.ndarray, ...]:
    """Per-series sufficient statistics: sum x^2, sum x y, sum y^2, pair count, cluster of each series."""
    a = np.bincount(d.series, d.x * d.x, d.n_series)
    b = np.bincount(d.series, d.x * d.y, d.n_series)
    c = np.bincount(d.series, d.y * d.y, d.n_series)
    n = np.bincount(d.series, minlength=d.n_series).astype(float)
    cl = np.zeros(d.n_series, int)
    cl[d.series] = d.cluster
    return a, b, c, n, cl


def neg_reml(log_ratios: np.ndarray, stats_: tuple[np.ndarray, ...], n_clusters: int, cluster_group: np.ndarray,
             n_groups: int, *, with_sigma2: bool = False):
    """Minus the REML log-likelihood (up to a constant), sigma^2 profiled out, at
    ``log_ratios`` = (ln tau_c^2 / sigma^2, ln tau_s^2 / sigma^2), shape (2,) or (G, 2).

    Closed form: V = sigma^2 H is block-diagonal by cluster, and each block is the identity plus
    rank-one terms (one per series, one for the cluster), so two Sherman-Morrison steps give every
    quadratic form and log-determinant from per-series sums. Each cluster belongs to one group
    (family), so X' H^-1 X is diagonal. Vectorised over a grid of rows at once.
    """
    a, b, c, n, cl = stats_
    th = np.atleast_2d(log_ratios)
    c2, t2 = np.exp(th[:, 0])[:, None], np.exp(th[:, 1])[:, None]
    D = 1 + t2 * a  # (G, S)
    xax, xay = a / D, b / D
    yay = c - t2 * b * b / D
    onehot = np.zeros((len(a), n_clusters)); onehot[np.arange(len(a)), cl] = 1
    P, Q, R, LA = xax @ onehot, xay @ onehot, yay @ onehot, np.log(D) @ onehot  # (G, C)
    E = 1 + c2 * P
    xbx, xby, yby = P / E, Q / E, R - c2 * Q * Q / E
    grp = np.zeros((n_clusters, n_groups)); grp[np.arange(n_clusters), cluster_group] = 1
    XtX, Xty = xbx @ grp, xby @ grp  # (G, groups)
    quad = yby.sum(axis=1) - np.sum(Xty * Xty / XtX, axis=1)
    dof = n.sum() - n_groups
    sigma2 = quad / dof
    out = 0.5 * ((LA + np.log(E)).sum(axis=1) + np.log(XtX).sum(axis=1) + dof * np.log(sigma2))
    if np.ndim(log_ratios) == 1:
        out, sigma2 = out[0], sigma2[0]
    return (out, sigma2) if with_sigma2 else out


def _fit(d: _Data, groups: np.ndarray | None = None, n_groups: int = 1) -> _Fit:
    X = _design(d, groups, n_groups)
    Zc, Zs = _zmat(d)
    y = d.y
    if len(y) - X.shape[1] < 1:
        raise EstimationError(f"{len(y)} pairs of gains for {X.shape[1]} means: too few to pool")
    st = _series_stats(d)
    cluster_group = np.zeros(d.n_clusters, int)
    if groups is not None:
        cluster_group[d.cluster] = groups
    args = (st, d.n_clusters, cluster_group, n_groups)
    # a fine grid over the two variance ratios (evaluated at once), then a local polish: the
    # optimum is often on the boundary (a tau of 0), where a local optimiser's steps in log
    # space stall on a plateau
    axis = np.linspace(*_LOG_RATIO_BOUNDS, 46)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    start = grid[np.argmin(neg_reml(grid, *args))]
    best = optimize.minimize(lambda t: float(neg_reml(t, *args)), start, method="L-BFGS-B",
                             bounds=[_LOG_RATIO_BOUNDS] * 2)
    s2 = float(neg_reml(best.x, *args, with_sigma2=True)[1])
    c2, t2 = s2 * np.exp(best.x)
    # Henderson's mixed-model equations: fixed effects, BLUPs and their joint error covariance
    Z = np.hstack([Zc, Zs])
    W = np.hstack([X, Z])
    Ginv = np.concatenate([np.zeros(X.shape[1]), np.full(Zc.shape[1], 1 / c2), np.full(Zs.shape[1], 1 / t2)])
    C = W.T @ W / s2 + np.diag(Ginv)
    Cinv = np.linalg.inv(C)
    sol = Cinv @ (W.T @ y / s2)
    p = X.shape[1]
    return _Fit(beta=sol[:p], beta_cov=Cinv[:p, :p], sigma2=float(s2), tau_c2=float(c2), tau_s2=float(t2),
                blup_c=sol[p:p + d.n_clusters], blup_s=sol[p + d.n_clusters:], pev=Cinv, reml=-float(best.fun),
                converged=bool(best.success))


def cluster_group_of(d: _Data, per_pair_group: np.ndarray) -> np.ndarray:
    out = np.zeros(d.n_clusters, int)
    out[d.cluster] = per_pair_group
    return out


class RatioPooledK:
    """Random-effects pooling of k. ``fit(gains, clusters, families, names)`` returns self.

    Learned: ``k_`` (pooled mean k, ``k_interval_``), ``tau_``, ``tau_cluster_``, ``tau_series_``,
    ``sigma_``, ``i2_``, ``p_new_k_gt_1_`` (predictive, a new series), ``series_`` (per-series
    own k with interval and shrunken k), ``families_`` (mean k, interval, predictive P(k > 1)),
    ``loo_`` (pooled k without each series).
    """

    def __init__(self, *, level: float = 0.9, loo: bool = True):
        self.level, self.loo = level, loo   # checked in fit (scikit-learn's contract)

    def fit(self, gains: list[np.ndarray], clusters: list[str], families: list[str] | None = None,
            names: list[str] | None = None) -> "RatioPooledK":
        """Pool series given as their gains per round (on one transform's scale each)."""
        names = names or [f"series {i}" for i in range(len(gains))]
        for g, n in zip(gains, names):
            if len(g) < 2:
                raise EstimationError(f"series {n!r} has {len(g)} gains; at least 2 (3 rounds) are needed")
            if not np.any(np.asarray(g) != 0):
                raise EstimationError(f"series {n!r} gained nothing in any round: k is undefined")
        return self.fit_pairs([normalised_pairs(g) for g in gains], clusters, families, names)

    def fit_pairs(self, pairs: list[tuple[np.ndarray, np.ndarray]], clusters: list[str],
                  families: list[str] | None = None, names: list[str] | None = None) -> "RatioPooledK":
        """Pool series given as (earlier gains, later gains) pairs in comparable units."""
        check_level(self.level)
        names = names or [f"series {i}" for i in range(len(pairs))]
        families = families or ["all"] * len(pairs)
        if len(pairs) < 2:
            raise EstimationError(f"{len(pairs)} series: pooling needs at least 2")
        d = stack_pairs(pairs, clusters)
        q = 1 - (1 - self.level) / 2
        f = _fit(d)
        df = max(d.n_clusters - 1, 1)
        tq = stats.t.ppf(q, df)
        mu, se = float(f.beta[0]), float(np.sqrt(f.beta_cov[0, 0]))
        self.n_series_, self.n_clusters_, self.n_pairs_, self.df_ = d.n_series, d.n_clusters, len(d.x), df
        self.k_, self.k_se_ = mu, se
        self.k_interval_ = (mu - tq * se, mu + tq * se)
        self.sigma_ = float(np.sqrt(f.sigma2))
        self.tau_cluster_, self.tau_series_ = float(np.sqrt(f.tau_c2)), float(np.sqrt(f.tau_s2))
        tau2 = f.tau_c2 + f.tau_s2
        self.tau_ = float(np.sqrt(tau2))
        pred_sd = float(np.sqrt(se ** 2 + tau2))
        self.p_new_k_gt_1_ = float(stats.t.sf((1 - mu) / pred_sd, df))
        self.predictive_ = {"mean": mu, "sd": pred_sd, "df": df,
                            "interval": (mu - tq * pred_sd, mu + tq * pred_sd)}
        # each series' own k (least squares within the series) with the pooled residual SD
        sxx = np.bincount(d.series, d.x ** 2, d.n_series)
        sxy = np.bincount(d.series, d.x * d.y, d.n_series)
        own_k = sxy / sxx
        own_var = f.sigma2 / sxx
        w = 1 / own_var
        typical = (d.n_series - 1) * w.sum() / (w.sum() ** 2 - (w ** 2).sum()) if d.n_series > 1 else float("nan")
        self.typical_within_var_ = float(typical)
        self.i2_ = float(tau2 / (tau2 + typical))
        zq = stats.norm.ppf(q)
        self.series_ = []
        p = 1
        for i in range(d.n_series):
            c = d.cluster[np.flatnonzero(d.series == i)[0]]
            Lvec = np.zeros(len(f.pev)); Lvec[0] = 1; Lvec[p + c] = 1; Lvec[p + d.n_clusters + i] = 1
            shrunk = mu + f.blup_c[c] + f.blup_s[i]
            shrunk_se = float(np.sqrt(Lvec @ f.pev @ Lvec))
            self.series_.append({"name": names[i], "family": families[i], "cluster": clusters[i],
                                 "k_own": float(own_k[i]), "k_own_se": float(np.sqrt(own_var[i])),
                                 "k_own_interval": (float(own_k[i] - zq * np.sqrt(own_var[i])),
                                                    float(own_k[i] + zq * np.sqrt(own_var[i]))),
                                 "k_shrunk": float(shrunk), "k_shrunk_interval": (float(shrunk - tq * shrunk_se),
                                                                                  float(shrunk + tq * shrunk_se)),
                                 "n_pairs": int(np.sum(d.series == i))})
        self.families_ = self._families(d, families, q)
        self.loo_ = self._loo(pairs, clusters, names, mu) if self.loo else []
        self.converged_ = f.converged
        self.message_ = (f"REML random-effects fit: {len(d.x)} pairs of gains, "
                         f"{d.n_series} series, {d.n_clusters} clusters"
                         + ("" if f.converged else "; the REML optimiser did not report convergence"))
        return self

    def _families(self, d: _Data, families: list[str], q: float) -> dict[str, dict[str, Any]]:
        names = sorted(set(families), key=families.index)
        if len(names) < 2:
            return {}
        per_pair = np.array([names.index(families[s]) for s in d.series])
        f = _fit(d, per_pair, len(names))
        df = max(d.n_clusters - len(names), 1)
        tq = stats.t.ppf(q, df)
        tau2 = f.tau_c2 + f.tau_s2
        out = {}
        for j, fam in enumerate(names):
            mu, se = float(f.beta[j]), float(np.sqrt(f.beta_cov[j, j]))
            pred_sd = float(np.sqrt(se ** 2 + tau2))
            out[fam] = {"k": mu, "k_se": se, "k_interval": (mu - tq * se, mu + tq * se),
                        "n_series": int(sum(1 for x in families if x == fam)),
                        "p_new_k_gt_1": float(stats.t.sf((1 - mu) / pred_sd, df)),
                        "predictive": {"mean": mu, "sd": pred_sd, "df": df,
                                       "interval": (mu - tq * pred_sd, mu + tq * pred_sd)}}
        self.family_tau_ = float(np.sqrt(tau2))
        # each series shrunk toward its own family's mean (the fit with family means)
        for i, row in enumerate(self.series_):
            c = d.cluster[np.flatnonzero(d.series == i)[0]]
            row["k_shrunk_family"] = float(f.beta[cluster_group_of(d, per_pair)[c]] + f.blup_c[c] + f.blup_s[i])
        return out

    def _loo(self, pairs, clusters, names, mu) -> list[dict[str, Any]]:
        out = []
        for i in range(len(pairs)):
            keep = [j for j in range(len(pairs)) if j != i]
            d = stack_pairs([pairs[j] for j in keep], [clusters[j] for j in keep])
            k = float(_fit(d).beta[0])
            out.append({"name": names[i], "k_without": k, "change": k - mu})
        return sorted(out, key=lambda r: -abs(r["change"]))

    def result_dict(self) -> dict[str, Any]:
        return {"k": self.k_, "k_se": self.k_se_, "k_interval": list(self.k_interval_), "level": self.level,
                "df": self.df_, "tau": self.tau_, "tau_cluster": self.tau_cluster_, "tau_series": self.tau_series_,
                "sigma": self.sigma_, "i2": self.i2_, "p_new_series_k_gt_1": self.p_new_k_gt_1_,
                "predictive": dict(self.predictive_, interval=list(self.predictive_["interval"])),
                "n_series": self.n_series_, "n_clusters": self.n_clusters_, "n_pairs": self.n_pairs_,
                "series": [dict(s, k_own_interval=list(s["k_own_interval"]),
                                k_shrunk_interval=list(s["k_shrunk_interval"])) for s in self.series_],
                "families": {k: dict(v, k_interval=list(v["k_interval"]),
                                     predictive=dict(v["predictive"], interval=list(v["predictive"]["interval"])))
                             for k, v in self.families_.items()},
                "leave_one_out": self.loo_, "message": self.message_}

    def to_prior(self, family: str | None = None, source: str = "") -> dict[str, Any]:
        """The predictive k of a new series (pooled, or of ``family``) as a prior for the forecast.

        A normal with the predictive mean and SD, truncated to k in [0, 10] (the discrete
        criticality model's bounds): it carries both the uncertainty in the mean and the spread
        of k across series, which is what one more loop would face.
        """
        if family is None:
            pred, what = self.predictive_, "pooled"
        elif family in self.families_:
            pred, what = self.families_[family]["predictive"], family
        else:
            raise ConfigError("family", family, f"one of {', '.join(self.families_) or '(no families fitted)'}")
        spec = {"dist": "normal", "mean": float(pred["mean"]), "sd": float(max(pred["sd"], 1e-9)),
                "low": 0.0, "high": 10.0}
        from rsilab.estimate.bridge import make_prior

        return make_prior("k", spec, source or f"pooled published evidence, predictive k for a new series ({what})")


def pool_log_ratios(gains: list[np.ndarray], clusters: list[str], level: float = 0.9) -> dict[str, Any]:
    """A check on the model's scale: the same random-effects model on ln(g_(j+1) / g_j).

    Only pairs whose two gains have the same sign have a log ratio; pairs with a sign change (or
    a zero gain) are dropped and counted, and a series left without pairs drops out. exp(mu) is
    the median k across series. Returns a dict (or one with "error" when too little is left).
    """
    pairs, kept_clusters, dropped_pairs, dropped_series = [], [], 0, 0
    for g, c in zip(gains, clusters):
        g = np.asarray(g, float)
        ok = g[:-1] * g[1:] > 0
        dropped_pairs += int(np.sum(~ok))
        if not ok.any():
            dropped_series += 1
            continue
        z = np.log(g[1:][ok] / g[:-1][ok])
        pairs.append((np.ones(len(z)), z))
        kept_clusters.append(c)
    base = {"n_pairs_dropped": dropped_pairs, "n_series_dropped": dropped_series, "n_series": len(pairs)}
    if len(pairs) < 2:
        return dict(base, error="fewer than 2 series with a log ratio")
    d = stack_pairs(pairs, kept_clusters)
    try:
        f = _fit(d)
    except EstimationError as exc:
        return dict(base, error=str(exc))
    df = max(d.n_clusters - 1, 1)
    tq = stats.t.ppf(1 - (1 - level) / 2, df)
    mu, se = float(f.beta[0]), float(np.sqrt(f.beta_cov[0, 0]))
    tau = float(np.sqrt(f.tau_c2 + f.tau_s2))
    pred_sd = float(np.sqrt(se ** 2 + tau ** 2))
    return dict(base, median_k=float(np.exp(mu)), interval=[float(np.exp(mu - tq * se)), float(np.exp(mu + tq * se))],
                tau_log=tau, n_pairs=int(len(d.x)), n_clusters=d.n_clusters,
                p_new_series_k_gt_1=float(stats.t.sf(-mu / pred_sd, df)))
