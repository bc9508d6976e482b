"""k pooled across series, on their levels: the evidence's answer to "do returns compound?".

Owns ``PooledK``. The model (``rsilab.estimate.hierarchy``'s docstring states it in full): each
series' ln k within its cluster (series sharing checkpoints) within its method family, its
capability levels fitted with their measurement noise. Two ways to fit one model:

- ``method="nuts"``: PyMC's NUTS on the levels with every nuisance parameter explicit
  (``rsilab.estimate.pooled_sampler``), ArviZ diagnostics; the headline fit;
- ``method="grid"`` (the fast path): exact quadrature on a tree of grids, nothing sampled, a few
  seconds; it agrees with the sampler within the tolerance the tests state.

Reported: the typical series' k (exp of the mean of ln k: the population's median k) with its
interval and P(> 1); the predictive k of a new series (a new cluster of a new family) with
P(k > 1), which also carries the spread between series; per family the same two; per series its
own k (``rsilab fit rounds``' estimator on that series alone) and its shrunken k; the taus; a
leave-one-cluster-out predictive check; each with the one verdict rule. ``to_prior()`` is the
predictive k of a new series (of a family, when named) as an empirical prior.

Imports numpy and the estimate modules (PyMC only through ``pooled_sampler``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rsilab.core.tolerances import RETURNS_TOLERANCE
from rsilab.errors import ConfigError, EstimationError
from rsilab.estimate.kposterior import KPosterior
from rsilab.estimate.levels import Levels, posterior
from rsilab.estimate.result import Estimator, ParamEstimate, check_level
from rsilab.estimate.verdict import verdict

METHODS = ("nuts", "grid")
N_DRAWS = 4000


def _summary(draws_ln_k: np.ndarray, level: float, tol: float) -> dict[str, Any]:
    k = np.exp(np.asarray(draws_ln_k, float))
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(k, [tail, 100 - tail])
    return {"k": float(np.median(k)), "k_interval": [float(lo), float(hi)], "p_k_gt_1": float(np.mean(k > 1)),
            "regime": verdict((lo, hi), tol)}


class PooledK(Estimator):
    """Pool k across series. ``fit(levels, families, clusters, names)`` returns self.

    Learned: ``k_`` (the typical series' k), ``k_interval_``, ``p_k_gt_1_`` (P(typical k > 1)),
    ``p_new_k_gt_1_`` (a new series), ``new_series_`` (its k with interval), ``families_``,
    ``series_``, ``taus_``, ``loco_``, ``diagnostics_``.
    """

    prior_quantity = "k_new_series"
    prior_source = "pooled evidence: the predictive k of a new series"

    def __init__(self, *, method: str = "grid", level: float = 0.9, tol: float = RETURNS_TOLERANCE, seed: int = 0,
                 loco: bool = True, draws: int = 750, tune: int = 750, chains: int = 4):
        self.method, self.level, self.tol, self.seed, self.loco = method, level, tol, seed, loco
        self.draws, self.tune, self.chains = draws, tune, chains

    def __repr__(self) -> str:
        if not hasattr(self, "estimates_"):
            return f"PooledK(method={self.method!r}, level={self.level}) [not fitted]"
        lo, hi = self.k_interval_
        return (f"PooledK(typical k={self.k_:.3g} [{lo:.3g}, {hi:.3g}] ({self.level:.0%}), "
                f"P(k > 1, new series)={self.p_new_k_gt_1_:.3f}; {len(self.series_)} series, method {self.method})")

    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise ConfigError("--method", self.method, f"one of {', '.join(METHODS)} (or ratio, the old pooling, "
                                                        "for comparison)")
        check_level(self.level)

    def fit(self, levels: list[Levels], families: list[str], clusters: list[str],
            names: list[str] | None = None) -> "PooledK":
        self._check_params()
        names = names or [f"series {i}" for i in range(len(levels))]
        if len(levels) < 2:
            raise EstimationError(f"{len(levels)} series: pooling needs at least 2")
        rng = np.random.default_rng(self.seed)
        own = [posterior(lv) for lv in levels]
        loglik = None   # each series' log marginal on the theta grid: the grid path's, reused by the check below
        if self.method == "grid":
            from rsilab.estimate.hierarchy import pool_on_grid, theta_grid
            from rsilab.estimate.levels import log_marginal

            th = theta_grid()
            loglik = np.array([log_marginal(lv, th) for lv in levels])
            g = pool_on_grid(loglik, families, clusters)

            def draws_of(density):
                return np.log(KPosterior(th, density / np.trapezoid(density, th)).draws(N_DRAWS, rng))

            mu, new = draws_of(g.mu), draws_of(g.new_series)
            fams = {f: {"mean": draws_of(d["mean"]), "new_series": draws_of(d["new_series"])}
                    for f, d in g.families.items()}
            shrunk = np.stack([draws_of(row) for row in g.series], axis=1)
            taus = {name: {"mean": v["mean"], "median": v["median"], "p95": v["p95"]}
                    for name, v in g.tau_summary().items()}
            diag: dict[str, Any] = {"method": "grid", "theta_points": len(th), "tau_grid": g.tau_grid["series"].tolist(),
                                    "log_evidence": g.log_evidence, "converged": True,
                                    "note": "exact quadrature on grids: nothing sampled"}
        else:
            from rsilab.estimate.pooled_sampler import sample_pooled

            s = sample_pooled(levels, families, clusters, draws=self.draws, tune=self.tune, chains=self.chains,
                              seed=self.seed)
            mu, new, fams, shrunk = s.mu, s.new_series, s.families, s.series
            taus = {name: {"mean": float(np.mean(v)), "median": float(np.median(v)),
                           "p95": float(np.percentile(v, 95))} for name, v in s.taus.items()}
            diag = dict(s.diagnostics, method="nuts")
        self.mu_draws_, self.new_series_draws_ = mu, new
        typical = _summary(mu, self.level, self.tol)
        self.new_series_ = _summary(new, self.level, self.tol)
        self.k_, self.k_interval_, self.p_k_gt_1_ = typical["k"], tuple(typical["k_interval"]), typical["p_k_gt_1"]
        self.regime_ = typical["regime"]
        self.p_new_k_gt_1_ = self.new_series_["p_k_gt_1"]
        self.families_ = {}
        for f, d in fams.items():
            members = [i for i, x in enumerate(families) if x == f]
            self.families_[f] = dict(_summary(d["mean"], self.level, self.tol),
                                     new_series=_summary(d["new_series"], self.level, self.tol),
                                     n_series=len(members), n_clusters=len({clusters[i] for i in members}))
        self.family_draws_ = {f: d["new_series"] for f, d in fams.items()}
        self.series_ = []
        for i, (lv, p) in enumerate(zip(levels, own)):
            lo, hi = p.interval(self.level)
            sh = _summary(shrunk[:, i], self.level, self.tol)
            self.series_.append({"name": names[i], "family": families[i], "cluster": clusters[i], "noise": lv.noise,
                                 "n_rounds": lv.n, "k_own": p.median, "k_own_interval": [lo, hi],
                                 "p_own_k_gt_1": p.p_greater(1.0), "regime_own": verdict((lo, hi), self.tol),
                                 "k_shrunk": sh["k"], "k_shrunk_interval": sh["k_interval"],
                                 "p_shrunk_k_gt_1": sh["p_k_gt_1"], "regime_shrunk": sh["regime"]})
        self.taus_ = taus
        self.n_clusters_ = len(set(clusters))
        self.loco_ = None
        if self.loco:
            from rsilab.estimate.loco import loco_check

            self.loco_ = loco_check(levels, families, clusters, names, level=self.level, loglik=loglik)
        self.estimates_ = {
            "k": ParamEstimate("typical k (exp of mean ln k)", self.k_, None, self.k_interval_, self.level,
                               np.exp(mu), "k"),
            "k_new_series": ParamEstimate("k of a new series", self.new_series_["k"], None,
                                          tuple(self.new_series_["k_interval"]), self.level, np.exp(new), "k")}
        self.diagnostics_ = diag
        self.converged_ = bool(diag.get("converged", True))
        self.message_ = diag.get("note", "")
        return self

    def to_prior(self, quantity: str | None = None, source: str = "", *, family: str | None = None) -> dict[str, Any]:
        """The predictive k of a new series (pooled, or of ``family``) as an empirical prior: it
        carries both the uncertainty in the mean and the spread of k across series, which is what
        one more loop would face."""
        if family is None:
            return super().to_prior(quantity, source)
        if family not in self.family_draws_:
            raise ConfigError("--prior-family", family, f"one of {', '.join(self.family_draws_)}")
        from rsilab.estimate.bridge import make_prior
        from rsilab.estimate.result import empirical_prior_samples

        spec = {"dist": "empirical", "samples": empirical_prior_samples(np.exp(self.family_draws_[family]))}
        return make_prior("k", spec, source or f"pooled evidence: the predictive k of a new {family} series")

    def result_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return {"k": self.k_, "k_interval": list(self.k_interval_), "p_k_gt_1": self.p_k_gt_1_,
                "regime": self.regime_, "level": self.level, "regime_tolerance": self.tol,
                "what_k_is": "the typical series' k: exp of the mean of ln k across series (the population's median)",
                "new_series": self.new_series_, "p_new_series_k_gt_1": self.p_new_k_gt_1_,
                "families": self.families_, "series": self.series_, "taus": self.taus_,
                "n_series": len(self.series_), "n_clusters": self.n_clusters_, "loco": self.loco_,
                "method": self.method, "diagnostics": self.diagnostics_, "message": self.message_}
