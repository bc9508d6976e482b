"""The likelihood of k from one series of noisy capability levels.

Owns the geometric-gains model on levels and its marginal likelihood on a grid of ln k. A loop
whose gains shrink or grow by a factor k per round reaches, after t rounds,

    mu_t = c0 + g1 S_t(k),     S_t(k) = 1 + k + ... + k^(t-1) = (1 - k^t) / (1 - k)   (S_0 = 0)

on the fitting scale (a capability transform's scale). Each measured level is mu_t plus noise,
and the noise comes from the data, in this order:

- ``sd``: a standard deviation per level (an ``se`` column, moved to the fitting scale by the
  transform's slope): Gaussian with known variance;
- ``trials``: the benchmark's size for a proportion: binomial, the level's proportion being
  ``successes / trials`` (a fractional count for averaged or tied scores: the binomial variance is
  the largest a mean of that many scores in [0, 1] can have, so the noise errs large), with the
  mean path mapped back to a proportion by the transform's inverse. A value at a bound (0 %, 100 %)
  is data here;
- neither: one unknown standard deviation for every level on the fitting scale, with the prior
  ``SIGMA_PRIOR`` (log-uniform: scale-free) integrated out.

The nuisance parameters c0 and g1 (g1 > 0: the first round improved; a loss after a loss is
therefore no evidence of compounding) are integrated out: under flat priors, analytically, for
Gaussian noise, where the model is linear in (c0, g1) at fixed k; by Laplace's method around the
posterior mode for binomial noise, under wide proper priors (``binomial_prior_sd``: levels at the
bound make flat ones improper). What is left is ln p(levels | k) on a grid of theta = ln k: the single-series posterior
(``rsilab.estimate.kposterior``), the pooled model's fast path and ``fit scale`` all start from it.

Imports numpy, scipy.special and the transforms; never rsilab.simulate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr

from rsilab.errors import EstimationError
from rsilab.estimate.kposterior import KPosterior
from rsilab.estimate.transforms import apply_transform, proportion_and_slope

# The prior range of k: log-uniform on [1/20, 20], symmetric about k = 1 in ln k, so that a series
# that says nothing about k leaves P(k > 1) = 1/2 (no lean toward fizzle or explosion). 1/20
# stands for "one jump, then nothing"; 20 for "each gain twenty times the last".
K_LOW, K_HIGH = 0.05, 20.0
N_GRID = 601
# The unknown noise SD, when the data give none: log-uniform from a millionth of the series'
# range of levels to ten times it (the likelihood decays well inside both ends).
SIGMA_PRIOR = (1e-6, 10.0)
_N_SIGMA = 113


def theta_grid(n: int = N_GRID) -> np.ndarray:
    """The grid of theta = ln k on which every likelihood here is evaluated."""
    return np.linspace(np.log(K_LOW), np.log(K_HIGH), n)


def geometric_sums(k: np.ndarray, t: np.ndarray) -> np.ndarray:
    """S_t(k) = (1 - k^t) / (1 - k) for every k (K,) and t (n,): shape (K, n); S_t(1) = t."""
    k = np.asarray(k, float)[:, None]
    t = np.asarray(t, float)[None, :]
    near = np.abs(k - 1.0) < 1e-6
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (1.0 - k ** t) / (1.0 - k)
    # second-order expansion at k = 1: t + t(t - 1)/2 (k - 1)
    return np.where(near, t + 0.5 * t * (t - 1.0) * (k - 1.0), s)


def geometric_ratio(theta: np.ndarray, t: np.ndarray, t_ref: float) -> np.ndarray:
    """S_t(k) / S_(t_ref)(k) for k = e^theta (K,) and t (n,): shape (K, n), without overflow for
    any t (a sum of k^j to t terms grows like k^t: the ratio is formed from exponents, not sums)."""
    th = np.asarray(theta, float)[:, None]
    t = np.asarray(t, float)[None, :]
    tr = float(t_ref)
    small = np.abs(th) < 1e-9
    safe = np.where(small, 1e-9, th)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # theta < 0: expm1(t theta) / expm1(t_ref theta), both in (-1, 0]
        neg = np.expm1(t * safe) / np.expm1(tr * safe)
        # theta > 0: k^(t - t_ref) (1 - k^-t) / (1 - k^-t_ref)
        pos = np.exp((t - tr) * safe) * np.expm1(-t * safe) / np.expm1(-tr * safe)
    first = t / tr * (1.0 + 0.5 * (t - tr) * th)        # k near 1: the first-order expansion
    return np.where(small, first, np.where(th < 0, neg, pos))


@dataclass(frozen=True)
class Levels:
    """One series on the fitting scale.

    ``t``: rounds since the first level (0, 1, ...). Gaussian: ``y`` (levels on the fitting
    scale) and ``sd`` (known, or None: estimated). Binomial: ``successes`` and ``trials`` per
    level, with ``transform`` and ``ceiling`` mapping the mean path to a proportion.
    """

    t: np.ndarray
    y: np.ndarray | None = None
    sd: np.ndarray | None = None
    successes: np.ndarray | None = None
    trials: np.ndarray | None = None
    transform: str = "raw"
    ceiling: float | None = None
    # the cost of the round that produced each level (cost[0] unused; consecutive rounds): then k
    # is the ratio of successive gains per unit cost, g_t = G' cost_t k^(t-1)
    cost: np.ndarray | None = None

    @property
    def noise(self) -> str:
        if self.trials is not None:
            return "binomial"
        return "known" if self.sd is not None else "estimated"

    @property
    def n(self) -> int:
        return len(self.t)


def log_marginal(levels: Levels, theta: np.ndarray | None = None) -> np.ndarray:
    """ln p(levels | k = e^theta) up to a constant, c0 and g1 (and an unknown SD) integrated out."""
    return likelihood(levels, theta)[0]


def best_path(levels: Levels, theta: np.ndarray) -> np.ndarray:
    """The mean path on the fitting scale at each theta, c0 and G at their best values: (K, n)."""
    return likelihood(levels, theta)[2]


def likelihood(levels: Levels, theta: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ln marginal likelihood, ln maximum likelihood, best mean path) at each theta.

    The first is what the posterior of k is made of; the second (the profile: c0, G and an
    unknown SD set to their best values, G unconstrained) is what a comparison with another
    model of as many parameters needs, both up to the same constant for a given series; the
    third is the mean path on the fitting scale at those best values, shape (K, n).
    """
    theta = theta_grid() if theta is None else np.asarray(theta, float)
    if levels.n < 3:
        raise EstimationError(f"{levels.n} levels: at least 3 are needed (two gains) to say anything about k")
    # in units of the whole path's gain: the coefficient is G = g1 S_T(k), the expected gain from
    # the first level to the last, and the flat prior is on G. A flat prior on g1 instead would
    # favour small k (S_T shrinks with k, so g1's posterior widens and claims more prior volume).
    if levels.cost is None:
        S = geometric_ratio(theta, levels.t, float(np.max(levels.t)))
    else:
        powers = np.exp(np.outer(theta, np.arange(levels.n - 1)))                   # (K, n - 1)
        S = np.concatenate([np.zeros((len(theta), 1)), np.cumsum(powers * levels.cost[1:], axis=1)], axis=1)
        S = S / S[:, -1:]
    if levels.noise == "binomial":
        return _binomial(levels, S)
    y = np.asarray(levels.y, float)
    if levels.noise == "known":
        return _gaussian_known(y, 1.0 / np.asarray(levels.sd, float) ** 2, S)
    return _gaussian_unknown(y, S)


def _weighted_fit(y: np.ndarray, w: np.ndarray, S: np.ndarray):
    """Per row of S: (det, G hat, var(G) in sigma^2 units, RSS, path) of the weighted regression y ~ c0 + G S.

    Centred sums and residuals taken directly: near-noiseless levels leave an RSS many orders
    below the levels' size, which ``sum(w y^2) - ...`` would lose to cancellation.
    """
    a = w.sum()
    ym = (w @ y) / a
    Sm = (S @ w) / a
    Sc = S - Sm[:, None]
    sxx = (Sc * Sc) @ w
    sxx = np.where(sxx > 0, sxx, np.nan)  # S constant in t (never for t = 0, 1, 2...): no information
    G = (Sc @ (w * (y - ym))) / sxx
    path = ym + G[:, None] * Sc
    r = y[None, :] - path
    return a * sxx, G, 1.0 / sxx, (r * r) @ w, path


def _gaussian_known(y: np.ndarray, w: np.ndarray, S: np.ndarray):
    det, g1, vg, rss, path = _weighted_fit(y, w, S)
    # flat prior on (c0, G) restricted to G > 0: the Gaussian integral times P(G > 0 | k)
    return -0.5 * np.log(det) - 0.5 * rss + log_ndtr(g1 / np.sqrt(vg)), -0.5 * rss, path


def _gaussian_unknown(y: np.ndarray, S: np.ndarray):
    spread = float(np.ptp(y))
    if not spread > 0:
        raise EstimationError("every level is the same: no gain to measure")
    sig = spread * np.geomspace(*SIGMA_PRIOR, _N_SIGMA)                 # (M,)
    det, g1, vg, rss, path = _weighted_fit(y, np.ones_like(y), S)       # unit weights: (K,)
    n = len(y)
    s2 = sig[None, :] ** 2
    # with weights 1/sigma^2: det scales by sigma^-4, RSS by sigma^-2, var(g1) by sigma^2
    lp = (-(n - 2) * np.log(sig)[None, :] - 0.5 * np.log(det)[:, None] - 0.5 * rss[:, None] / s2
          + log_ndtr(g1[:, None] / np.sqrt(vg[:, None] * s2)))
    # log-uniform prior: equal weight per grid step in ln sigma
    m = np.nanmax(lp, axis=1, keepdims=True)
    marginal = (m + np.log(np.exp(lp - m).sum(axis=1, keepdims=True)))[:, 0]
    # the profile: sigma^2 = RSS / n
    profile = -0.5 * n * np.log(np.maximum(rss, 1e-300 * spread ** 2) / n) - 0.5 * n
    return marginal, profile, path


def binomial_prior_sd(transform: str, ceiling: float | None) -> float:
    """The SD of the normal prior on c0 and of the half-normal prior on G for binomial levels.

    With binomial noise the flat priors of the Gaussian case are improper: levels at the bound
    (x = N) fit as well for any larger G, and the integral over G diverges. A prior 10 logits wide
    (a proportion's span from 1e-4 to 1 - 1e-4 is 18) is proper and all but flat where the data
    say anything; on the metric's own scale (raw) the whole range, the ceiling."""
    return float(ceiling if transform == "raw" and ceiling is not None else 10.0)


def _binomial(levels: Levels, S: np.ndarray):
    """Laplace's method in (c0, G) at each k, around the posterior mode that Fisher scoring finds from
    the Gaussian fit; priors c0 ~ N(first level, s^2), G ~ half-normal(s) (``binomial_prior_sd``)."""
    x = np.asarray(levels.successes, float)
    N = np.asarray(levels.trials, float)
    tr, ceil = levels.transform, levels.ceiling
    K = S.shape[0]
    # start: weighted least squares on the fitting scale with a continuity-corrected proportion
    p0 = (x + 0.5) / (N + 1.0)
    y0 = apply_transform(p0 * (ceil or 1.0), tr, ceil)
    _, slope = proportion_and_slope(y0, tr, ceil)
    w0 = N * slope ** 2 / (p0 * (1 - p0))
    path0 = _weighted_fit(y0, w0, S)[4]
    first, last = int(np.argmin(S[0])), int(np.argmax(S[0]))        # S runs from 0 (first round) to 1 (last)
    beta = np.stack([path0[:, first], path0[:, last] - path0[:, first]], axis=1)  # (K, 2): c0 and G
    m0, prec = y0[first], binomial_prior_sd(tr, ceil) ** -2

    def loglik(bt):
        mu = bt[:, :1] + bt[:, 1:] * S
        p, dp = proportion_and_slope(mu, tr, ceil)
        p = np.clip(p, 1e-300, 1 - 1e-16)
        return (x * np.log(p) + (N - x) * np.log1p(-p)).sum(axis=1), p, dp

    def logprior(bt):
        return -0.5 * prec * ((bt[:, 0] - m0) ** 2 + bt[:, 1] ** 2)

    def information(p, dp):
        wt = N * dp * dp / (p * (1 - p))                  # Fisher information per level, plus the prior's
        return wt.sum(1) + prec, (wt * S).sum(1), (wt * S * S).sum(1) + prec

    ll, p, dp = loglik(beta)
    obj = ll + logprior(beta)
    for _ in range(60):
        r = (x - N * p) * dp / (p * (1 - p))             # d loglik / d mu
        U0 = r.sum(1) - prec * (beta[:, 0] - m0)
        U1 = (r * S).sum(1) - prec * beta[:, 1]
        I00, I01, I11 = information(p, dp)
        det_i = I00 * I11 - I01 * I01
        step = np.stack([I11 * U0 - I01 * U1, I00 * U1 - I01 * U0], 1) / det_i[:, None]
        step = np.where(np.isfinite(step), step, 0.0)
        scale = np.ones(K)
        for _ in range(30):                               # halve each row's step until it does not lose
            trial = beta + scale[:, None] * step
            worse = ~(loglik(trial)[0] + logprior(trial) >= obj - 1e-12)
            if not worse.any():
                break
            scale = np.where(worse, scale / 2, scale)
        beta = beta + scale[:, None] * step
        ll, p, dp = loglik(beta)
        obj_new = ll + logprior(beta)
        done = np.all(np.abs(obj_new - obj) < 1e-10)
        obj = obj_new
        if done:
            break
    I00, I01, I11 = information(p, dp)
    det_i = I00 * I11 - I01 * I01
    det_i = np.where(det_i > 0, det_i, np.nan)
    path = beta[:, :1] + beta[:, 1:] * S
    return obj - 0.5 * np.log(det_i) + log_ndtr(beta[:, 1] / np.sqrt(I00 / det_i)), ll, path


def posterior(levels: Levels, theta: np.ndarray | None = None) -> KPosterior:
    """The posterior of k (prior log-uniform on [K_LOW, K_HIGH]) on a grid fine enough for it.

    Near-noiseless levels give a posterior far narrower than the first grid's step (with an
    estimated noise SD its tails fall only as a power of |k - k0|), which can hide between two
    grid points: the peak is first found by a bounded search in the best point's two cells and
    put on the grid with points at 1e-6 to 1e-2 either side; then each cell whose two ends differ
    by more than half a nat in log density (within e^-30 of the peak) is halved, up to 16 times.
    """
    from scipy.optimize import minimize_scalar

    th = theta_grid() if theta is None else np.asarray(theta, float)
    lp = np.nan_to_num(log_marginal(levels, th), nan=-np.inf)
    if not np.isfinite(lp).any():
        raise EstimationError("the likelihood of k is zero everywhere: the levels cannot be fitted")
    i = int(np.argmax(lp))
    lo, hi = th[max(i - 1, 0)], th[min(i + 1, len(th) - 1)]
    peak = minimize_scalar(lambda x: -float(np.nan_to_num(log_marginal(levels, np.array([x]))[0], nan=-np.inf)),
                           bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}).x
    extra = peak + np.concatenate([[0.0], np.outer([-1.0, 1.0], 10.0 ** np.arange(-6, -1)).ravel()])
    extra = extra[(extra > th[0]) & (extra < th[-1])]
    th = np.concatenate([th, extra])
    lp = np.concatenate([lp, np.nan_to_num(log_marginal(levels, extra), nan=-np.inf)])
    order = np.argsort(th)
    th, lp = th[order], lp[order]
    for _ in range(16):
        top = lp.max()
        steep = (np.abs(np.diff(lp)) > 0.5) & (np.maximum(lp[:-1], lp[1:]) > top - 30.0)
        steep &= np.diff(th) > 1e-9
        if not steep.any():
            break
        mid = 0.5 * (th[:-1] + th[1:])[steep]
        th = np.concatenate([th, mid])
        lp = np.concatenate([lp, np.nan_to_num(log_marginal(levels, mid), nan=-np.inf)])
        order = np.argsort(th)
        th, lp = th[order], lp[order]
    return KPosterior.from_log(th, lp)


def levels_from_values(values, rounds=None, *, se=None, n_items=None, transform: str = "raw",
                       ceiling: float | None = None) -> Levels:
    """A series' measured values (the metric's units) as ``Levels`` on ``transform``'s scale.

    ``se``: each value's standard error (the metric's units), moved to the fitting scale by the
    transform's slope. ``n_items``: the benchmark's size per value, for a proportion of
    ``ceiling``: binomial noise. Neither: the noise is estimated. ``rounds`` default 0, 1, ...
    Raises EstimationError naming what is not allowed.
    """
    from rsilab.estimate.transforms import value_problem

    v = np.asarray(values, float)
    t = np.arange(len(v), dtype=float) if rounds is None else np.asarray(rounds, float) - float(np.min(rounds))
    if se is not None and n_items is not None:
        raise EstimationError("give either se or n_items for a series, not both")
    if n_items is not None:
        N = np.asarray(n_items, float)
        if ceiling is None:
            raise EstimationError("n_items needs a bounded metric (a proportion of a ceiling, such as 100 %)")
        bad = np.flatnonzero(~((v >= 0) & (v <= ceiling)))
        if bad.size:
            raise EstimationError(f"value {v[bad[0]]:g} is outside [0, {ceiling:g}]: with n_items it must be "
                                  "a proportion of the ceiling")
        if not np.all((N >= 1) & np.isfinite(N)):
            raise EstimationError(f"n_items = {N[~((N >= 1) & np.isfinite(N))][0]:g}: the benchmark's size, "
                                  "a number of items >= 1")
        return Levels(t=t, successes=v / ceiling * N, trials=N, transform=transform, ceiling=ceiling)
    for x in v:
        problem = value_problem(float(x), transform, ceiling)
        if problem:
            hint = " (give n_items to fit a value at the bound with binomial noise)" if ceiling is not None else ""
            raise EstimationError(f"value {x:g} {problem}{hint}")
    y = apply_transform(v, transform, ceiling)
    if se is None:
        return Levels(t=t, y=y)
    s = np.asarray(se, float)
    if not np.all((s > 0) & np.isfinite(s)):
        raise EstimationError(f"se = {s[~((s > 0) & np.isfinite(s))][0]:g}: a standard error must be > 0")
    _, dp = proportion_and_slope(y, transform, ceiling)
    # d(fitting scale) / d(value) = 1 / (d value / d fitting scale)
    slope = 1.0 / (dp * (1.0 if ceiling is None else ceiling))
    return Levels(t=t, y=y, sd=s * np.abs(slope))
