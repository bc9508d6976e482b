"""The Chinchilla loss law L(N, D) = E + A / N^alpha + B / D^beta, fitted as Besiroglu et al. 2024 did.

Owns the log-space form log L = logsumexp(a - alpha log N, b - beta log D, e) with A = e^a,
B = e^b, E = e^e, its Huber objective with an analytic gradient (vectorised over many parameter
vectors at once), Hoffmann's grid of 4,500 starting points, the two fits of "Chinchilla Scaling:
A replication attempt" (arXiv 2404.10102), their bootstrap, extrapolation with intervals and the
compute-optimal allocation a fit implies.

- ``method="hoffmann"``: Hoffmann's procedure repeated: sum of Huber losses (delta 1e-3) on
  log-loss residuals, L-BFGS-B from every grid start, best successful run kept (``guess``
  returns the grid; ``diagnostics_`` counts the runs and how many scipy reports converged). The fast path
  uses analytic gradients, moves all starts together with batched Levenberg-Marquardt steps,
  drops hopeless starts early and finishes the best ~1% with L-BFGS-B to tight tolerances.
- ``method="likelihood"`` (the paper's headline fit): maximise a Huber-shaped likelihood with a
  free scale s: -log p = sum rho_delta(r_i / s) + n log s + const. The scale profiles out; at the
  optimum delta * s is ~1e-8, so every residual not fitted exactly sits on the linear part of rho
  and the location parameters solve a least-absolute-deviation problem. We solve that exactly by
  sequential linear programming (scipy HiGHS) instead of hoping BFGS stops at the kink.
- Bootstrap standard errors follow the paper's code: resample the points with replacement and
  refit the sum of Huber losses with BFGS (scipy's defaults) from Hoffmann's estimates
  (``PAPER_START``). Every refit is
  kept, as in the paper's code; those scipy reports as not converged are counted
  (``diagnostics_["bootstrap_not_converged"]``) and named in ``message_``.

Imports numpy and scipy; never matplotlib (plots live in report/), never torch.
"""
from __future__ import annotations

import itertools
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from scipy.optimize import linprog, minimize
from scipy.special import logsumexp

from rsilab.errors import ConfigError, EstimationError
from rsilab.estimate.result import Estimator, ParamEstimate, check_count, check_level, summarize_draws

HUBER_DELTA = 1e-3
# Where Besiroglu et al.'s code (epoch-research/analyzing-chinchilla, data_analysis.ipynb,
# ``true_params``) starts the headline fit and every bootstrap refit: Hoffmann's estimates
# unrounded. Starting here, with the paper's resamples, reproduces its bootstrap to every digit.
PAPER_START = np.array([6.0073404, 6.0179186, 0.5267228, 0.33917084, 0.2849083])
PARAM_NAMES = ("A", "B", "E", "alpha", "beta")


def hoffmann_grid() -> np.ndarray:
    """The 4,500 starting points (a, b, e, alpha, beta) of Hoffmann et al.'s grid, in their loop order."""
    alphas = np.arange(0, 2.5, 0.5)
    betas = np.arange(0, 2.5, 0.5)
    es = np.arange(-1, 1.5, 0.5)
    as_ = np.arange(0, 30, 5)
    bs = np.arange(0, 30, 5)
    return np.array([[a, b, e, al, be] for al, be, e, a, b in itertools.product(alphas, betas, es, as_, bs)],
                    dtype=float)


def log_predict(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
    """log L for parameter vectors theta (..., 5) at points (n,): returns (..., n)."""
    theta = np.asarray(theta, dtype=float)
    a, b, e, al, be = (theta[..., i, None] for i in range(5))
    terms = np.stack(np.broadcast_arrays(a - al * log_n, b - be * log_d, e + 0 * log_n))
    return logsumexp(terms, axis=0)


def huber(r: np.ndarray, delta: float = HUBER_DELTA) -> np.ndarray:
    ar = np.abs(r)
    return np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta))


def huber_objective(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_l: np.ndarray,
                    delta: float = HUBER_DELTA, *, weights: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Sum of Huber losses of log-loss residuals and its analytic gradient, for theta (..., 5).

    ``weights`` (n,) counts how often each point appears (a bootstrap resample without copying).
    """
    theta = np.asarray(theta, dtype=float)
    a, b, e, al, be = (theta[..., i, None] for i in range(5))
    t = np.stack(np.broadcast_arrays(a - al * log_n, b - be * log_d, e + 0 * log_n))
    top = t.max(axis=0)
    w = np.exp(t - top)
    s = w.sum(axis=0)
    pred = top + np.log(s)
    w /= s                                   # softmax weights: d pred / d (term k)
    r = pred - log_l
    h = huber(r, delta)
    dh = np.clip(r, -delta, delta)           # d huber / d r
    if weights is not None:
        h = h * weights
        dh = dh * weights
    f = h.sum(axis=-1)
    grad = np.stack([(dh * w[0]).sum(-1), (dh * w[1]).sum(-1), (dh * w[2]).sum(-1),
                     -(dh * w[0] * log_n).sum(-1), -(dh * w[1] * log_d).sum(-1)], axis=-1)
    return f, grad


# -- Hoffmann's procedure ---------------------------------------------------------------------

def fit_hoffmann_reference(log_n, log_d, log_l, starts: np.ndarray, delta: float = HUBER_DELTA
                           ) -> tuple[np.ndarray, float, dict[str, Any]]:
    """The reference way: scipy L-BFGS-B with finite-difference gradients from every start.

    Returns (best theta, best objective, info): the best run among those scipy reports as
    converged; info counts the runs and the converged ones and names the winning start.
    Slow by design: it is the baseline the fast path is measured against.
    """
    best_x, best_f, best_i, n_ok = None, np.inf, -1, 0
    for i, x0 in enumerate(starts):
        res = minimize(lambda p: float(huber_objective(p, log_n, log_d, log_l, delta)[0]), x0, method="L-BFGS-B")
        n_ok += bool(res.success)
        if res.success and res.fun < best_f:
            best_x, best_f, best_i = res.x, float(res.fun), i
    if best_x is None:
        raise EstimationError(f"Hoffmann's procedure: none of the {len(starts)} L-BFGS-B runs converged")
    info = {"starts": int(len(starts)), "runs": int(len(starts)), "converged_runs": n_ok,
            "winning_index": best_i, "winning_start": np.asarray(starts[best_i]).tolist(), "converged": True}
    return np.asarray(best_x), best_f, info


def _lbfgsb(log_n, log_d, log_l, x0, delta, maxiter=15000, tight=False):
    fun = lambda p: tuple(np.asarray(t, dtype=float) for t in huber_objective(p, log_n, log_d, log_l, delta))  # noqa: E731
    # The objective is ~1e-3 in size, so scipy's default gtol (1e-5) can stop a run short of the
    # optimum; survivors of the screen are finished with tight tolerances.
    opts = {"maxiter": maxiter, "gtol": 1e-13, "ftol": 1e-15} if tight else {"maxiter": maxiter}
    return minimize(fun, x0, jac=True, method="L-BFGS-B", options=opts)


def _terms(x, log_n, log_d):
    """Prediction and softmax weights of the three terms for every row of x: (B, n), (3, B, n)."""
    t0 = x[:, 0, None] - x[:, 3, None] * log_n
    t1 = x[:, 1, None] - x[:, 4, None] * log_d
    t2 = np.broadcast_to(x[:, 2, None], t0.shape)
    top = np.maximum(np.maximum(t0, t1), t2)
    w0, w1, w2 = np.exp(t0 - top), np.exp(t1 - top), np.exp(t2 - top)
    tot = w0 + w1 + w2
    return top + np.log(tot), (w0 / tot, w1 / tot, w2 / tot)


def _huber_value(x, log_n, log_d, log_l, delta):
    pred, _ = _terms(x, log_n, log_d)
    f = huber(pred - log_l, delta).sum(axis=1)
    return np.where(np.isfinite(f), f, np.inf)


def _batched_lm(log_n, log_d, log_l, x, delta, iters, prune=((5, 0.1), (15, 0.1))):
    """Levenberg-Marquardt on the Huber objective for every row of x at once (IRLS weights).

    Each step solves (J'WJ + mu diag(J'WJ)) dp = -J'W r per start with W = min(1, delta / |r|),
    the Huber loss's iteratively reweighted least-squares weights; mu shrinks after a step that
    lowers the objective and grows after one that does not, per start. ``prune``: after that
    many steps keep only that fraction of starts (the rest are hopeless), so most of the work
    is spent on the promising ones. Returns the surviving points, their objectives and start indices.
    """
    x = np.array(x, dtype=float)
    mu = np.full(len(x), 1e-2)
    idx = np.arange(len(x))          # which start each row came from
    eye = np.eye(5)
    with np.errstate(all="ignore"):
        f = _huber_value(x, log_n, log_d, log_l, delta)
        for it in range(iters):
            for at, frac in prune:
                if it == at:
                    keep = np.argsort(f)[: max(1, int(np.ceil(frac * len(f))))]
                    x, f, mu, idx = x[keep], f[keep], mu[keep], idx[keep]
            pred, (s0, s1, s2) = _terms(x, log_n, log_d)
            J = np.stack([s0, s1, s2, -s0 * log_n, -s1 * log_d], axis=-1)     # (B, n, 5)
            r = pred - log_l
            w = np.minimum(1.0, delta / np.maximum(np.abs(r), 1e-300))
            JtW = np.swapaxes(J * w[..., None], 1, 2)                              # (B, 5, n)
            H = JtW @ J
            g = (JtW @ r[..., None])[..., 0]
            diag = np.diagonal(H, axis1=1, axis2=2)
            A = H + (mu[:, None] * diag + 1e-12)[:, :, None] * eye
            ok = np.all(np.isfinite(A), axis=(1, 2)) & np.all(np.isfinite(g), axis=1)
            step = np.zeros_like(x)
            if ok.any():
                try:
                    step[ok] = np.linalg.solve(A[ok], -g[ok][..., None])[..., 0]
                except np.linalg.LinAlgError:
                    step[ok] = -g[ok] / np.maximum(np.diagonal(A[ok], axis1=1, axis2=2), 1e-300)
            trial = x + step
            ft = _huber_value(trial, log_n, log_d, log_l, delta)
            better = ft < f
            x[better], f[better] = trial[better], ft[better]
            mu = np.where(better, mu / 3, mu * 4)
    return x, f, idx


def fit_hoffmann_fast(log_n, log_d, log_l, starts: np.ndarray, delta: float = HUBER_DELTA, *,
                      screen_iters: int = 40, keep_fraction: float = 0.02, finish: int = 5
                      ) -> tuple[np.ndarray, float, dict[str, Any]]:
    """Same optimum as the reference loop, much faster.

    1. Analytic gradients (the reference spends 6 objective calls per finite-difference gradient).
    2. Vectorised starts: all 4,500 take batched Levenberg-Marquardt steps together.
    3. Hopeless starts are discarded early: after 5 steps only the best 10% go on, after 15 steps
       the best 10% of those (45 of 4,500), and at most ``keep_fraction`` of all starts reach step 4.
    4. Each survivor runs scipy's L-BFGS-B (analytic gradient, default tolerances); the best
       ``finish`` of those are finished to tight tolerances (the default gradient tolerance stops
       short on an objective this small). The best run scipy reports as converged is kept, as in
       Hoffmann's procedure; if none is, the best run is returned with ``info["converged"]``
       False. ``info`` counts the runs and the converged ones at both stages.
    """
    starts = np.asarray(starts, dtype=float)
    screened, f, origin = _batched_lm(log_n, log_d, log_l, starts, delta, screen_iters)
    keep = max(1, int(np.ceil(keep_fraction * len(starts))))
    order = np.argsort(f)[:keep]
    # survivors: a default-tolerance L-BFGS-B run each (cheap), then the best few to tight tolerance
    first, n_ok = [], 0
    for i in order:
        res = _lbfgsb(log_n, log_d, log_l, screened[i], delta)
        n_ok += bool(res.success)
        if np.isfinite(res.fun):
            first.append((float(res.fun), int(i), res.x))
    first.sort(key=lambda t: t[0])
    finished = []
    for _, i, x0 in first[:finish]:
        res = _lbfgsb(log_n, log_d, log_l, x0, delta, tight=True)
        if np.isfinite(res.fun):
            finished.append((bool(res.success), float(res.fun), i, res.x))
    if not finished:
        raise EstimationError("Hoffmann's procedure: every run from the surviving starts ended at a non-finite objective")
    n_finish_ok = sum(ok for ok, *_ in finished)
    pool = [t for t in finished if t[0]] or finished      # best converged run; else the best run, flagged
    ok, best_f, best_i, best_x = min(pool, key=lambda t: t[1])
    info = {"starts": int(len(starts)), "survivors": int(len(order)), "runs": int(len(order)),
            "converged_runs": n_ok, "finish_runs": len(finished), "finish_converged_runs": n_finish_ok,
            "converged": ok, "screen_iters": screen_iters, "winning_start": starts[origin[best_i]].tolist()}
    return np.asarray(best_x), best_f, info


# -- the headline likelihood ------------------------------------------------------------------

def huber_normaliser(delta: float = HUBER_DELTA) -> float:
    """Integral of exp(-rho_delta(z)) dz over the real line."""
    from scipy.special import erf

    return float(np.sqrt(2 * np.pi) * erf(delta / np.sqrt(2)) + 2 * np.exp(-0.5 * delta ** 2) / delta)


def huber_nll(theta6: np.ndarray, log_n, log_d, log_l, delta: float = HUBER_DELTA) -> float:
    """-log likelihood with parameters (a, b, e, alpha, beta, log s)."""
    s = np.exp(theta6[5])
    z = (log_l - log_predict(theta6[:5], log_n, log_d)) / s
    return float(huber(z, delta).sum() + len(z) * (theta6[5] + np.log(huber_normaliser(delta))))


def profile_log_scale(resid: np.ndarray, delta: float = HUBER_DELTA) -> float:
    """The log scale maximising the Huber likelihood of fixed residuals (1-D, bounded search)."""
    from scipy.optimize import minimize_scalar

    n = len(resid)
    ar = np.abs(resid)
    # Where every |r| > delta s the likelihood is Laplace-like and s = sum|r| / (n / delta)... use it as a bracket centre.
    guess = np.log(max(delta * ar.sum() / n, 1e-300))
    obj = lambda ls: float(huber(resid / np.exp(ls), delta).sum() + n * ls)  # noqa: E731
    res = minimize_scalar(obj, bounds=(guess - 10, guess + 10), method="bounded", options={"xatol": 1e-10})
    return float(res.x)


def fit_lad(log_n, log_d, log_l, x0: np.ndarray, *, max_iter: int = 200, weights: np.ndarray | None = None
            ) -> tuple[np.ndarray, float, bool, str]:
    """Least absolute deviations of log-loss residuals by sequential linear programming.

    Each step linearises the prediction, solves min sum |r - J dp| within a trust region
    (an LP: HiGHS), and accepts the step when the true objective falls. Returns (parameters,
    objective, converged, message): converged when no step within the trust region lowers the
    objective (the trust region shrank below 1e-12 or the LP predicts no decrease); not when the
    iteration limit is hit or an LP fails.
    """
    w = np.ones_like(log_l) if weights is None else np.asarray(weights, dtype=float)
    use = w > 0
    ln, ld, ll, w = log_n[use], log_d[use], log_l[use], w[use]
    n = len(ll)

    def lad(p):
        return float((w * np.abs(ll - log_predict(p, ln, ld))).sum())

    p = np.asarray(x0, dtype=float).copy()
    radius = 1.0
    converged, message = False, f"not converged: stopped at the iteration limit ({max_iter})"
    for _ in range(max_iter):
        a, b, e, al, be = p
        t = np.stack([a - al * ln, b - be * ld, np.full(n, e)])
        pred = logsumexp(t, axis=0)
        sm = np.exp(t - pred)
        J = np.stack([sm[0], sm[1], sm[2], -sm[0] * ln, -sm[1] * ld], axis=1)
        r = ll - pred
        c = np.r_[np.zeros(5), w, w]
        A = np.hstack([J, np.eye(n), -np.eye(n)])
        bounds = [(-radius, radius)] * 5 + [(0, None)] * (2 * n)
        res = linprog(c, A_eq=A, b_eq=r, bounds=bounds, method="highs")
        if res.status != 0:
            message = f"not converged: linear program failed: {res.message}"
            break
        dp = res.x[:5]
        old, new = lad(p), lad(p + dp)
        predicted = old - res.fun
        if new < old:
            p = p + dp
            if old - new > 0.75 * predicted:
                radius *= 2
        else:
            radius /= 4
        if radius < 1e-12 or predicted <= 1e-15 * max(old, 1e-300):
            converged, message = True, "converged: no step within the trust region lowers the absolute deviations"
            break
    return p, lad(p), converged, message


def _bootstrap_one(args):
    log_n, log_d, log_l, counts, x0, delta = args
    fun = lambda p: tuple(np.asarray(t, dtype=float) for t in huber_objective(p, log_n, log_d, log_l, delta,  # noqa: E731
                                                                              weights=counts))
    res = minimize(fun, x0, jac=True, method="BFGS")
    return np.r_[res.x, float(res.success)]


def bootstrap_huber_refits(log_n, log_d, log_l, n_boot: int, rng: np.random.Generator | None, *,
                           x0: np.ndarray = PAPER_START, delta: float = HUBER_DELTA,
                           workers: int | None = None, counts: np.ndarray | None = None
                           ) -> tuple[np.ndarray, np.ndarray]:
    """(n_boot, 5) refits of the sum of Huber losses on resampled points (the paper's bootstrap)
    and (n_boot,) whether scipy reported each refit converged.

    A resample is passed as a count per point (weights), so no data are copied; ``counts``
    (n_boot, n) gives the resamples explicitly (e.g. a published run's), else they are drawn
    from ``rng``. Each refit is scipy's BFGS with its default tolerances, as in the paper's
    code. ``workers`` processes share the refits (default: the CPUs available, at most 8).
    """
    n = len(log_l)
    if counts is None:
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    counts = np.asarray(counts, dtype=float)
    n_boot = len(counts)
    tasks = [(log_n, log_d, log_l, c, np.asarray(x0, dtype=float), delta) for c in counts]
    workers = workers if workers is not None else min(len(os.sched_getaffinity(0)), 8)
    if workers <= 1 or n_boot < 50:
        out = np.array([_bootstrap_one(t) for t in tasks])
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            out = np.array(list(pool.map(_bootstrap_one, tasks, chunksize=max(1, n_boot // (8 * workers)))))
    return out[:, :5], out[:, 5].astype(bool)


def untransform(theta: np.ndarray) -> np.ndarray:
    """(a, b, e, alpha, beta) -> (A, B, E, alpha, beta), for one vector or rows of them."""
    theta = np.asarray(theta, dtype=float)
    return np.concatenate([np.exp(theta[..., :3]), theta[..., 3:]], axis=-1)


def compute_optimal_allocation(compute_flop, A, B, alpha, beta) -> tuple[np.ndarray, np.ndarray]:
    """(N_opt, D_opt) minimising the loss at C = 6 N D: N_opt = G (C/6)^(beta/(alpha+beta))."""
    c6 = np.asarray(compute_flop, dtype=float) / 6.0
    G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
    n_opt = G * c6 ** (beta / (alpha + beta))
    return n_opt, c6 / n_opt


class ChinchillaFit(Estimator):
    """Fit E + A / N^alpha + B / D^beta (scikit-learn style: configure, ``fit``, read ``*_``).

    method: ``"likelihood"`` (Besiroglu et al.'s headline fit) or ``"hoffmann"`` (Hoffmann's
    procedure repeated). n_bootstrap: refits for standard errors and intervals (0: none).
    """

    prior_quantity = "alpha"

    def __init__(self, method: str = "likelihood", *, n_bootstrap: int = 1000, level: float = 0.9,
                 delta: float = HUBER_DELTA, seed: int | None = 0, workers: int | None = None,
                 reference: bool = False):
        self.method, self.n_bootstrap, self.level = method, n_bootstrap, level
        self.delta, self.seed, self.workers, self.reference = delta, seed, workers, reference

    @property
    def prior_source(self) -> str:  # type: ignore[override]
        return f"Chinchilla fit ({self.method})"

    def _check_params(self) -> None:
        if self.method not in ("likelihood", "hoffmann"):
            raise ConfigError("method", self.method, "likelihood or hoffmann")
        check_count("n_bootstrap", self.n_bootstrap, 0, "0 means no bootstrap")
        check_level(self.level)
        if not isinstance(self.delta, (int, float)) or not self.delta > 0:
            raise ConfigError("delta", self.delta, "a positive number (the Huber loss's threshold)")

    def guess(self, N=None, D=None, L=None) -> np.ndarray:
        """Starting points (k, 5) in log form (a, b, e, alpha, beta): Hoffmann's grid for
        ``method="hoffmann"``; Hoffmann et al.'s estimates for the likelihood fit (``PAPER_START``,
        where the paper's code started). Neither depends on the data."""
        if self.method == "hoffmann":
            return hoffmann_grid()
        return PAPER_START[None, :].copy()

    def fit(self, N, D, L) -> "ChinchillaFit":
        self._check_params()
        N, D, L = (np.asarray(v, dtype=float) for v in (N, D, L))
        if not (N.shape == D.shape == L.shape) or N.ndim != 1:
            raise EstimationError("N, D and L must be 1-D arrays of the same length")
        if len(L) < 6:
            raise EstimationError(f"too few points: {len(L)}, a 5-parameter law needs at least 6")
        if np.any(~np.isfinite(np.r_[N, D, L])) or np.any(np.r_[N, D, L] <= 0):
            raise EstimationError("N, D and L must be finite and positive (logs are taken)")
        ln, ld, ll = np.log(N), np.log(D), np.log(L)
        self.n_points_ = len(L)
        self.diagnostics_: dict[str, Any] = {"method": self.method, "huber_delta": self.delta}
        starts = self.guess(N, D, L)
        if self.method == "hoffmann":
            if self.reference:
                theta, fval, info = fit_hoffmann_reference(ln, ld, ll, starts, self.delta)
                info["path"] = "reference loop"
            else:
                theta, fval, info = fit_hoffmann_fast(ln, ld, ll, starts, self.delta)
            self.diagnostics_.update(info)
            self.converged_ = bool(info["converged"])
            self.message_ = (f"{'converged' if self.converged_ else 'not converged'}: best of {info['runs']} "
                             f"L-BFGS-B runs from {info['starts']} starts, {info['converged_runs']} of which "
                             "scipy reports converged")
            self.diagnostics_["huber_objective"] = fval
        else:
            # Start the LP at the Huber fit from Hoffmann's estimates, where the paper's BFGS started.
            fun = lambda p: tuple(np.asarray(t, dtype=float) for t in huber_objective(p, ln, ld, ll, self.delta))  # noqa: E731
            x0 = minimize(fun, starts[0], jac=True, method="BFGS").x
            theta, lad, self.converged_, self.message_ = fit_lad(ln, ld, ll, x0)
            log_s = profile_log_scale(ll - log_predict(theta, ln, ld), self.delta)
            full = np.r_[theta, log_s]
            self.diagnostics_.update({"sum_abs_log_residuals": lad, "log_scale": log_s,
                                      "neg_log_likelihood": huber_nll(full, ln, ld, ll, self.delta)})
        self.theta_ = np.asarray(theta)
        values = untransform(self.theta_)
        self.boot_theta_ = None
        draws = [None] * 5
        if self.n_bootstrap:
            rng = np.random.default_rng(self.seed)
            self.boot_theta_, ok = bootstrap_huber_refits(ln, ld, ll, self.n_bootstrap, rng, delta=self.delta,
                                                          workers=self.workers)
            boot = untransform(self.boot_theta_)
            draws = [boot[:, i] for i in range(5)]
            n_bad = int((~ok).sum())
            self.diagnostics_.update({"n_bootstrap": self.n_bootstrap, "bootstrap_not_converged": n_bad})
            if n_bad:
                self.message_ += (f"; {n_bad} of {self.n_bootstrap} bootstrap refits not reported converged by "
                                  "scipy's BFGS (kept, as in the paper's code)")
        self.estimates_ = {}
        for i, name in enumerate(PARAM_NAMES):
            if draws[i] is None:
                self.estimates_[name] = ParamEstimate(name, float(values[i]), level=self.level)
            else:
                self.estimates_[name] = summarize_draws(name, float(values[i]), draws[i], self.level)
        return self

    # -- using a fit ----------------------------------------------------------------------
    def predict(self, N, D) -> np.ndarray:
        self._check_fitted()
        return np.exp(log_predict(self.theta_, np.log(np.asarray(N, float)), np.log(np.asarray(D, float))))

    def predict_interval(self, N, D) -> tuple[np.ndarray, np.ndarray]:
        """Percentile interval of the predicted loss over the bootstrap refits (extrapolation band)."""
        self._check_fitted()
        if self.boot_theta_ is None:
            raise EstimationError("no bootstrap draws: fit with n_bootstrap > 0 for intervals")
        preds = np.exp(log_predict(self.boot_theta_, np.log(np.asarray(N, float)), np.log(np.asarray(D, float))))
        tail = (1 - self.level) / 2 * 100
        lo, hi = np.nanpercentile(preds, [tail, 100 - tail], axis=0)
        return lo, hi

    def compute_optimal(self, compute_flop) -> dict[str, Any]:
        """N_opt, D_opt and tokens per parameter at the given compute, with bootstrap intervals."""
        self._check_fitted()
        p = self.params_
        n_opt, d_opt = compute_optimal_allocation(compute_flop, p["A"], p["B"], p["alpha"], p["beta"])
        out: dict[str, Any] = {"compute_flop": np.asarray(compute_flop, float), "params_opt": n_opt,
                               "tokens_opt": d_opt, "tokens_per_param": d_opt / n_opt}
        if self.boot_theta_ is not None:
            b = untransform(self.boot_theta_)
            ok = np.all(np.isfinite(b), axis=1) & (b[:, 3] > 0) & (b[:, 4] > 0)
            b = b[ok]
            nb, db = compute_optimal_allocation(np.asarray(compute_flop, float)[..., None], b[:, 0], b[:, 1], b[:, 3], b[:, 4])
            tail = (1 - self.level) / 2 * 100
            out["tokens_per_param_interval"] = np.percentile(db / nb, [tail, 100 - tail], axis=-1)
        return out
