"""Returns to R&D under the Jones law of motion dA/dt = theta A^(1-beta) I^lambda, r = lambda / beta.

Owns two estimators per domain (research input series I(t) plus the efficiency A at two dates,
or a full efficiency series where one exists):

- ``growth_ratio``: on a balanced growth path g_A = (lambda / beta) g_I, so r = g_A / g_I,
  computed exactly as Erdil, Besiroglu & Ho's published estimate: over an efficiency window
  of T = t1 - t0 years, g_A = ln(A(t1) / A(t0)) / T and g_I = ln(I[T-1] / I[0]) / (T - 1),
  using only the input series' first T values (the years t0 .. t1 - 1: the research done in
  those years is what moved A from t0 to t1; a value for year t1 is not used). The
  least-squares slope of ln I on the year over the same years is reported as
  ``r_growth_ratio_ols``. ``RnDReturnsFit.guess`` returns these growth ratios.
- ``bayesian`` (numpy/scipy only):
  * endpoints only: A is observed at two dates, so the data speak to r only through the input
    trend. ln I_t = c + g_I t + e_t with a flat prior gives g_I a Student-t posterior
    (n - 2 degrees of freedom, centred on the least-squares slope); r = g_A / g_I is drawn
    from it, with g_A taken as exact. Draws with g_I <= 0 (no input growth) are counted and
    excluded. This is not the published posterior, which models A as a noisy diffusion
    observed once, with half-Cauchy priors on lambda, beta and the noise (see docs/estimate.md):
    its intervals are several times wider.
  * full efficiency series: the discrete law d ln A_t = ln theta - beta ln A_t + lambda ln I_t + e_t
    is a linear regression; its flat-prior posterior is multivariate t, and r = lambda / beta
    is drawn from it (draws with beta <= 0 excluded and counted).

Imports numpy and scipy only.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rsilab.errors import ConfigError, EstimationError
from rsilab.estimate.result import Estimator, check_count, check_level, summarize_draws


def growth_ratio(years, inputs, t0: float, t1: float, eff0: float, eff1: float) -> dict[str, float]:
    """The growth-ratio estimates of r for one domain from the input years given (the caller
    passes the window's first T values): g_I is the endpoint growth rate between the first and
    last of them, ln(I_last / I_first) / (year_last - year_first)."""
    years, inputs = np.asarray(years, float), np.asarray(inputs, float)
    if len(years) < 2 or years[-1] <= years[0]:
        raise EstimationError("the research-input series needs at least two distinct years")
    g_a = np.log(eff1 / eff0) / (t1 - t0)
    g_i = np.log(inputs[-1] / inputs[0]) / (years[-1] - years[0])
    g_i_ols = float(np.polyfit(years, np.log(inputs), 1)[0])
    if g_i <= 0:
        raise EstimationError(f"research input did not grow ({inputs[0]:g} -> {inputs[-1]:g}): r = g_A / g_I "
                              "is undefined without input growth")
    return {"g_efficiency": float(g_a), "g_input": float(g_i), "g_input_ols": g_i_ols,
            "r_growth_ratio": float(g_a / g_i), "r_growth_ratio_ols": float(g_a / g_i_ols) if g_i_ols > 0 else float("nan")}


def _t_posterior_slope(years, log_inputs, n_draws, rng):
    X = np.column_stack([np.ones_like(years), years])
    coef, *_ = np.linalg.lstsq(X, log_inputs, rcond=None)
    n = len(years)
    resid = log_inputs - X @ coef
    dof = n - 2
    if dof < 1:
        raise EstimationError("the Bayesian estimator needs at least 3 years of research input")
    s2 = resid @ resid / dof
    cov = s2 * np.linalg.inv(X.T @ X)
    se = float(np.sqrt(cov[1, 1]))
    return coef[1] + se * rng.standard_t(dof, size=n_draws), float(coef[1]), se


def bayesian_endpoints(years, inputs, t0, t1, eff0, eff1, *, n_draws=20_000, rng=None) -> dict[str, Any]:
    rng = np.random.default_rng(rng)
    g_a = np.log(eff1 / eff0) / (t1 - t0)
    g_i, mean, se = _t_posterior_slope(np.asarray(years, float), np.log(np.asarray(inputs, float)), n_draws, rng)
    ok = g_i > 0
    return {"draws": g_a / g_i[ok], "dropped_fraction": float(1 - ok.mean()), "g_input_mean": mean, "g_input_se": se}


def bayesian_series(years_a, eff, years_i, inputs, *, n_draws=20_000, rng=None) -> dict[str, Any]:
    """Posterior draws of r from a full efficiency series (years must overlap the input years)."""
    rng = np.random.default_rng(rng)
    inp = dict(zip(np.asarray(years_i, float), np.asarray(inputs, float)))
    ya, la = np.asarray(years_a, float), np.log(np.asarray(eff, float))
    rows = [(la[k], np.log(inp[ya[k]]), (la[k + 1] - la[k]) / (ya[k + 1] - ya[k]))
            for k in range(len(ya) - 1) if ya[k] in inp]
    if len(rows) < 5:
        raise EstimationError(f"only {len(rows)} years where efficiency and research input overlap; 5 needed")
    la_t, li_t, dla = (np.array(c) for c in zip(*rows))
    X = np.column_stack([np.ones_like(la_t), la_t, li_t])
    coef, *_ = np.linalg.lstsq(X, dla, rcond=None)
    dof = len(dla) - 3
    resid = dla - X @ coef
    s2 = resid @ resid / dof
    cov = s2 * np.linalg.pinv(X.T @ X)
    # multivariate t draws: normal / sqrt(chi2 / dof)
    z = rng.multivariate_normal(np.zeros(3), cov, size=n_draws)
    w = np.sqrt(rng.chisquare(dof, size=n_draws) / dof)
    draws = coef + z / w[:, None]
    beta, lam = -draws[:, 1], draws[:, 2]
    ok = beta > 0
    return {"draws": lam[ok] / beta[ok], "dropped_fraction": float(1 - ok.mean()),
            "beta": float(-coef[1]), "lambda": float(coef[2]), "r_point": float(coef[2] / -coef[1]) if coef[1] < 0 else float("nan")}


def input_window(years, inputs, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """The research inputs of the efficiency window: years t0 <= year < t1 (the first T values)."""
    years, inputs = np.asarray(years, float), np.asarray(inputs, float)
    keep = (years >= t0) & (years < t1)
    return years[keep], inputs[keep]


class RnDReturnsFit(Estimator):
    """r per domain: growth ratio (point) and Bayesian posterior percentiles.

    ``to_prior()`` without a domain gives the first domain's prior (the order of the endpoints
    file); ``to_prior("SAT")`` names one. No pooled estimate is made, because domains differ in
    r by design.
    """

    prior_quantity = property(lambda self: f"r[{next(iter(self.domains_))}]")  # type: ignore[assignment]

    def __init__(self, *, n_draws: int = 20_000, level: float = 0.9, seed: int | None = 0):
        self.n_draws, self.level, self.seed = n_draws, level, seed

    def _check_params(self) -> None:
        check_count("n_draws", self.n_draws, 100, "posterior draws per domain")
        check_level(self.level)

    def _estimate_key(self, quantity: str) -> str:
        return quantity if quantity in self.estimates_ else f"r[{quantity}]"

    @property
    def prior_source(self) -> str:  # type: ignore[override]
        return f"returns to R&D, {next(iter(self.domains_))}"

    def _windows(self, inputs, endpoints) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        missing = sorted(set(endpoints) - set(inputs))
        if missing:
            raise EstimationError(f"domains with endpoints but no research input: {missing}")
        out = {}
        for dom, (t0, t1, _, _) in endpoints.items():
            yw, iw = input_window(*inputs[dom], t0, t1)
            if len(yw) < 3:
                raise EstimationError(f"{dom}: fewer than 3 years of research input in the window "
                                      f"t0={t0:g} <= year < t1={t1:g}")
            out[dom] = (yw, iw)
        return out

    def guess(self, inputs, endpoints) -> dict[str, float]:
        """The published growth ratio r = g_A / g_I per domain (closed form)."""
        return {dom: growth_ratio(yw, iw, *endpoints[dom])["r_growth_ratio"]
                for dom, (yw, iw) in self._windows(inputs, endpoints).items()}

    def fit(self, inputs: dict[str, tuple[np.ndarray, np.ndarray]],
            endpoints: dict[str, tuple[float, float, float, float]],
            efficiency: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> "RnDReturnsFit":
        self._check_params()
        windows = self._windows(inputs, endpoints)
        rng = np.random.default_rng(self.seed)
        self.domains_: dict[str, dict[str, Any]] = {}
        self.estimates_ = {}
        for dom, (t0, t1, e0, e1) in endpoints.items():
            yw, iw = windows[dom]
            res: dict[str, Any] = growth_ratio(yw, iw, t0, t1, e0, e1)
            if efficiency and dom in efficiency:
                post = bayesian_series(*efficiency[dom], *inputs[dom], n_draws=self.n_draws, rng=rng)
                res["bayesian_method"] = "efficiency series regression"
            else:
                post = bayesian_endpoints(yw, iw, t0, t1, e0, e1, n_draws=self.n_draws, rng=rng)
                res["bayesian_method"] = "endpoints + input trend (Student-t)"
            draws = post.pop("draws")
            res.update(post)
            pct = np.percentile(draws, [5, 25, 50, 75, 95]) if len(draws) else [np.nan] * 5
            res["r_posterior_percentiles"] = {str(p): float(v) for p, v in zip((5, 25, 50, 75, 95), pct)}
            res["p_r_gt_1"] = float(np.mean(draws > 1)) if len(draws) else float("nan")
            # the Bayesian posterior median is the value next to its interval; the growth ratio stays in domains_
            est = summarize_draws(f"r[{dom}]", float(np.median(draws)) if len(draws) else float("nan"), draws,
                                  self.level, quantity="r")
            self.estimates_[f"r[{dom}]"] = est
            res["r_interval"] = list(est.interval) if est.interval else None
            res["window"] = [t0, t1]
            res["input_years_used"] = [float(yw[0]), float(yw[-1])]
            self.domains_[dom] = res
        self.message_ = "closed form (growth ratio) and exact posterior sampling; nothing iterative to converge"
        self.converged_ = True
        return self
