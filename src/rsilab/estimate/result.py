"""What every estimator returns: point estimates with intervals, a convergence message, a prior.

Owns ``ParamEstimate`` (value, standard error, interval, the draws behind them) and the
``Estimator`` mixin that gives each estimator ``params_``-style accessors, a table for the CLI,
a JSON-ready dict and ``to_prior()`` in the scenario TOML format. Imports numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class ParamEstimate:
    """One fitted quantity. ``interval`` is (low, high) at ``level``; ``draws`` are bootstrap or posterior draws."""

    name: str
    value: float
    se: float | None = None
    interval: tuple[float, float] | None = None
    level: float = 0.9
    draws: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "se": self.se,
                "interval": list(self.interval) if self.interval is not None else None, "level": self.level}


def summarize_draws(name: str, value: float, draws: np.ndarray, level: float = 0.9) -> ParamEstimate:
    """Standard error and percentile interval from draws (non-finite draws are dropped)."""
    d = np.asarray(draws, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return ParamEstimate(name, float(value), None, None, level, d)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(d, [tail, 100 - tail])
    with np.errstate(over="ignore", invalid="ignore"):  # a wild draw may overflow: the SE is then inf
        se = float(np.std(d, ddof=1))
    return ParamEstimate(name, float(value), se, (float(lo), float(hi)), level, d)


def empirical_prior_samples(draws: np.ndarray, max_samples: int = 2000) -> list[float]:
    """Up to ``max_samples`` evenly spaced order statistics: keeps a prior file small but faithful."""
    d = np.sort(np.asarray(draws, dtype=float)[np.isfinite(draws)])
    if d.size > max_samples:
        d = d[np.linspace(0, d.size - 1, max_samples).round().astype(int)]
    return [float(x) for x in d]


class Estimator:
    """Shared behaviour. Subclasses set ``estimates_`` (dict name -> ParamEstimate) and ``message_``."""

    estimates_: dict[str, ParamEstimate]
    message_: str
    converged_: bool

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimates_"):
            from rsilab.errors import EstimationError

            raise EstimationError(f"{type(self).__name__} is not fitted yet: call fit() first")

    @property
    def params_(self) -> dict[str, float]:
        self._check_fitted()
        return {k: v.value for k, v in self.estimates_.items()}

    def table_rows(self) -> list[tuple[str, str, str, str]]:
        """(name, value, se, interval) strings for a readable table."""
        self._check_fitted()
        rows = []
        for e in self.estimates_.values():
            se = "" if e.se is None else f"{e.se:.4g}"
            iv = "" if e.interval is None else f"[{e.interval[0]:.4g}, {e.interval[1]:.4g}] ({e.level:.0%})"
            rows.append((e.name, f"{e.value:.6g}", se, iv))
        return rows
