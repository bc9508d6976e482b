"""Value drift under self-modification, and the goal-preserving system that throttles itself.

Each self-modification of size ``step_efolds`` (e-folds of capability) perturbs the goal by a
Gaussian step of standard deviation sigma * step, so the goal does a random walk whose step
grows with the size of the modification. Over x e-folds there are x / step modifications, so
the walk's variance grows by sigma^2 step per e-fold of capability gained. Verification
removes part of it: with alignment (verification) capability A, the system can check a fraction
cover = min(1, (A / I) / verify_ratio) of a successor; what it cannot check drifts, plus a
``residual_drift`` share that no verification removes:

    capability       d ln I / dt = w g(I),  g(I) = c (I / I0)^(p - 1)
    alignment        dA / dt     = align_rate I          (the system's own alignment research)
    drift variance   dD / dt     = sigma^2 step [residual + (1 - residual)(1 - cover)] d ln I / dt

with the throttle w = cover for a goal-preserving system (option ``policy = "throttle"``: it
slows until it can verify its successor, "an AI that fears value drift chooses slower
methods") and w = 1 when it races (``policy = "race"``). D is the expected squared drift, so
with the goal deviation Gaussian, P(|drift| > tolerance) = erfc(tolerance / sqrt(2 D)) exactly.

Per sample the exact probability is ``drift_beyond_tolerance_probability``; one realisation,
beyond iff u_drift < it, is ``p_drift_beyond_tolerance`` (u_drift: a uniform(0, 1) parameter).

The delay caused by throttling is read against the unthrottled law's closed form: years to
reach a capability minus the years g alone needs (zero for ``race``). State: (ln I, ln(A / I0), D).

numpy, and scipy.special.erfc for the probability of drift beyond tolerance (``rhs_one``:
``math`` and ``rsilab.dynamics.scalar``).
"""
from __future__ import annotations

import math

import numpy as np

from rsilab.dynamics.base import OdeModel, Option, Param, Params, kernel_rows
from rsilab.dynamics.control_common import free_rate, free_time, held, threshold_state
from rsilab.dynamics.scalar import nmin

N_LN, N_ALIGN, N_DRIFT = 0, 1, 2


def p_beyond(tolerance: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """P(|X| > tolerance) for X ~ Normal(0, variance): erfc(tol / sqrt(2 var)) for tolerance > 0;
    0 where var <= 0 (tol / 0 = inf), NaN where var is NaN (not reached: unknown, not zero)."""
    with np.errstate(divide="ignore"):
        z = tolerance / np.sqrt(2.0 * np.maximum(variance, 0.0))
    # scipy's vectorised erfc (NaN stays NaN, erfc(inf) = 0): per grid point this is the costliest
    # output of the drift and multipolar models, and a scalar erfc mapped over the grid was
    # several times slower. Imported here, not at module level, so that commands that never draw
    # on it start without scipy.special.
    from scipy.special import erfc

    return erfc(z)


class Drift(OdeModel):
    name = "drift"
    summary = "Goal random walk under self-modification; a goal-preserving system throttles until it can verify its successor."
    state = ("ln_capability", "ln_alignment", "drift_variance")
    returns_param = "p"
    params = (
        Param("I0", "capability units", 1e-12, 1e12, 1.0, "capability at t = 0"),
        Param("c", "1/year", 0.0, 100.0, 0.7, "unthrottled growth rate of ln capability at I0"),
        Param("p", "exponent", -5.0, 5.0, 1.0, "returns exponent of the unthrottled law (1 = exponential)"),
        Param("step_efolds", "e-folds", 1e-6, 10.0, 0.05, "size of one self-modification"),
        Param("drift_sigma", "goal units per e-fold", 0.0, 100.0, 1.0, "goal perturbation s.d. per modification, per e-fold of its size"),
        Param("alignment_ratio", "multiple of I0", 1e-12, 1e12, 1.0, "alignment (verification) capability at t = 0, relative to I0"),
        Param("align_rate", "1/year", 0.0, 100.0, 0.3, "alignment research output per unit capability: dA/dt = align_rate I"),
        Param("verify_ratio", "A / I", 1e-6, 1e6, 1.0, "alignment-to-capability ratio needed to verify a successor fully"),
        Param("residual_drift", "fraction", 0.0, 1.0, 0.1, "share of the drift that verification cannot remove"),
        Param("tolerance", "goal units", 1e-9, 1e6, 0.2, "goal deviation beyond which values count as lost"),
        Param("u_drift", "quantile", 0.0, 1.0, 0.5, "seeded uniform draw that realises the drift: beyond tolerance iff u < its probability"),
    )
    options = (Option("policy", ("throttle", "race"), "throttle",
                      "throttle: slow down until verification catches up; race: never slow down"),)

    def initial(self, p: Params) -> np.ndarray:
        return np.stack([np.log(p["I0"]), np.log(p["alignment_ratio"]), np.zeros(len(p["I0"]))])

    def _cover(self, y: np.ndarray, p: Params) -> tuple[np.ndarray, np.ndarray]:
        x = y[N_LN] - np.log(p["I0"])
        ratio = np.exp(np.minimum(y[N_ALIGN] - x, 700.0))  # A / I (capped: only min(1, .) is used)
        return x, np.minimum(1.0, ratio / p["verify_ratio"])

    def rhs(self, t: np.ndarray, y: np.ndarray, p: Params) -> np.ndarray:
        x, cover = self._cover(y, p)
        throttle = cover if self.opt("policy") == "throttle" else 1.0
        d_ln_i = free_rate(x, p["c"], p["p"]) * throttle
        d_ln_a = p["align_rate"] * np.exp(x - y[N_ALIGN])  # dA/dt / A with A, I in units of I0
        unverified = p["residual_drift"] + (1.0 - p["residual_drift"]) * (1.0 - cover)
        d_var = p["drift_sigma"] ** 2 * p["step_efolds"] * unverified * d_ln_i
        return np.stack([d_ln_i, d_ln_a, d_var])

    @staticmethod
    def rhs_one(t, y, par, out):
        # par: ln I0, c, p, verify_ratio, throttle (1 or 0), align_rate, residual_drift, sigma^2 step
        x = y[N_LN] - par[0]
        e = y[N_ALIGN] - x
        if e > 700.0:
            e = 700.0   # A / I capped, as in _cover
        cover = nmin(1.0, math.exp(e) / par[3])
        throttle = cover if par[4] != 0.0 else 1.0
        d_ln_i = par[1] * math.exp((par[2] - 1.0) * x) * throttle
        out[N_LN] = d_ln_i
        out[N_ALIGN] = par[5] * math.exp(x - y[N_ALIGN])
        unverified = par[6] + (1.0 - par[6]) * (1.0 - cover)
        out[N_DRIFT] = par[7] * unverified * d_ln_i

    def kernel_params(self, p: Params) -> np.ndarray:
        return kernel_rows(len(p["I0"]), np.log(p["I0"]), p["c"], p["p"], p["verify_ratio"],
                           float(self.opt("policy") == "throttle"), p["align_rate"], p["residual_drift"],
                           p["drift_sigma"] ** 2 * p["step_efolds"])

    # -- outputs -----------------------------------------------------------------------------
    def sample_outputs(self, sol, p: Params) -> dict[str, np.ndarray]:
        var = sol.y_stop[N_DRIFT]
        x_end = sol.y_stop[N_LN] - np.log(p["I0"])
        prob = p_beyond(p["tolerance"], var)
        out = {
            "p_drift_beyond_tolerance": p["u_drift"] < prob,
            "drift_beyond_tolerance_probability": prob,
            "drift_sd": np.sqrt(var),
            "throttle_delay_years": sol.t_stop - free_time(x_end, p["c"], p["p"]),
        }
        for k, t_thr in enumerate(sol.threshold_times, start=1):
            at = threshold_state(self, sol, p, k - 1)
            x = at[N_LN] - np.log(p["I0"])
            out[f"drift_sd_at_multiple_{k}"] = np.sqrt(np.maximum(at[N_DRIFT], 0.0))
            out[f"drift_beyond_tolerance_probability_at_multiple_{k}"] = p_beyond(p["tolerance"], np.maximum(at[N_DRIFT], 0.0))
            out[f"throttle_delay_years_at_multiple_{k}"] = t_thr - free_time(x, p["c"], p["p"])
        return out

    def grid_outputs(self, sol, p: Params) -> dict[str, np.ndarray]:
        var = held(sol, N_DRIFT)
        x = held(sol, N_LN) - np.log(p["I0"])[:, None]
        x_stop = sol.y_stop[N_LN] - np.log(p["I0"])
        with np.errstate(invalid="ignore", divide="ignore"):
            speed = np.where(np.isfinite(x), sol.rate_grid / free_rate(x, p["c"][:, None], p["p"][:, None]), np.nan)
            speed_stop = sol.rate_stop / free_rate(x_stop, p["c"], p["p"])
        speed = np.where(np.isnan(speed), speed_stop[:, None], speed)   # held after a blow-up
        return {"P(drift > tolerance)": p_beyond(p["tolerance"][:, None], var),
                "speed / unthrottled speed": speed}
