"""Returns per round of self-improvement: k, the ratio of successive capability gains.

Owns the estimator of k from a sequence of rounds (capability after each round, optionally the
compute and seconds each round cost). With gains g_i = capability_i - capability_(i-1):

- ``k`` is the least-squares ratio of successive gains, k = sum g_i g_(i+1) / sum g_i^2
  (``gain_ratio``: a geometric series g_i = g_0 k^i gives exactly k; zero or negative gains
  are allowed).
- ``k_per_compute`` is the same ratio of gains per unit compute (g_i / compute_flop_i).
- Intervals and P(k > 1): a bootstrap over the (g_i, g_(i+1)) pairs.
- k as a function of capability: each pair's ratio g_(i+1) / g_i against the capability
  where it was measured, and the least-squares slope of that ratio in capability.
- Regime: explosion (k > 1 + tol), combustion (|k - 1| <= tol), fizzle (k < 1 - tol), with
  confidence = the bootstrap mass in the verdict's region. tol defaults to the project's one
  tolerance for "returns about 1", ``rsilab.dynamics.base.RETURNS_TOLERANCE``, which the
  forecast's regime rule uses too, so a fit and a forecast from its prior use the same words
  for the same k.

It refuses (EstimationError) rather than guesses with fewer than ``min_rounds`` rounds or when
no round gained anything. Imports numpy and rsilab.dynamics.base (for the tolerance) only.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rsilab.dynamics.base import RETURNS_TOLERANCE
from rsilab.errors import ConfigError, EstimationError
from rsilab.estimate.result import Estimator, check_count, check_level, summarize_draws

REGIMES = ("explosion", "combustion", "fizzle")


def gain_ratio(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray | float:
    """Least-squares ratio sum(prev * nxt) / sum(prev^2) over the last axis; nan where every
    ``prev`` is 0. Leading axes are independent ratios (e.g. bootstrap resamples)."""
    prev, nxt = np.asarray(prev, float), np.asarray(nxt, float)
    den = np.einsum("...i,...i->...", prev, prev)
    num = np.einsum("...i,...i->...", prev, nxt)
    out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def classify(k: np.ndarray | float, tol: float = RETURNS_TOLERANCE) -> np.ndarray:
    k = np.asarray(k, float)
    return np.where(k > 1 + tol, "explosion", np.where(k < 1 - tol, "fizzle", "combustion"))


class RoundsFit(Estimator):
    prior_quantity = "k"
    prior_source = "self-improvement rounds"

    def __init__(self, *, n_bootstrap: int = 4000, level: float = 0.9, tol: float = RETURNS_TOLERANCE,
                 min_rounds: int = 5, seed: int | None = 0):
        self.n_bootstrap, self.level, self.tol, self.min_rounds, self.seed = n_bootstrap, level, tol, min_rounds, seed

    def _check_params(self) -> None:
        if not isinstance(self.tol, (int, float)) or not 0 <= self.tol < 1:
            raise ConfigError("tol", self.tol, "a number in [0, 1): how close to 1 counts as k = 1")
        check_count("min_rounds", self.min_rounds, 4, "3 gains make 2 ratios")
        check_count("n_bootstrap", self.n_bootstrap, 100, "fewer resamples give no usable interval")
        check_level(self.level)

    def _check_data(self, capability) -> np.ndarray:
        cap = np.asarray(capability, float)
        if cap.ndim != 1 or len(cap) < self.min_rounds:
            raise EstimationError(f"too few rounds: {len(cap)}; at least {self.min_rounds} are needed to estimate k "
                                  "(each ratio needs two successive gains)")
        if not np.all(np.isfinite(cap)):
            raise EstimationError("capability has NaN or infinite values")
        with np.errstate(over="ignore"):
            gains = np.diff(cap)
        if not np.all(np.isfinite(gains)):
            i = int(np.flatnonzero(~np.isfinite(gains))[0])
            raise EstimationError(f"the gain between successive capabilities {cap[i]:g} and {cap[i + 1]:g} "
                                  "overflows a float: rescale the capability column")
        if not np.any(gains > 0):
            raise EstimationError("no round gained capability: the ratio of successive gains is undefined "
                                  "(every gain is zero or negative)")
        return cap

    def guess(self, capability) -> dict[str, float]:
        """The closed-form k from the capabilities (no iteration: this is also the estimate)."""
        g = np.diff(np.asarray(capability, float))
        return {"k": gain_ratio(g[:-1], g[1:])}

    def fit(self, capability, compute_flop=None, seconds=None, rounds=None) -> "RoundsFit":
        self._check_params()
        cap = self._check_data(capability)
        g = np.diff(cap)
        k = self.guess(cap)["k"]
        if not np.isfinite(k):
            raise EstimationError("all gains but the last are zero: k is undefined")
        rng = np.random.default_rng(self.seed)
        pairs = np.column_stack([g[:-1], g[1:]])
        idx = rng.integers(0, len(pairs), size=(self.n_bootstrap, len(pairs)))
        boot_all = gain_ratio(pairs[idx, 0], pairs[idx, 1])
        # a resample made only of pairs whose first gain is 0 has no ratio: counted, not hidden
        boot = boot_all[np.isfinite(boot_all)]
        self.k_draws_ = boot
        self.estimates_ = {"k": summarize_draws("k", k, boot_all, self.level)}
        self.gains_ = g
        self.diagnostics_: dict[str, Any] = {"n_rounds": int(len(cap)), "n_pairs": int(len(pairs)),
                                            "n_bootstrap": int(self.n_bootstrap),
                                            "n_bootstrap_used": int(len(boot)),
                                            "n_bootstrap_undefined": int(self.n_bootstrap - len(boot)),
                                            "tolerance": self.tol}
        if compute_flop is not None:
            gpc = g / np.asarray(compute_flop, float)[1:]
            kc = gain_ratio(gpc[:-1], gpc[1:])
            pc = np.column_stack([gpc[:-1], gpc[1:]])[idx]
            self.estimates_["k_per_compute"] = summarize_draws("k_per_compute", kc, gain_ratio(pc[..., 0], pc[..., 1]),
                                                               self.level)
        if seconds is not None:
            s = np.asarray(seconds, float)[1:]
            self.diagnostics_["gain_per_second"] = (g / s).tolist()
        # k against capability: per-pair ratios where the earlier gain is non-zero
        nz = pairs[:, 0] != 0
        self.k_by_capability_ = {"capability": cap[1:-1][nz].tolist(),
                                 "k": (pairs[nz, 1] / pairs[nz, 0]).tolist()}
        if nz.sum() >= 3:
            slope = float(np.polyfit(cap[1:-1][nz], pairs[nz, 1] / pairs[nz, 0], 1)[0])
            self.k_by_capability_["slope_dk_dcapability"] = slope
        self.p_k_gt_1_ = float(np.mean(boot > 1)) if len(boot) else float("nan")
        verdict = str(classify(k, self.tol))
        self.regime_ = verdict
        self.regime_confidence_ = float(np.mean(classify(boot, self.tol) == verdict)) if len(boot) else float("nan")
        self.message_ = "closed form; bootstrap over pairs of successive gains"
        self.converged_ = True   # nothing iterative: the closed form always exists once the checks pass
        return self

    def result_dict(self) -> dict[str, Any]:
        self._check_fitted()
        k = self.estimates_["k"]
        out = {"k": k.value, "k_interval": list(k.interval) if k.interval else None, "k_se": k.se,
               "level": self.level, "p_k_gt_1": self.p_k_gt_1_, "regime": self.regime_,
               "regime_confidence": self.regime_confidence_, "regime_tolerance": self.tol,
               "k_by_capability": self.k_by_capability_, "gains": self.gains_.tolist(),
               "diagnostics": self.diagnostics_, "message": self.message_, "converged": self.converged_}
        if "k_per_compute" in self.estimates_:
            kc = self.estimates_["k_per_compute"]
            out["k_per_compute"] = kc.value
            out["k_per_compute_interval"] = list(kc.interval) if kc.interval else None
        return out
