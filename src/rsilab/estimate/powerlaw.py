"""The saturating power law y = E + A x^-alpha in one variable (size, data or compute).

Owns its fit (least squares on log y from a small grid of alpha starts, ``guess``, because log
residuals weigh small and large losses alike), bootstrap intervals (resampling residuals in log
space; refits that do not converge are counted in ``diagnostics_``) and extrapolation.
Imports numpy and scipy only.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import least_squares

from rsilab.errors import EstimationError
from rsilab.estimate.result import Estimator, ParamEstimate, check_count, check_level, summarize_draws

NAMES = ("E", "A", "alpha")


def power_law(x, E, A, alpha):
    return E + A * np.asarray(x, float) ** (-alpha)


def _fit_log(lx, ly, starts):
    # parameters (log E, log A, alpha): E, A > 0 by construction
    def resid(p):
        return np.logaddexp(p[0], p[1] - p[2] * lx) - ly

    best = None
    for p0 in starts:
        r = least_squares(resid, p0, method="lm", max_nfev=5000)
        if best is None or r.cost < best.cost:
            best = r
    return best


class PowerLawFit(Estimator):
    prior_quantity = "alpha"
    prior_source = "saturating power law fit"

    def __init__(self, *, n_bootstrap: int = 500, level: float = 0.9, seed: int | None = 0):
        self.n_bootstrap, self.level, self.seed = n_bootstrap, level, seed

    def _check_params(self) -> None:
        check_count("n_bootstrap", self.n_bootstrap, 0, "0 means no bootstrap")
        check_level(self.level)

    def guess(self, x, y) -> list[np.ndarray]:
        """Starting points (log E, log A, alpha): E just under the smallest y, one start per
        alpha in a small grid, A matching the first point."""
        order = np.argsort(np.asarray(x, float))
        lx, ly = np.log(np.asarray(x, float)[order]), np.log(np.asarray(y, float)[order])
        e0 = np.log(0.9 * np.exp(ly).min())
        out = []
        for alpha in (0.05, 0.2, 0.5, 1.0, 2.0):
            a0 = np.log(max(np.exp(ly[0]) - np.exp(e0), 1e-12)) + alpha * lx[0]
            out.append(np.array([e0, a0, alpha]))
        return out

    def fit(self, x, y) -> "PowerLawFit":
        self._check_params()
        x, y = np.asarray(x, float), np.asarray(y, float)
        if len(x) < 4:
            raise EstimationError(f"too few points: {len(x)}; a 3-parameter law needs at least 4")
        order = np.argsort(x)
        lx, ly = np.log(x[order]), np.log(y[order])
        best = _fit_log(lx, ly, self.guess(x, y))
        self.coef_ = np.array([np.exp(best.x[0]), np.exp(best.x[1]), best.x[2]])
        self.message_ = ("converged: " if best.success else "not converged: ") + str(best.message)
        self.converged_ = bool(best.success)
        self.boot_coef_ = None
        self.diagnostics_: dict = {"bootstrap": int(self.n_bootstrap), "bootstrap_not_converged": 0}
        draws = None
        if self.n_bootstrap:
            rng = np.random.default_rng(self.seed)
            fitted = np.logaddexp(best.x[0], best.x[1] - best.x[2] * lx)
            res = ly - fitted
            bs, failed = [], 0
            for _ in range(self.n_bootstrap):
                r = _fit_log(lx, fitted + rng.choice(res, size=len(res)), [best.x])
                failed += not r.success
                bs.append([np.exp(r.x[0]), np.exp(r.x[1]), r.x[2]])
            self.boot_coef_ = draws = np.array(bs)
            self.diagnostics_["bootstrap_not_converged"] = failed
            if failed:
                self.message_ += f"; {failed} of {self.n_bootstrap} bootstrap refits did not converge (kept)"
        self.estimates_ = {n: (summarize_draws(n, float(self.coef_[i]), draws[:, i], self.level) if draws is not None
                               else ParamEstimate(n, float(self.coef_[i]), level=self.level)) for i, n in enumerate(NAMES)}
        return self

    def predict(self, x):
        self._check_fitted()
        return power_law(x, *self.coef_)

    def extrapolate(self, x) -> dict[str, Any]:
        out: dict[str, Any] = {"x": np.asarray(x, float), "y": self.predict(x)}
        if self.boot_coef_ is not None:
            preds = np.array([power_law(x, *c) for c in self.boot_coef_])
            tail = (1 - self.level) / 2 * 100
            out["interval"] = np.percentile(preds, [tail, 100 - tail], axis=0)
        return out
