"""Boxing: human-in-the-loop containment of a self-improving system.

Every self-modification must pass review before the next one starts. Left alone, the system
would improve at d ln I / dt = g(I) = c (I / I0)^(p - 1) in modifications of ``step_efolds``
e-folds each, i.e. propose modifications at nu_free = g / step per year. Review runs at
throughput R(t) = R0 exp(review_speedup t) reviews per year (the review delay 1 / R shrinks as
tools improve). A modification is first made, then reviewed, so one iteration takes
step / g + 1 / R years:

    iterations      dn/dt      = nu = 1 / (step / g + 1 / R) = g R / (R step + g)
    capability      d ln I/dt  = nu step                       (review caps the rate)
    escape hazard   dH/dt      = nu * -ln(1 - p_i)
    shots           dS/dt      = nu exp(-H)

The state is (ln I, H, S): n is not integrated, since d ln I/dt = step dn/dt gives
n = (ln I - ln I0) / step exactly (``reviewed_iterations``).

Per-iteration escape probability p_i, as odds: odds_i = odds0 (I / O)^s u^q, where
odds0 = p_escape / (1 - p_escape); O(t) = O0 exp(overseer_growth t) is the overseers'
capability (O0 = overseer_ratio I0), s = gap_sensitivity, so the odds grow with the capability
gap ln(I / O); u = nu / R = nu_free / (R + nu_free) in (0, 1) is the share of review capacity
in use and q = rush_exponent: reviewers with spare capacity review more thoroughly.
-ln(1 - p_i) = ln(1 + odds_i) is computed as a softplus, so no overflow.

P(no escape by t) = exp(-H(t)) exactly: for constant p_i = p this is (1 - p)^n(t), the closed
form the tests check. The expected number of reviewed iterations completed before escape (the
"shots" of a few-shot alignment world), counting iterations continuously, is
S(t) = integral of exp(-H) dn; for constant p it is (1 - (1 - p)^n) / -ln(1 - p), within half
an iteration of the discrete sum over k = 1..n of (1 - p)^k.

Outputs per sample: the exact probability of escape before the horizon (``escape_probability``)
and one realisation of it, escaped iff u_escape < that probability (``p_escape``, summarised as
the probability over samples; u_escape is a parameter with a uniform(0, 1) prior, so the
engine's seed decides it and a fixed u gives a deterministic run).

The capability path is the boxed path while the box holds (the expectation is over escape,
the path is not). How much the box slows the takeoff is read against the unboxed law's closed
form: slowdown = (years boxed to reach a capability) / (years unboxed to reach it).

numpy only (``rhs_one``: ``math`` and ``rsilab.dynamics.scalar``).
"""
from __future__ import annotations

import math

import numpy as np

from rsilab.dynamics.base import OdeModel, Param, Params, kernel_rows
from rsilab.dynamics.control_common import free_rate, free_time, held, threshold_state
from rsilab.dynamics.scalar import logaddexp, nmax

N_LN, N_HAZARD, N_SHOTS = 0, 1, 2


class Boxing(OdeModel):
    name = "boxing"
    summary = "Human-in-the-loop containment: review caps the rate of self-modification; escape odds grow with the capability gap."
    state = ("ln_capability", "escape_hazard", "shots")
    returns_param = "p"
    params = (
        Param("I0", "capability units", 1e-12, 1e12, 1.0, "capability at t = 0"),
        Param("c", "1/year", 0.0, 100.0, 0.7, "unboxed growth rate of ln capability at I0"),
        Param("p", "exponent", -5.0, 5.0, 1.0, "returns exponent of the unboxed law dI/dt ~ I^p (1 = exponential)"),
        Param("step_efolds", "e-folds", 1e-6, 10.0, 0.05, "size of one self-modification (0.05 = about 5% more capability)"),
        Param("review_rate", "reviews/year", 0.0, 1e7, 52.0, "review throughput at t = 0 (52 = one review a week)"),
        Param("review_speedup", "1/year", 0.0, 10.0, 0.2, "rate at which review delay shrinks as tools improve"),
        Param("p_escape", "probability", 0.0, 0.999999, 0.001, "escape probability per iteration at zero gap and a saturated reviewer"),
        Param("gap_sensitivity", "dimensionless", 0.0, 10.0, 1.0, "escape odds scale as (capability / overseer capability)^s"),
        Param("overseer_ratio", "multiple of I0", 1e-12, 1e12, 1.0, "overseers' capability at t = 0 relative to the system's"),
        Param("overseer_growth", "1/year", 0.0, 100.0, 0.1, "growth rate of the overseers' capability (people plus tools)"),
        Param("rush_exponent", "dimensionless", 0.0, 10.0, 1.0, "escape odds scale as (share of review capacity in use)^q"),
        Param("u_escape", "quantile", 0.0, 1.0, 0.5, "seeded uniform draw that realises escape: escaped iff u < P(escape); give it uniform(0, 1)"),
    )

    def initial(self, p: Params) -> np.ndarray:
        n = len(p["I0"])
        z = np.zeros(n)
        return np.stack([np.log(p["I0"]), z, z])

    def _rates(self, t: np.ndarray, y: np.ndarray, p: Params):
        """Unboxed rate g, boxed iteration rate nu and per-iteration hazard -ln(1 - p_i)."""
        x = y[N_LN] - np.log(p["I0"])
        g = free_rate(x, p["c"], p["p"])
        review = p["review_rate"] * np.exp(p["review_speedup"] * t)
        demand = review * p["step_efolds"] + g          # (R step + g)
        safe = np.where(demand > 0, demand, 1.0)
        nu = np.where(demand > 0, g * review / safe, 0.0)
        load = np.where(demand > 0, g / safe, 1.0)       # u = nu / R
        gap = x - np.log(p["overseer_ratio"]) - p["overseer_growth"] * t
        with np.errstate(divide="ignore"):
            ln_odds0 = np.log(p["p_escape"]) - np.log1p(-p["p_escape"])
            ln_odds = ln_odds0 + p["gap_sensitivity"] * gap + p["rush_exponent"] * np.log(np.maximum(load, 1e-300))
        per_iteration = np.logaddexp(0.0, ln_odds)      # -ln(1 - p_i) = ln(1 + odds)
        return g, nu, per_iteration

    def rhs(self, t: np.ndarray, y: np.ndarray, p: Params) -> np.ndarray:
        _, nu, per_iteration = self._rates(t, y, p)
        return np.stack([nu * p["step_efolds"], nu * per_iteration, nu * np.exp(-y[N_HAZARD])])

    @staticmethod
    def rhs_one(t, y, par, out):
        # par: ln I0, c, p, step, review_rate, review_speedup, ln odds0, gap_sensitivity,
        #      ln overseer_ratio, overseer_growth, rush_exponent
        x = y[N_LN] - par[0]
        g = par[1] * math.exp((par[2] - 1.0) * x)   # free_rate
        review = par[4] * math.exp(par[5] * t)
        demand = review * par[3] + g
        if demand > 0:
            nu = g * review / demand
            load = g / demand
        else:
            nu = 0.0
            load = 1.0
        gap = x - par[8] - par[9] * t
        ln_odds = par[6] + par[7] * gap + par[10] * math.log(nmax(load, 1e-300))
        per_iteration = logaddexp(0.0, ln_odds)
        out[N_LN] = nu * par[3]
        out[N_HAZARD] = nu * per_iteration
        out[N_SHOTS] = nu * math.exp(-y[N_HAZARD])

    def kernel_params(self, p: Params) -> np.ndarray:
        with np.errstate(divide="ignore"):
            ln_odds0 = np.log(p["p_escape"]) - np.log1p(-p["p_escape"])
        return kernel_rows(len(p["I0"]), np.log(p["I0"]), p["c"], p["p"], p["step_efolds"], p["review_rate"],
                           p["review_speedup"], ln_odds0, p["gap_sensitivity"], np.log(p["overseer_ratio"]),
                           p["overseer_growth"], p["rush_exponent"])

    def check_params(self, p: Params) -> None:
        from rsilab.errors import ConfigError

        if (p["p_escape"] >= 1.0).any():
            raise ConfigError("params.p_escape", float(p["p_escape"].max()), "a probability below 1 (its log-odds are taken)")

    # -- outputs -----------------------------------------------------------------------------
    def sample_outputs(self, sol, p: Params) -> dict[str, np.ndarray]:
        x_end = sol.y_stop[N_LN] - np.log(p["I0"])
        t_free = free_time(x_end, p["c"], p["p"])
        with np.errstate(divide="ignore", invalid="ignore"):
            slowdown = np.where(t_free > 0, sol.t_stop / t_free, np.nan)
        prob = -np.expm1(-sol.y_stop[N_HAZARD])
        out = {
            "p_escape": p["u_escape"] < prob,
            "escape_probability": prob,
            "reviewed_iterations": reviewed_iterations(sol.y_stop[N_LN], p),
            "expected_shots": sol.y_stop[N_SHOTS],
            "box_slowdown": slowdown,
        }
        for k, t_thr in enumerate(sol.threshold_times, start=1):
            at = threshold_state(self, sol, p, k - 1)
            x = at[N_LN] - np.log(p["I0"])
            with np.errstate(divide="ignore", invalid="ignore"):
                out[f"box_slowdown_at_multiple_{k}"] = np.where(np.isfinite(t_thr), t_thr / free_time(x, p["c"], p["p"]), np.nan)
            out[f"escape_probability_before_multiple_{k}"] = -np.expm1(-at[N_HAZARD])
        return out

    def grid_outputs(self, sol, p: Params) -> dict[str, np.ndarray]:
        hazard = held(sol, N_HAZARD)
        ln_i = held(sol, N_LN)
        x = ln_i - np.log(p["I0"])[:, None]
        g = free_rate(x, p["c"][:, None], p["p"][:, None])
        x_stop = sol.y_stop[N_LN] - np.log(p["I0"])
        with np.errstate(divide="ignore", invalid="ignore"):
            speed = np.where(np.isfinite(x) & (g > 0), sol.rate_grid / g, np.nan)
            speed_stop = sol.rate_stop / free_rate(x_stop, p["c"], p["p"])
        # after a stop (blow-up) hold the ratio at the stop, so the mean is not pulled to 0
        speed = np.where(np.isnan(speed), speed_stop[:, None], speed)
        return {"P(escape by t)": -np.expm1(-hazard), "boxed speed / unboxed speed": speed}


def reviewed_iterations(ln_i: np.ndarray, p: Params) -> np.ndarray:
    """Iterations reviewed by the time capability is ``ln_i``: (ln I - ln I0) / step, since
    every iteration adds ``step_efolds`` e-folds."""
    return (ln_i - np.log(p["I0"])) / p["step_efolds"]


def escape_probability(n: np.ndarray | float, p_escape: float) -> np.ndarray:
    """Closed form for a constant per-iteration escape probability: 1 - (1 - p)^n."""
    return 1.0 - (1.0 - p_escape) ** np.asarray(n, dtype=float)


def expected_shots(n: np.ndarray | float, p_escape: float) -> np.ndarray:
    """Closed form of the continuous shot count for constant p: (1 - (1 - p)^n) / -ln(1 - p)."""
    lam = -np.log1p(-p_escape)
    return (1.0 - np.exp(-lam * np.asarray(n, dtype=float))) / lam


def constant_iteration_rate(c: float, review_rate: float, step_efolds: float) -> float:
    """nu for p = 1 and a review rate that does not speed up: 1 / (step / c + 1 / R)."""
    return 1.0 / (step_efolds / c + 1.0 / review_rate)
