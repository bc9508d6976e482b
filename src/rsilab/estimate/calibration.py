"""Calibration by simulation: series with a known k, fitted as a user's would be.

Owns the simulated design and the tally that the calibration tests and
``benchmarks/bench_calibration.py`` share. A series starts at c0 and gains g1 k^(t-1) in round t
(on the fitting scale), measured with noise:

- ``unbounded``: c0 = 0, g1 = 1, Gaussian noise of SD ``noise`` x g1 on every level, its se given
  to the fit (or withheld: ``noise_known=False``);
- ``bounded``: a proportion on the logit scale, c0 = logit(0.1), g1 = 0.3 logits, read as a
  binomial of N items with N set so that the noise SD on the logit scale at the start is
  ``noise`` x g1; the values are percentages and ``n_items`` is given to the fit.

``tally`` fits every simulated series as ``RoundsFit`` does (the levels method's posterior of k,
without the side results that do not change it: the fit from round 1 and the saturation
comparison) and returns, per true k, the share of
90% intervals that cover it, the share of each verdict and the mean estimate. The ``ratio`` method
is scored with the verdict it gave before the levels model (its point estimate against 1 +- tol),
so the comparison is old against new. Imports numpy and the rounds estimator.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rsilab.core.tolerances import RETURNS_TOLERANCE
from rsilab.errors import EstimationError, RsilabError
from rsilab.estimate.levels import geometric_sums

BOUNDED_START, BOUNDED_FIRST_GAIN = -2.1972245773362196, 0.3  # logit(0.1), logits


def simulate(k: float, n_levels: int, noise: float, metric: str, rng: np.random.Generator) -> dict[str, Any]:
    """One series: ``values`` and the noise column the fit gets (``se`` or ``n_items``)."""
    t = np.arange(n_levels)
    if metric == "unbounded":
        mu = geometric_sums(np.array([k]), t)[0]
        sd = np.full(n_levels, noise)
        return {"values": mu + rng.normal(0.0, noise, n_levels), "se": sd}
    if metric == "bounded":
        mu = BOUNDED_START + BOUNDED_FIRST_GAIN * geometric_sums(np.array([k]), t)[0]
        p0 = 1.0 / (1.0 + np.exp(-BOUNDED_START))
        n_items = max(int(round(1.0 / (p0 * (1 - p0) * (noise * BOUNDED_FIRST_GAIN) ** 2))), 1)
        x = rng.binomial(n_items, 1.0 / (1.0 + np.exp(-mu)))
        return {"values": 100.0 * x / n_items, "n_items": np.full(n_levels, float(n_items))}
    raise ValueError(f"metric must be 'unbounded' or 'bounded', not {metric!r}")


def old_verdict(k: float, tol: float = RETURNS_TOLERANCE) -> str:
    """The verdict before the levels model: the point estimate against 1 +- tol."""
    return "explosion" if k > 1 + tol else "fizzle" if k < 1 - tol else "combustion"


def tally(method: str, metric: str, k: float, n_levels: int, noise: float, reps: int, seed: int, *,
          noise_known: bool = True, level: float = 0.9) -> dict[str, Any]:
    """Fit ``reps`` simulated series; coverage, verdict shares and mean estimate."""
    from rsilab.estimate.levels import levels_from_values, posterior
    from rsilab.estimate.rounds import RoundsFit
    from rsilab.estimate.verdict import verdict

    rng = np.random.default_rng(seed)
    transform = "logit" if metric == "bounded" else "raw"
    ratio = RoundsFit(method="ratio", transform=transform, level=level, n_bootstrap=1000, min_rounds=3, seed=seed)
    covered, estimates = 0, []
    verdicts = {"fizzle": 0, "combustion": 0, "explosion": 0, "undetermined": 0}
    refused = 0
    for _ in range(reps):
        s = simulate(k, n_levels, noise, metric, rng)
        extra = {kk: v for kk, v in s.items() if kk != "values"} if noise_known else {}
        try:
            if method == "ratio":
                ratio.fit(s["values"])
                (lo, hi), value, word = ratio.k_interval_, ratio.k_, old_verdict(ratio.k_)
            else:
                post = posterior(levels_from_values(s["values"], transform=transform,
                                                    ceiling=100.0 if metric == "bounded" else None, **extra))
                (lo, hi), value = post.interval(level), post.median
                word = verdict((lo, hi))
        except RsilabError:
            refused += 1          # no round gained anything, or (ratio) a value at the bound: counted
            verdicts["undetermined"] += 1
            continue
        covered += lo <= k <= hi
        estimates.append(value)
        verdicts[word] += 1
    fitted = reps - refused
    return {"method": method, "metric": metric, "k": k, "n_levels": n_levels, "noise": noise,
            "noise_known": noise_known, "reps": reps, "refused": refused,
            "coverage": covered / fitted if fitted else float("nan"),
            "mean_k": float(np.mean(estimates)) if estimates else float("nan"),
            "median_k": float(np.median(estimates)) if estimates else float("nan"),
            **{f"share_{v}": n / reps for v, n in verdicts.items()}}


SCALE_DESIGN = np.repeat([1e6, 1e7, 1e8], 3)   # three sizes, three seeds each


def tally_scale(slope: float, k_mid: float, n_sets: int, seed: int, *, n_levels: int = 6, noise: float = 0.25,
                level: float = 0.9) -> dict[str, Any]:
    """``fit scale`` on ``n_sets`` simulated sweeps with a planted trend ln k = ln k_mid + slope (x - 7),
    x = log10(scale), no spread between series: the slope interval's coverage, its width against the
    oracle's (``ScaleFit.oracle_slope_interval``), and how often a crossing is reported within range."""
    from rsilab.estimate.scale import ScaleFit

    rng = np.random.default_rng(seed)
    covered = crossing = 0
    ratios, slopes = [], []
    for i in range(n_sets):
        caps, ses = [], []
        for s in SCALE_DESIGN:
            k = float(np.exp(np.log(k_mid) + slope * (np.log10(s) - 7.0)))
            d = simulate(k, n_levels, noise, "unbounded", rng)
            caps.append(d["values"])
            ses.append(d["se"])
        est = ScaleFit(level=level, seed=seed + i).fit(SCALE_DESIGN, caps, se=ses)
        lo, hi = est.estimates_["slope"].interval
        olo, ohi = est.oracle_slope_interval()
        covered += lo <= slope <= hi
        ratios.append((hi - lo) / (ohi - olo))
        slopes.append(est.estimates_["slope"].value)
        crossing += est.crossing_ is not None
    return {"slope": slope, "k_mid": k_mid, "n_sets": n_sets, "coverage": covered / n_sets,
            "width_vs_oracle": float(np.mean(ratios)),
            "width_vs_oracle_se": float(np.std(ratios, ddof=1) / np.sqrt(n_sets)), "mean_slope": float(np.mean(slopes)),
            "share_crossing_in_range": crossing / n_sets}


def simulate_registry(series: list, k: float, rng: np.random.Generator, spread: float = 0.0) -> list:
    """The registry's design with the typical series' true k set to ``k``: each series keeps its
    length, benchmark size and starting proportion, gains on the logit scale as its own first two
    published rounds did (at least 0.05 logits), then by its own k a round, with binomial noise at its
    size. ``spread``: the SD of ln k between clusters and again between series within a cluster (0:
    every series has k). Returns ``Levels``."""
    from rsilab.estimate.levels import Levels

    cluster_shift = {c: spread * rng.standard_normal() for c in dict.fromkeys(s.cluster for s in series)}
    out = []
    for s in series:
        k_s = float(k * np.exp(cluster_shift[s.cluster] + spread * rng.standard_normal()))
        p = s.values / s.ceiling
        z = np.log(p) - np.log1p(-p)
        t = np.arange(len(p), dtype=float)
        mu = z[0] + max(z[1] - z[0], 0.05) * geometric_sums(np.array([k_s]), t)[0]
        x = rng.binomial(s.n_items.astype(int), 1.0 / (1.0 + np.exp(-mu))).astype(float)
        out.append(Levels(t=t, successes=x, trials=s.n_items, transform="logit", ceiling=s.ceiling))
    return out


def tally_pooling(k: float, n_sets: int, seed: int, *, spread: float = 0.0, level: float = 0.9) -> dict[str, Any]:
    """The pooled model (grid path) and the ratio pooling on ``n_sets`` simulated registries whose
    typical series has k (``simulate_registry``): the share of intervals of the typical k that cover
    it, the mean estimate, and how often P(k > 1) for a new series falls below 0.01."""
    from rsilab.estimate.evidence import load_registry
    from rsilab.estimate.hierarchy import pool_on_grid, theta_grid
    from rsilab.estimate.levels import log_marginal
    from rsilab.estimate.pooling_ratio import RatioPooledK

    reg = load_registry()
    fams, cls = [s.family for s in reg], [s.cluster for s in reg]
    th = theta_grid()
    rng = np.random.default_rng(seed)
    rows = {"levels": [], "ratio": []}
    for _ in range(n_sets):
        levels = simulate_registry(reg, k, rng, spread)
        g = pool_on_grid(np.array([log_marginal(lv, th) for lv in levels]), fams, cls, marginals="none")
        post = g.posterior(g.mu)
        rows["levels"].append((*post.interval(level), post.median, g.posterior(g.new_series).p_greater(1.0)))
        gains = []
        for lv in levels:
            p = (lv.successes + 0.5) / (lv.trials + 1.0)     # the ratio pooling needs finite logits
            gains.append(np.diff(np.log(p) - np.log1p(-p)))
        try:
            old = RatioPooledK(level=level, loo=False).fit(gains, cls, fams)
            rows["ratio"].append((*old.k_interval_, old.k_, old.p_new_k_gt_1_))
        except EstimationError:   # a simulated series with no gain at all: the ratio pooling refuses
            rows["ratio"].append((np.nan, np.nan, np.nan, np.nan))
    out = {"k": k, "n_sets": n_sets}
    for name, r in rows.items():
        a = np.array(r)
        ok = ~np.isnan(a[:, 2])
        out[name] = {"coverage": float(np.mean((a[:, 0] <= k) & (k <= a[:, 1]))),   # a refusal covers nothing
                     "mean_k": float(a[ok, 2].mean()), "share_p_new_below_0.01": float(np.mean(a[ok, 3] < 0.01)),
                     "refused": int((~ok).sum())}
    return out
