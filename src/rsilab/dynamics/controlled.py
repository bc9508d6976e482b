"""The controlled intelligence explosion: can alignment keep pace with capability?

Alignment capability A grows with the system's capability, because the system does (or
speeds up) alignment research; what is needed to stay aligned grows with capability too:

    capability    d ln I / dt = g(I) = c (I / I0)^(p - 1)
    alignment     dA / dt     = align_rate I0 (I / I0)^gamma
    requirement   Req(I)      = requirement_ratio I0 (I / I0)^eta
    margin        m           = ln(A / Req)        (safe while m > 0)

Outputs: whether and when the margin is first crossed (m <= 0), the capability at that moment,
the margin at the end, and the fraction of samples that stay safe throughout.

Closed form (tested): with p = 1 and gamma = eta, I = I0 exp(c t) and
A / I0 = a0 + k (exp(gamma c t) - 1) with k = align_rate / (gamma c), so the margin is crossed
iff k < r0 = requirement_ratio, at exp(gamma c t*) = (a0 - k) / (r0 - k) (a0 > r0: safe at
the start), and never otherwise. State: (ln I, ln(A / I0)).

numpy only (``rhs_one``: ``math``).
"""
from __future__ import annotations

import math

import numpy as np

from rsilab.dynamics.base import OdeModel, Param, Params, kernel_rows
from rsilab.dynamics.control_common import first_crossing_down, free_rate, held, state_at

N_LN, N_ALIGN = 0, 1
MARGIN_CLIP = 5.0


class Controlled(OdeModel):
    name = "controlled"
    summary = "Alignment capability grows with capability (dA/dt = g(I)) against a requirement that also grows with I."
    state = ("ln_capability", "ln_alignment")
    returns_param = "p"
    params = (
        Param("I0", "capability units", 1e-12, 1e12, 1.0, "capability at t = 0"),
        Param("c", "1/year", 0.0, 100.0, 0.7, "growth rate of ln capability at I0"),
        Param("p", "exponent", -5.0, 5.0, 1.0, "returns exponent of capability growth (1 = exponential)"),
        Param("alignment_ratio", "multiple of I0", 1e-12, 1e12, 2.0, "alignment capability at t = 0, relative to I0"),
        Param("align_rate", "1/year", 0.0, 100.0, 0.6, "alignment output per unit of (I / I0)^gamma: dA/dt = align_rate I0 (I / I0)^gamma"),
        Param("align_exponent", "dimensionless", 0.0, 5.0, 1.0, "gamma: how alignment output scales with capability"),
        Param("requirement_ratio", "multiple of I0", 1e-12, 1e12, 1.0, "alignment needed at t = 0, relative to I0"),
        Param("requirement_exponent", "dimensionless", 0.0, 5.0, 1.0, "eta: how the alignment needed scales with capability"),
    )

    def initial(self, p: Params) -> np.ndarray:
        return np.stack([np.log(p["I0"]), np.log(p["alignment_ratio"])])

    def rhs(self, t: np.ndarray, y: np.ndarray, p: Params) -> np.ndarray:
        out = np.empty_like(y)
        x = y[N_LN] - np.log(p["I0"])
        out[N_LN] = free_rate(x, p["c"], p["p"])
        out[N_ALIGN] = p["align_rate"] * np.exp(p["align_exponent"] * x - y[N_ALIGN])
        return out

    @staticmethod
    def rhs_one(t, y, par, out):
        # par: ln I0, c, p, align_rate, align_exponent
        x = y[N_LN] - par[0]
        out[N_LN] = par[1] * math.exp((par[2] - 1.0) * x)   # free_rate
        out[N_ALIGN] = par[3] * math.exp(par[4] * x - y[N_ALIGN])

    def kernel_params(self, p: Params) -> np.ndarray:
        return kernel_rows(len(p["I0"]), np.log(p["I0"]), p["c"], p["p"], p["align_rate"], p["align_exponent"])

    def margin(self, ln_i: np.ndarray, ln_a: np.ndarray, p: Params) -> np.ndarray:
        """ln(A / Req) for states given in the solver's units."""
        x = ln_i - np.log(p["I0"])
        return ln_a - np.log(p["requirement_ratio"]) - p["requirement_exponent"] * x

    def _grid(self, sol, p: Params):
        """Margin and its time derivative on the grid, held at the stop value after a stop, and
        the time the margin is first crossed. Both outputs hooks need them: kept with ``sol``."""
        if "controlled.grid" in sol.derived:
            return sol.derived["controlled.grid"]
        after = sol.t_grid[None, :] > sol.t_stop[:, None]
        ln_i = np.where(after, sol.y_stop[N_LN][:, None], sol.y_grid[N_LN])
        ln_a = held(sol, N_ALIGN)
        x = ln_i - np.log(p["I0"])[:, None]
        m = ln_a - np.log(p["requirement_ratio"])[:, None] - p["requirement_exponent"][:, None] * x
        d_ln_a = p["align_rate"][:, None] * np.exp(p["align_exponent"][:, None] * x - ln_a)
        d_ln_i = free_rate(x, p["c"][:, None], p["p"][:, None])
        dm = np.where(after, 0.0, d_ln_a - p["requirement_exponent"][:, None] * d_ln_i)
        t_cross = first_crossing_down(sol.t_grid, m, dm)
        sol.derived["controlled.grid"] = (m, dm, t_cross)
        return m, dm, t_cross

    def sample_outputs(self, sol, p: Params) -> dict[str, np.ndarray]:
        m, dm, t_cross = self._grid(sol, p)
        crossed = np.isfinite(t_cross)
        at = state_at(self, sol, p, t_cross)
        with np.errstate(over="ignore"):  # a crossing past float range is an infinite multiple
            multiple_at_crossing = np.exp(at[N_LN] - np.log(p["I0"]))
        return {
            "p_margin_crossed": crossed,
            "p_safe_throughout": ~crossed,
            "t_margin_crossed": t_cross,
            "capability_multiple_at_crossing": multiple_at_crossing,
            "final_margin_efolds": self.margin(sol.y_stop[N_LN], sol.y_stop[N_ALIGN], p),
        }

    def grid_outputs(self, sol, p: Params) -> dict[str, np.ndarray]:
        m, dm, t_cross = self._grid(sol, p)
        return {
            "P(safe so far)": (sol.t_grid[None, :] < t_cross[:, None]).astype(float),
            f"margin ln(A/Req), clipped to ±{MARGIN_CLIP:g}": np.clip(m, -MARGIN_CLIP, MARGIN_CLIP),
        }


def crossing_time_exponential(c: float, a0: float, align_rate: float, gamma: float, r0: float) -> float:
    """Closed-form first crossing for p = 1 and gamma = eta (inf if the margin never closes)."""
    k = align_rate / (gamma * c)
    if a0 <= r0:
        return 0.0
    if k >= r0:
        return math.inf
    return math.log((a0 - k) / (r0 - k)) / (gamma * c)
