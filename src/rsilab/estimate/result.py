"""What every estimator returns: point estimates with intervals, a convergence flag, a prior.

Owns ``ParamEstimate`` (value, standard error, interval, the draws behind them) and the
``Estimator`` base, scikit-learn's contract with lmfit's ``guess()``:

- ``__init__`` only stores its arguments; ``fit`` checks them first (``_check_params``), so
  setting an attribute after construction is checked too.
- ``guess(*data)`` returns the starting values (or closed-form estimate) ``fit`` starts from.
- ``fit`` sets ``estimates_`` (name -> ParamEstimate), ``converged_`` (from the optimizer's own
  result) and ``message_``, and returns self.
- ``to_prior()``: the one way a fit becomes a prior for the forecast engine. Each estimator
  declares ``prior_quantity`` (the estimate it gives by default); the prior is the estimate's
  draws (empirical) or, without draws, its value (fixed).

Imports numpy and rsilab.errors / rsilab.estimate.bridge only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rsilab.errors import ConfigError, EstimationError


@dataclass
class ParamEstimate:
    """One fitted quantity. ``interval`` is (low, high) at ``level``; ``draws`` are bootstrap or
    posterior draws; ``quantity`` is the forecast parameter kind it measures (default: ``name``)."""

    name: str
    value: float
    se: float | None = None
    interval: tuple[float, float] | None = None
    level: float = 0.9
    draws: np.ndarray | None = field(default=None, repr=False)
    quantity: str | None = None
    n_nonfinite: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = {"value": self.value, "se": self.se,
               "interval": list(self.interval) if self.interval is not None else None, "level": self.level}
        if self.draws is not None:
            out["n_draws"] = int(len(self.draws))
            out["n_nonfinite_draws"] = self.n_nonfinite
        return out


def summarize_draws(name: str, value: float, draws: np.ndarray, level: float = 0.9, *,
                    quantity: str | None = None) -> ParamEstimate:
    """Standard error and percentile interval from draws; non-finite draws are left out of
    both and counted in ``n_nonfinite``."""
    d = np.asarray(draws, dtype=float)
    finite = np.isfinite(d)
    n_bad = int((~finite).sum())
    d = d[finite]
    if d.size < 2:
        return ParamEstimate(name, float(value), None, None, level, d, quantity, n_bad)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(d, [tail, 100 - tail])
    with np.errstate(over="ignore", invalid="ignore"):  # a wild draw may overflow: the SE is then inf
        se = float(np.std(d, ddof=1))
    return ParamEstimate(name, float(value), se, (float(lo), float(hi)), level, d, quantity, n_bad)


def empirical_prior_samples(draws: np.ndarray, max_samples: int = 2000) -> list[float]:
    """Up to ``max_samples`` evenly spaced order statistics: keeps a prior file small but faithful."""
    d = np.sort(np.asarray(draws, dtype=float)[np.isfinite(draws)])
    if d.size > max_samples:
        d = d[np.linspace(0, d.size - 1, max_samples).round().astype(int)]
    return [float(x) for x in d]


def check_level(level: Any) -> None:
    if not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ConfigError("level", level, "a probability strictly between 0 and 1 (e.g. 0.9)")


def check_count(name: str, value: Any, minimum: int, why: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(name, value, f"an integer >= {minimum} ({why})")


class Estimator:
    """Shared behaviour; see the module docstring for the contract subclasses follow."""

    #: the estimate ``to_prior()`` gives when no quantity is named
    prior_quantity: str = ""
    #: words for a prior's "source" when the caller gives none
    prior_source: str = ""

    estimates_: dict[str, ParamEstimate]
    message_: str
    converged_: bool

    def _check_params(self) -> None:
        """Raise ConfigError for a constructor argument that is not allowed (called by fit)."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimates_"):
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

    def _estimate_key(self, quantity: str) -> str:
        """The key of ``estimates_`` that ``to_prior(quantity)`` names (override to accept aliases)."""
        return quantity

    def to_prior(self, quantity: str | None = None, source: str = "") -> dict[str, Any]:
        """A prior {"quantity", "spec", "source"} on one estimate: its draws as an empirical
        distribution, or its value fixed when it has fewer than two draws."""
        from rsilab.estimate.bridge import make_prior

        self._check_fitted()
        key = self._estimate_key(quantity) if quantity is not None else self.prior_quantity
        if key not in self.estimates_:
            raise ConfigError("quantity", quantity, f"one of {', '.join(self.estimates_)}")
        est = self.estimates_[key]
        if est.draws is not None and np.isfinite(est.draws).sum() >= 2:
            spec: dict[str, Any] = {"dist": "empirical", "samples": empirical_prior_samples(est.draws)}
        else:
            spec = {"dist": "fixed", "value": est.value}
        return make_prior(est.quantity or key, spec, source or self.prior_source or type(self).__name__)
