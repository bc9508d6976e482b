"""The criticality (reinvestment) model of Yudkowsky 2013, "Intelligence Explosion Microeconomics".

Discrete form: each generation of self-improvement yields ``k`` times the previous gain,
    I_{n+1} = I_n + g_n,   g_{n+1} = k g_n,   g_0 = dI0,
so k < 1 converges to I0 + dI0 / (1 - k) ("fizzle"), k = 1 grows by a constant step and k > 1
compounds ("explosion"). A generation takes ``generation_years``.

Continuous analogue: dI/dt = c I^p. p = 1 is exponential ("combustion"), p > 1 blows up in
finite time T* = I0^(1-p) / (c (p - 1)), p < 1 decelerates. The state is ln I, so the
right-hand side is d ln I / dt = c I^(p - 1).

The closed forms below are what the tests hold the simulation to. numpy only (``rhs_one``:
``math``).
"""
from __future__ import annotations

import math

import numpy as np

from rsilab.dynamics.base import INF, MapModel, OdeModel, Option, Param, Params, kernel_rows


class Criticality(OdeModel, MapModel):
    name = "criticality"
    summary = "Reinvestment with returns k per generation (discrete) or dI/dt = c I^p (continuous)."
    params = (
        Param("I0", "capability units", 1e-12, 1e12, 1.0, "capability at t = 0"),
        Param("k", "gain ratio", 0.0, 10.0, 1.0, "discrete: each generation's gain over the previous one"),
        Param("dI0", "capability units", 0.0, 1e12, 0.1, "discrete: gain of the first generation"),
        Param("generation_years", "years", 1e-3, 100.0, 1.0, "discrete: duration of one generation"),
        Param("c", "1/year", 0.0, 1e3, 0.5, "continuous: rate constant of dI/dt = c I^p"),
        Param("p", "exponent", -5.0, 5.0, 1.0, "continuous: returns exponent (1 = exponential)"),
    )
    options = (Option("form", ("continuous", "discrete"), "continuous",
                      "continuous ODE dI/dt = c I^p, or the discrete generation map"),)

    @property
    def returns_param(self) -> str:  # type: ignore[override]
        return "k" if self.opt("form") == "discrete" else "p"

    gain_state = 1  # the discrete form carries each generation's gain as state 1

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "map" if self.opt("form") == "discrete" else "ode"

    @property
    def state(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("ln_capability", "gain") if self.kind == "map" else ("ln_capability",)

    def initial(self, p: Params) -> np.ndarray:
        if self.kind == "map":
            return np.stack([np.log(p["I0"]), np.asarray(p["dI0"], dtype=float)])
        return np.log(p["I0"])[None, :].copy()

    def rhs(self, t: float, y: np.ndarray, p: Params) -> np.ndarray:
        # d ln I / dt = c I^(p-1) = c exp((p-1) ln I)
        return (p["c"] * np.exp((p["p"] - 1.0) * y[0]))[None, :]

    @staticmethod
    def rhs_one(t, y, par, out):
        # par: c, p
        out[0] = par[0] * math.exp((par[1] - 1.0) * y[0])

    def kernel_params(self, p: Params) -> np.ndarray:
        return kernel_rows(len(p["c"]), p["c"], p["p"])

    # -- discrete map ----------------------------------------------------------------------
    def step_years(self, y: np.ndarray, p: Params) -> np.ndarray:
        return p["generation_years"]

    def step(self, y: np.ndarray, p: Params, t: np.ndarray) -> np.ndarray:
        capability = np.exp(y[0]) + y[1]
        return np.stack([np.log(capability), p["k"] * y[1]])

    # The discrete limit I0 + dI0 / (1 - k) is the fizzle itself, not an external ceiling, so
    # this model has no ln_ceiling: k < 1 is classified by its returns.


# -- closed forms ----------------------------------------------------------------------------
def discrete_capability(n: np.ndarray | int, I0: float, dI0: float, k: float) -> np.ndarray:
    """Capability after n generations: I0 + dI0 (1 - k^n) / (1 - k) (I0 + n dI0 at k = 1)."""
    n = np.asarray(n, dtype=float)
    if k == 1.0:
        return I0 + n * dI0
    return I0 + dI0 * (1.0 - k**n) / (1.0 - k)


def discrete_limit(I0: float, dI0: float, k: float) -> float:
    """Limit of the discrete model: I0 + dI0 / (1 - k) for k < 1, infinity otherwise."""
    return I0 + dI0 / (1.0 - k) if k < 1.0 else INF


def continuous_capability(t: np.ndarray | float, I0: float, c: float, p: float) -> np.ndarray:
    """Exact solution of dI/dt = c I^p (inf past the blow-up time for p > 1)."""
    t = np.asarray(t, dtype=float)
    if p == 1.0:
        return I0 * np.exp(c * t)
    base = I0 ** (1.0 - p) + (1.0 - p) * c * t
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(base > 0, np.abs(base) ** (1.0 / (1.0 - p)), np.inf if p > 1 else 0.0)
    return out


def blowup_time(I0: float, c: float, p: float) -> float:
    """Finite blow-up time T* = I0^(1-p) / (c (p - 1)) for p > 1; infinity otherwise."""
    return I0 ** (1.0 - p) / (c * (p - 1.0)) if p > 1.0 and c > 0 else INF
