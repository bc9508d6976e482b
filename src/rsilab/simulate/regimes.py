"""Classifying each trajectory as explosion, combustion, fizzle or ceiling.

The rule (documented in the README and docs/forecast.md):

1. **ceiling** if the model has a capability ceiling and the trajectory ended within a factor
   ``ceiling_factor`` (default 2) of it: growth was stopped by the ceiling, whatever the returns.
2. Otherwise the *effective returns* along the late path decide. For ODE models they are the
   secant elasticity of the growth speed with respect to capability between the half-way time
   and the end (the stop time for a blow-up):
       p_eff = d ln(dI/dt) / d ln I = 1 + [ln g(end) - ln g(mid)] / [ln I(end) - ln I(mid)],
   where g = d ln I / dt. For dI/dt = c I^p this is exactly p. For discrete-generation maps
   they are the ratio of the last two generations' gains, k_eff (exactly k in the criticality
   map). Both have their critical value at 1:
       explosion  if returns > 1 + tol   (super-exponential / compounding gains),
       combustion if |returns - 1| <= tol (steady exponential / constant gain ratio),
       fizzle     if returns < 1 - tol, or capability stopped growing.
The status of the solver (e.g. blow-up detected) is reported separately: a fast exponential
can pass the capability cap within the horizon and still be combustion.
"""
from __future__ import annotations

from enum import IntEnum

import numpy as np

from rsilab.dynamics.base import Model
from rsilab.simulate.solver import Solution, Status


class Regime(IntEnum):
    EXPLOSION = 0
    COMBUSTION = 1
    FIZZLE = 2
    CEILING = 3

    @property
    def label(self) -> str:
        return self.name.lower()


REGIME_LABELS = tuple(r.label for r in Regime)


def effective_returns(sol: Solution) -> np.ndarray:
    """p_eff for ODE solutions, k_eff for map solutions (nan where capability did not grow)."""
    if sol.gain_ratio is not None:
        return sol.gain_ratio
    n = sol.status.shape[0]
    rows = np.arange(n)
    j_mid = np.clip(np.searchsorted(sol.t_grid, sol.t_stop / 2.0, side="right") - 1, 0, len(sol.t_grid) - 1)
    y_mid = sol.y_grid[0][rows, j_mid]
    g_mid = sol.rate_grid[rows, j_mid]
    y_end, g_end = sol.y_stop[0], sol.rate_stop
    dy = y_end - y_mid
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (g_mid > 0) & (g_end > 0) & (dy > 1e-9) & np.isfinite(y_end)
        return np.where(ok, 1.0 + (np.log(g_end) - np.log(g_mid)) / dy, np.nan)


def classify(sol: Solution, model: Model, p: dict[str, np.ndarray], *, tol: float = 0.02,
             ceiling_factor: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Regime code per sample and the effective returns it was decided from.

    Also marks finished samples that ended at the ceiling with ``Status.CEILING`` (in place).
    """
    ret = effective_returns(sol)
    regime = np.full(ret.shape, Regime.FIZZLE, dtype=np.int8)
    regime[ret > 1.0 + tol] = Regime.EXPLOSION
    regime[np.abs(ret - 1.0) <= tol] = Regime.COMBUSTION
    ln_ceiling = model.ln_ceiling(p)
    if ln_ceiling is not None:
        at_ceiling = np.isfinite(ln_ceiling) & (sol.y_stop[0] >= ln_ceiling - np.log(ceiling_factor))
        regime[at_ceiling] = Regime.CEILING
        sol.status[at_ceiling & (sol.status == Status.FINISHED)] = Status.CEILING
    return regime, ret
