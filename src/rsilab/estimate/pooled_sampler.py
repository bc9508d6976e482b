"""The pooled model of k, sampled with PyMC's NUTS on the capability levels themselves.

Owns ``sample_pooled``: the same hierarchy as ``rsilab.estimate.hierarchy`` (its docstring states
the model: ln k of each series within its cluster within its family, taus half-normal), written
out in PyMC with every series' nuisance parameters explicit instead of integrated out:

    c0_i ~ N(first level, s_i^2),  G_i ~ half-normal(s_i)   (s_i: 10 x the series' range for Gaussian
                                                            levels, ``binomial_prior_sd`` for binomial)
    level_(i,t) = c0_i + G_i (1 - k_i^t) / (1 - k_i^T)          (G: the path's gain to its last round)
    noise: Gaussian with the known SD, binomial (a fractional count for averaged scores), or an
           unknown SD with log-uniform prior on [1e-6, 10] x the series' range

(the grid path's flat priors on c0 and G > 0 are these normals' limit; for binomial levels the grid
path's priors are proper too, ``levels.binomial_prior_sd``). Non-centred random effects; 4 chains,
target acceptance 0.99 (0.95 left a few divergences on the registry); ArviZ's R-hat, bulk ESS and
divergences are returned with the draws, and a fit that misses R-hat <= 1.01 or bulk ESS >= 400
says so. PyMC is an optional dependency
(``pip install 'rsilab[stats]'``): imported here only.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from rsilab.core.extras import require
from rsilab.estimate.hierarchy import MU_PRIOR_SD, TAU_PRIOR_SD
from rsilab.estimate.levels import SIGMA_PRIOR, Levels, binomial_prior_sd

RHAT_MAX, ESS_MIN = 1.01, 400


@dataclass
class SampledPool:
    """Draws (chains x draws flattened) of the quantities the pooled fit reports, and diagnostics."""

    mu: np.ndarray
    new_series: np.ndarray
    families: dict[str, dict[str, np.ndarray]]   # per family: "mean" and "new_series" draws of ln k
    series: np.ndarray                            # (draws, S) ln k of each series
    taus: dict[str, np.ndarray]
    diagnostics: dict[str, Any]


def _require_pymc():
    # ArviZ announces its coming refactor once a day on import (a FutureWarning about ArviZ's own
    # plans, nothing a user of this fit can act on); where warnings are errors it would fail the
    # fit on the first call of each day
    what = "the pooled sampler (--method nuts; --method grid needs neither)"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing a major refactor", category=FutureWarning)
        return require("pymc", what), require("arviz", what)


def sample_pooled(series: list[Levels], families: list[str], clusters: list[str], *, draws: int = 1000,
                  tune: int = 1000, chains: int = 4, seed: int = 0, cores: int | None = None) -> SampledPool:
    """NUTS on the pooled levels model. ``series``: each series' levels (``rsilab.estimate.levels``)."""
    pm, az = _require_pymc()
    import pytensor.tensor as pt

    fam_names = sorted(set(families), key=families.index)
    cl_names = sorted(set(clusters), key=clusters.index)
    fam_of_cl = {c: f for f, c in zip(families, clusters)}
    n_s, n_c, n_f = len(series), len(cl_names), len(fam_names)
    s_cl = np.array([cl_names.index(c) for c in clusters])
    c_fam = np.array([fam_names.index(fam_of_cl[c]) for c in cl_names])
    t0 = time.perf_counter()
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, MU_PRIOR_SD)
        tau_s = pm.HalfNormal("tau_series", TAU_PRIOR_SD)
        tau_c = pm.HalfNormal("tau_cluster", TAU_PRIOR_SD)
        z_s = pm.Normal("z_series", 0.0, 1.0, shape=n_s)
        z_c = pm.Normal("z_cluster", 0.0, 1.0, shape=n_c)
        if n_f > 1:
            tau_f = pm.HalfNormal("tau_family", TAU_PRIOR_SD)
            z_f = pm.Normal("z_family", 0.0, 1.0, shape=n_f)
            fam_mean = mu + tau_f * z_f
        else:
            tau_f = pt.as_tensor_variable(0.0)
            fam_mean = pt.stack([mu])
        pm.Deterministic("family_mean", fam_mean)
        cl_mean = fam_mean[c_fam] + tau_c * z_c
        theta = pm.Deterministic("theta", cl_mean[s_cl] + tau_s * z_s)
        _likelihood(pm, pt, series, theta)
        idata = pm.sample(draws=draws, tune=tune, chains=chains, cores=cores or min(chains, 2),
                          random_seed=seed, target_accept=0.99, progressbar=False, compute_convergence_checks=False)
    seconds = time.perf_counter() - t0
    post = idata.posterior
    names = ["mu", "tau_series", "tau_cluster", "theta"] + (["tau_family", "family_mean"] if n_f > 1 else [])
    rhat = az.rhat(idata, var_names=names)
    ess = az.ess(idata, var_names=names, method="bulk")
    rhat_max = float(max(float(rhat[v].max()) for v in names))
    ess_min = float(min(float(ess[v].min()) for v in names))
    divergences = int(idata.sample_stats["diverging"].sum())
    ok = rhat_max <= RHAT_MAX and ess_min >= ESS_MIN
    note = ("converged" if ok else
            f"NOT CONVERGED: max R-hat {rhat_max:.3f} (needs <= {RHAT_MAX}), min bulk ESS {ess_min:.0f} "
            f"(needs >= {ESS_MIN}); read the figures with care or sample longer")
    if divergences:
        note += f"; {divergences} divergent transitions"

    def flat(name):
        return np.asarray(post[name]).reshape(chains * draws, *post[name].shape[2:])

    rng = np.random.default_rng(seed)
    m, ts, tc = flat("mu"), flat("tau_series"), flat("tau_cluster")
    tf = flat("tau_family") if n_f > 1 else np.zeros_like(m)
    fm = flat("family_mean")
    within = np.sqrt(ts ** 2 + tc ** 2)
    new = m + rng.normal(size=m.shape) * np.sqrt(within ** 2 + tf ** 2)
    fams = {f: {"mean": fm[:, j], "new_series": fm[:, j] + rng.normal(size=m.shape) * within}
            for j, f in enumerate(fam_names)}
    diag = {"sampler": "PyMC NUTS", "chains": chains, "draws": draws, "tune": tune, "seconds": seconds,
            "rhat_max": rhat_max, "ess_bulk_min": ess_min, "divergences": divergences, "converged": ok,
            "note": note, "seed": seed}
    return SampledPool(mu=m, new_series=new, families=fams, series=flat("theta"),
                       taus={"family": tf, "cluster": tc, "series": ts}, diagnostics=diag)


def _likelihood(pm, pt, series: list[Levels], theta) -> None:
    """Every series' levels given theta = ln k, each series' c0 and G explicit (priors in the
    module docstring); vectorised over all levels at once, one block per noise kind."""
    from rsilab.estimate.transforms import apply_transform

    guess = []
    for lv in series:
        if lv.noise == "binomial":
            p0 = (lv.successes + 0.5) / (lv.trials + 1.0)
            guess.append(apply_transform(p0 * (lv.ceiling or 1.0), lv.transform, lv.ceiling))
        else:
            guess.append(np.asarray(lv.y, float))
    # Gaussian levels: 10 x the series' range (the grid path's flat priors are this one's limit);
    # binomial levels: the grid path's own proper prior
    prior_sd = np.array([binomial_prior_sd(lv.transform, lv.ceiling) if lv.noise == "binomial" else
                         10 * max(float(np.ptp(g)), 1e-3 * max(1.0, float(np.max(np.abs(g)))))
                         for g, lv in zip(guess, series)])
    first = np.array([g[int(np.argmin(lv.t))] for g, lv in zip(guess, series)])
    c0 = pm.Normal("c0", first, prior_sd)
    G = pm.HalfNormal("G", prior_sd)
    obs_s = np.concatenate([np.full(lv.n, i) for i, lv in enumerate(series)])
    t = np.concatenate([np.asarray(lv.t, float) for lv in series])
    T = np.array([float(np.max(lv.t)) for lv in series])[obs_s]
    th = theta[obs_s]
    # (1 - k^t) / (1 - k^T) = expm1(t theta) / expm1(T theta), t / T at theta = 0 (a safe theta in
    # the branch not taken keeps its gradient finite)
    small = pt.abs(th) < 1e-6
    th_safe = pt.switch(small, 1e-6, th)
    ratio = pt.switch(small, t / T, pt.expm1(t * th_safe) / pt.expm1(T * th_safe))
    mean = c0[obs_s] + G[obs_s] * ratio
    kind = np.concatenate([np.full(lv.n, lv.noise) for lv in series])
    known = np.flatnonzero(kind == "known")
    if known.size:
        sd = np.concatenate([lv.sd for lv in series if lv.noise == "known"])
        y = np.concatenate([lv.y for lv in series if lv.noise == "known"])
        pm.Normal("y_known", mean[known], sd, observed=y)
    est = [i for i, lv in enumerate(series) if lv.noise == "estimated"]
    if est:
        spread = np.array([float(np.ptp(series[i].y)) for i in est])
        log_sigma = pm.Uniform("log_sigma", np.log(SIGMA_PRIOR[0] * spread), np.log(SIGMA_PRIOR[1] * spread))
        where = np.flatnonzero(kind == "estimated")
        which = np.concatenate([np.full(series[i].n, j) for j, i in enumerate(est)])
        y = np.concatenate([series[i].y for i in est])
        pm.Normal("y_estimated", mean[where], pt.exp(log_sigma)[which], observed=y)
    binom = [i for i, lv in enumerate(series) if lv.noise == "binomial"]
    for tr, c in sorted({(series[i].transform, series[i].ceiling) for i in binom}, key=str):
        members = [i for i in binom if (series[i].transform, series[i].ceiling) == (tr, c)]
        where = np.flatnonzero(np.isin(obs_s, members) & (kind == "binomial"))
        x = np.concatenate([series[i].successes for i in members])
        N = np.concatenate([series[i].trials for i in members])
        p = pt.clip(_proportion(pt, mean[where], tr, c), 1e-12, 1 - 1e-12)
        # the binomial log-likelihood with fractional counts (averaged or tied scores)
        pm.Potential(f"binomial_{tr}_{c:g}" if c else f"binomial_{tr}", pt.sum(x * pt.log(p) + (N - x) * pt.log1p(-p)))


def _proportion(pt, mu, transform: str, ceiling: float | None):
    """``rsilab.estimate.transforms.proportion_and_slope``'s proportion, in pytensor."""
    c = 1.0 if ceiling is None else float(ceiling)
    if transform == "logit":
        return pt.sigmoid(mu)
    if transform == "neglog-error":
        return 1.0 - pt.exp(-mu)
    if transform == "log":
        return pt.exp(mu) / c
    return mu / c
