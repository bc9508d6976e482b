"""Classifying each trajectory as explosion, combustion, fizzle or ceiling.

The rule (documented in the README and docs/forecast.md):

1. **ceiling** if the model has a capability ceiling and the trajectory ended within a factor
   ``ceiling_factor`` (default 2) of it: growth was stopped by the ceiling, whatever the returns.
2. Otherwise the *effective returns* along the path decide: over its second half ("late",
   the default: where the takeoff ends up) or over its first output interval ("early": how it
   starts; ``simulation.regime_phase``; the summary always reports both). For ODE models and
   variable-duration maps they are the secant elasticity of the growth speed with respect to
   capability across that stretch:
       p_eff = d ln(dI/dt) / d ln I = 1 + [ln g(b) - ln g(a)] / [ln I(b) - ln I(a)],
   where g = d ln I / dt and (a, b) = (mid, end) or (0, first grid time), mid the half-way
   time and end the horizon (the stop time for a blow-up). For dI/dt = c I^p this is exactly p.
   For maps that carry their gain they are the ratio of successive generations' gains, k_eff
   (exactly k in the criticality map): the last two (late) or the first two (early). Both have
   their critical value at 1:
       explosion  if returns > 1 + tol   (super-exponential / compounding gains),
       combustion if |returns - 1| <= tol (steady exponential / constant gain ratio),
       fizzle     if returns < 1 - tol, or capability stopped growing.
The status of the solver (e.g. blow-up detected) is reported separately: a fast exponential
can pass the capability cap within the horizon and still be combustion. This module is the one
definition of the rule: compiled kernels leave it to ``effective_returns`` too.
"""
from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np

from rsilab.core.solution import Solution, Status
from rsilab.core.tolerances import RETURNS_TOLERANCE
from rsilab.dynamics.base import Model


class Regime(IntEnum):
    EXPLOSION = 0
    COMBUSTION = 1
    FIZZLE = 2
    CEILING = 3

    @property
    def label(self) -> str:
        return self.name.lower()


REGIME_LABELS = tuple(r.label for r in Regime)


PHASES = ("late", "early")


def effective_returns(sol: Solution, phase: str = "late") -> np.ndarray:
    """p_eff (ODEs, maps without a gain state) or k_eff (gain maps) over the late half or the
    first output interval of each path; nan where capability did not grow."""
    n = sol.status.shape[0]
    rows = np.arange(n)
    if sol.gain_ratio is not None:
        if phase == "late":
            return sol.gain_ratio
        return sol.early_gain_ratio
    j_mid = np.clip(np.searchsorted(sol.t_grid, sol.t_stop / 2.0, side="right") - 1, 0, len(sol.t_grid) - 1)
    y_mid, g_mid = sol.y_grid[0][rows, j_mid], sol.rate_grid[rows, j_mid]
    if phase == "late":
        (y_a, g_a), (y_b, g_b) = (y_mid, g_mid), (sol.y_stop[0], sol.rate_stop)
    else:
        first = 1 if len(sol.t_grid) > 1 else 0
        (y_a, g_a), (y_b, g_b) = (sol.y_grid[0][:, 0], sol.rate_grid[:, 0]), (sol.y_grid[0][:, first], sol.rate_grid[:, first])
    dy = y_b - y_a
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (g_a > 0) & (g_b > 0) & (dy > 1e-9) & np.isfinite(y_b)
        return np.where(ok, 1.0 + (np.log(g_b) - np.log(g_a)) / dy, np.nan)


def regime_codes(ret: np.ndarray, at_ceiling: np.ndarray | None, tol: float) -> np.ndarray:
    regime = np.full(ret.shape, Regime.FIZZLE, dtype=np.int8)
    regime[ret > 1.0 + tol] = Regime.EXPLOSION
    regime[np.abs(ret - 1.0) <= tol] = Regime.COMBUSTION
    if at_ceiling is not None:
        regime[at_ceiling] = Regime.CEILING
    return regime


class Classification(NamedTuple):
    regime: np.ndarray        # by the chosen phase
    returns: np.ndarray       # the effective returns that regime was decided from
    other_regime: np.ndarray  # by the other phase
    status: np.ndarray        # the solver's status, with CEILING for finished samples at the ceiling


def classify(sol: Solution, model: Model, p: dict[str, np.ndarray], *, tol: float = RETURNS_TOLERANCE,
             ceiling_factor: float = 2.0, phase: str = "late") -> Classification:
    """Regime per sample by ``phase``, the effective returns it was decided from, the regime by
    the other phase, and the status with finished samples that ended at the ceiling marked
    ``Status.CEILING`` (a new array: ``sol`` is left as the solver returned it)."""
    ln_ceiling = model.ln_ceiling(p)
    at_ceiling = None
    status = sol.status.copy()
    if ln_ceiling is not None:
        at_ceiling = np.isfinite(ln_ceiling) & (sol.y_stop[0] >= ln_ceiling - np.log(ceiling_factor))
        status[at_ceiling & (status == Status.FINISHED)] = Status.CEILING
    ret = effective_returns(sol, phase)
    other = effective_returns(sol, "early" if phase == "late" else "late")
    return Classification(regime_codes(ret, at_ceiling, tol), ret, regime_codes(other, at_ceiling, tol), status)
