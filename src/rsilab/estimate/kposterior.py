"""A posterior of k held on a grid of ln k: its interval, P(k > 1), median and draws.

Owns ``KPosterior``, the one representation of what a fit knows about one k (a series' own k, a
pooled mean, k at a target scale, once it is reduced to one dimension). The density lives on an
increasing grid of theta = ln k (refined where it changes fast); quantiles come from the
piecewise-linear density's exact CDF, so an interval is not limited to the grid's resolution.
Imports numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KPosterior:
    """``density`` over ``theta`` (= ln k), normalised to integrate to 1 in theta."""

    theta: np.ndarray
    density: np.ndarray

    @classmethod
    def from_log(cls, theta: np.ndarray, log_density: np.ndarray) -> "KPosterior":
        """From an unnormalised log density (NaN or -inf where impossible)."""
        lp = np.where(np.isfinite(log_density), log_density, -np.inf)
        if not np.isfinite(lp).any():
            raise ValueError("the posterior of k is zero everywhere on its grid")
        d = np.exp(lp - lp.max())
        return cls(np.asarray(theta, float), d / np.trapezoid(d, theta))

    def _cdf(self) -> np.ndarray:
        th, d = self.theta, self.density
        c = np.concatenate([[0.0], np.cumsum(0.5 * (d[1:] + d[:-1]) * np.diff(th))])
        return c / c[-1]

    def quantile(self, q) -> np.ndarray | float:
        """k at probability ``q`` (scalar or array), inverting the piecewise-quadratic CDF."""
        q = np.atleast_1d(np.asarray(q, float))
        th, d = self.theta, self.density
        cdf = self._cdf()
        total = np.trapezoid(d, th)
        i = np.clip(np.searchsorted(cdf, q, side="right") - 1, 0, len(th) - 2)
        h = th[i + 1] - th[i]
        d0, d1 = d[i] / total, d[i + 1] / total
        need = q - cdf[i]
        # within a cell the density is linear: solve d0 s + (d1 - d0) s^2 / (2 h) = need for s
        a = (d1 - d0) / (2 * h)
        with np.errstate(divide="ignore", invalid="ignore"):
            s_quad = (-d0 + np.sqrt(np.maximum(d0 * d0 + 4 * a * need, 0.0))) / (2 * a)
            s_lin = need / d0
        s = np.where(np.abs(a) > 1e-12, s_quad, np.where(d0 > 0, s_lin, 0.0))
        out = np.exp(th[i] + np.clip(s, 0.0, h))
        return float(out[0]) if out.size == 1 else out

    def interval(self, level: float = 0.9) -> tuple[float, float]:
        tail = (1 - level) / 2
        lo, hi = self.quantile([tail, 1 - tail])
        return float(lo), float(hi)

    @property
    def median(self) -> float:
        return float(self.quantile(0.5))

    def p_greater(self, k: float = 1.0) -> float:
        """P(k > ``k``)."""
        th = np.log(k)
        cdf = self._cdf()
        return float(1.0 - np.interp(th, self.theta, cdf))

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws of k (inverse-CDF sampling)."""
        return np.asarray(self.quantile(rng.random(n)), float).reshape(n)

    def sd_log(self) -> float:
        """The posterior SD of ln k."""
        m = np.trapezoid(self.theta * self.density, self.theta)
        return float(np.sqrt(max(np.trapezoid((self.theta - m) ** 2 * self.density, self.theta), 0.0)))
