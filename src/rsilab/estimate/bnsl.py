"""Broken neural scaling laws (Caballero et al. 2022, arXiv 2210.14891) with any number of breaks.

Owns y = a + b x^-c0 prod_i (1 + (x / d_i)^(1 / f_i))^(-c_i f_i), its fit and its extrapolation.
The fit follows the paper's code for the 4-digit-addition figure: a brute-force grid over
(a, log-ish b, c0, c_i, log-ish d_i, f_i) minimising the mean squared error of log(y + 1), then
a Levenberg-Marquardt refinement of log(y + 1) from the best grid point (``guess`` returns that
grid point). The grid is evaluated vectorised in chunks instead of point by point. Intervals on
extrapolations come from a residual bootstrap in log(y + 1) space; a refit that fails is
counted (``diagnostics_["bootstrap_failed"]``, reported in ``message_``), and the intervals are
those of the refits that succeeded. Imports numpy and scipy only.
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from scipy.optimize import curve_fit

from rsilab.errors import ConfigError, EstimationError
from rsilab.estimate.result import Estimator, ParamEstimate, check_count, check_level, summarize_draws


def bnsl(x, a, b, c0, *breaks) -> np.ndarray:
    """BNSL value; ``breaks`` is (c1, d1, f1, c2, d2, f2, ...)."""
    x = np.asarray(x, dtype=float)
    y = b * x ** (-c0)
    for c, d, f in zip(breaks[0::3], breaks[1::3], breaks[2::3]):
        y = y * (1 + (x / d) ** (1 / f)) ** (-c * f)
    return a + y


def param_names(n_breaks: int) -> list[str]:
    names = ["a", "b", "c0"]
    for i in range(1, n_breaks + 1):
        names += [f"c{i}", f"d{i}", f"f{i}"]
    return names


def _grid_axes(n_breaks: int) -> list[np.ndarray]:
    # The paper's grid: a in [0, 1) step .1; b and d on a 1.25^k - 0.9 scale, k in [0, 40) step 2.5;
    # exponents and break sharpness in [0, 1) step .25 (f = 0 is skipped: it divides).
    # Breaks after the first use a coarser grid (32 points instead of 256) so two or three breaks
    # stay tractable; the least-squares refinement does the fine work.
    axes = [np.arange(0.0, 1.0, 0.1), 1.25 ** np.arange(0, 40, 2.5) - 0.9, np.arange(0, 1, 0.25)]
    for i in range(n_breaks):
        if i == 0:
            axes += [np.arange(0, 1, 0.25), 1.25 ** np.arange(0, 40, 2.5) - 0.9, np.arange(0, 1, 0.25)]
        else:
            axes += [np.array([0.25, 0.75]), 1.25 ** np.arange(0, 40, 5.0) - 0.9, np.array([0.25, 0.75])]
    return axes


def grid_search(x, y, n_breaks: int, chunk: int = 200_000) -> np.ndarray:
    """Best grid point for the mean squared log(y + 1) error (NaN/inf points lose)."""
    axes = _grid_axes(n_breaks)
    target = np.log(y + 1)
    best, best_err = None, np.inf
    # the first axis is split across chunks so the full product never sits in memory at once
    rest = np.array(list(itertools.product(*axes[1:])))
    with np.errstate(all="ignore"):
        for a0 in axes[0]:
            for lo in range(0, len(rest), chunk):
                part = rest[lo:lo + chunk]
                g = np.column_stack([np.full(len(part), a0), part])
                pred = bnsl(x[None, :], *(g[:, i, None] for i in range(g.shape[1])))
                err = np.mean((np.log(pred + 1) - target) ** 2, axis=1)
                err = np.where(np.isfinite(err), err, np.inf)
                i = int(np.argmin(err))
                if err[i] < best_err:  # strict: ties keep the first point, as scipy.optimize.brute does
                    best, best_err = g[i], err[i]
    if best is None:
        raise EstimationError("no grid point gives a finite BNSL prediction")
    return best


class BNSLFit(Estimator):
    """Fit a BNSL with ``n_breaks`` breaks; ``extrapolate`` with bootstrap intervals."""

    prior_quantity = "c0"

    def __init__(self, n_breaks: int = 1, *, n_bootstrap: int = 200, level: float = 0.9, seed: int | None = 0):
        self.n_breaks, self.n_bootstrap, self.level, self.seed = n_breaks, n_bootstrap, level, seed

    @property
    def prior_source(self) -> str:  # type: ignore[override]
        return f"BNSL fit ({self.n_breaks} break(s))"

    def _check_params(self) -> None:
        if isinstance(self.n_breaks, bool) or not isinstance(self.n_breaks, int) or not 0 <= self.n_breaks <= 3:
            raise ConfigError("n_breaks", self.n_breaks, "an integer from 0 to 3 (more breaks make the grid too large)")
        check_count("n_bootstrap", self.n_bootstrap, 0, "0 means no bootstrap")
        check_level(self.level)

    def guess(self, x, y) -> np.ndarray:
        """The best point of the paper's grid: where the least-squares refinement starts."""
        return grid_search(np.asarray(x, float), np.asarray(y, float), self.n_breaks)

    def _refine(self, x, y, p0):
        f = lambda xx, *p: np.log(bnsl(xx, *p) + 1)  # noqa: E731
        with np.errstate(all="ignore"):
            popt, pcov = curve_fit(f, x, np.log(y + 1), p0=p0, maxfev=100_000)
        return popt, pcov

    def fit(self, x, y) -> "BNSLFit":
        self._check_params()
        x, y = np.asarray(x, float), np.asarray(y, float)
        k = 3 + 3 * self.n_breaks
        if len(x) <= k:
            raise EstimationError(f"too few points: {len(x)} for {k} parameters; need more than {k}")
        self.x_, self.y_ = x, y
        p0 = self.guess(x, y)
        # curve_fit raises RuntimeError when the Levenberg-Marquardt run does not converge
        # (its own ier flag); a returned popt is a converged run.
        try:
            popt, _ = self._refine(x, y, p0)
            self.converged_ = True
            self.message_ = "converged: least squares on log(y + 1) from the best grid point"
        except RuntimeError as exc:
            popt = p0
            self.converged_ = False
            self.message_ = f"not converged: refinement failed ({exc}); the best grid point is reported"
        self.coef_ = np.asarray(popt)
        names = param_names(self.n_breaks)
        fitted = np.log(bnsl(x, *self.coef_) + 1)
        resid = np.log(y + 1) - fitted
        self.rmsle_fit_ = float(np.sqrt(np.mean((np.log(bnsl(x, *self.coef_)) - np.log(y)) ** 2)))
        self.boot_coef_ = None
        self.diagnostics_: dict = {"bootstrap": int(self.n_bootstrap), "bootstrap_failed": 0}
        if self.n_bootstrap:
            rng = np.random.default_rng(self.seed)
            draws, failed = [], []
            for i in range(self.n_bootstrap):
                yb = np.exp(fitted + rng.choice(resid, size=len(resid), replace=True)) - 1
                try:
                    pb, _ = self._refine(x, yb, self.coef_)
                    draws.append(pb)
                except (RuntimeError, ValueError) as exc:
                    failed.append(f"{type(exc).__name__}: {exc}")
            self.boot_coef_ = np.array(draws) if draws else None
            self.diagnostics_["bootstrap_failed"] = len(failed)
            if failed:
                self.diagnostics_["bootstrap_failure_example"] = failed[0]
                self.message_ += (f"; {len(failed)} of {self.n_bootstrap} bootstrap refits failed "
                                  "(intervals use the others)")
        self.estimates_ = {}
        for i, n in enumerate(names):
            if self.boot_coef_ is not None and len(self.boot_coef_) >= 2:
                self.estimates_[n] = summarize_draws(n, float(self.coef_[i]), self.boot_coef_[:, i], self.level)
            else:
                self.estimates_[n] = ParamEstimate(n, float(self.coef_[i]), level=self.level)
        return self

    def predict(self, x) -> np.ndarray:
        self._check_fitted()
        return bnsl(np.asarray(x, float), *self.coef_)

    def extrapolate(self, x) -> dict[str, Any]:
        """Prediction and a bootstrap percentile band at new x."""
        self._check_fitted()
        out: dict[str, Any] = {"x": np.asarray(x, float), "y": self.predict(x)}
        if self.boot_coef_ is not None:
            with np.errstate(all="ignore"):
                preds = np.array([bnsl(np.asarray(x, float), *p) for p in self.boot_coef_])
            tail = (1 - self.level) / 2 * 100
            out["interval"] = np.nanpercentile(preds, [tail, 100 - tail], axis=0)
        return out

    def rmsle(self, x, y) -> float:
        """Root mean squared log error of the fit at (x, y): the paper's extrapolation score."""
        return float(np.sqrt(np.mean((np.log(self.predict(x)) - np.log(np.asarray(y, float))) ** 2)))
