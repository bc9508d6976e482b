"""Returns per round of self-improvement: k, the ratio of successive capability gains.

Owns the estimator of k from a sequence of rounds (capability after each round, optionally the
compute and seconds each round cost). With gains g_i = capability_i - capability_(i-1):

- ``k`` is the least-squares ratio of successive gains, k = sum g_i g_(i+1) / sum g_i^2 (a
  geometric series g_i = g_0 k^i gives exactly k; zero or negative gains are allowed).
- ``k_per_compute`` is the same ratio of gains per unit compute (g_i / compute_flop_i).
- Intervals and P(k > 1): a bootstrap over the (g_i, g_(i+1)) pairs.
- k as a function of capability: each pair's ratio g_(i+1) / g_i against the capability
  where it was measured, and the least-squares slope of that ratio in capability.
- Regime: explosion (k > 1 + tol), combustion (|k - 1| <= tol), fizzle (k < 1 - tol), with
  confidence = the bootstrap mass in the verdict's region. tol defaults to 0.05.

It refuses (EstimationError) rather than guesses with fewer than ``min_rounds`` rounds or when
no round gained anything. Imports numpy only.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rsilab.errors import ConfigError, EstimationError
from rsilab.estimate.result import Estimator, empirical_prior_samples, summarize_draws

REGIMES = ("explosion", "combustion", "fizzle")


def ratio_k(g: np.ndarray) -> float:
    prev, nxt = g[:-1], g[1:]
    den = float(prev @ prev)
    return float(prev @ nxt / den) if den > 0 else float("nan")


def classify(k: np.ndarray | float, tol: float) -> np.ndarray:
    k = np.asarray(k, float)
    return np.where(k > 1 + tol, "explosion", np.where(k < 1 - tol, "fizzle", "combustion"))


class RoundsFit(Estimator):
    def __init__(self, *, n_bootstrap: int = 4000, level: float = 0.9, tol: float = 0.05,
                 min_rounds: int = 5, seed: int | None = 0):
        if tol < 0 or tol >= 1:
            raise ConfigError("tol", tol, "a number in [0, 1): how close to 1 counts as k = 1")
        if min_rounds < 4:
            raise ConfigError("min_rounds", min_rounds, "at least 4 (3 gains make 2 ratios)")
        if n_bootstrap < 100:
            raise ConfigError("n_bootstrap", n_bootstrap, "at least 100")
        self.n_bootstrap, self.level, self.tol, self.min_rounds, self.seed = n_bootstrap, level, tol, min_rounds, seed

    def fit(self, capability, compute_flop=None, seconds=None, rounds=None) -> "RoundsFit":
        cap = np.asarray(capability, float)
        if cap.ndim != 1 or len(cap) < self.min_rounds:
            raise EstimationError(f"too few rounds: {len(cap)}; at least {self.min_rounds} are needed to estimate k "
                                  "(each ratio needs two successive gains)")
        if not np.all(np.isfinite(cap)):
            raise EstimationError("capability has NaN or infinite values")
        g = np.diff(cap)
        if not np.any(g > 0):
            raise EstimationError("no round gained capability: the ratio of successive gains is undefined "
                                  "(every gain is zero or negative)")
        rng = np.random.default_rng(self.seed)
        pairs = np.column_stack([g[:-1], g[1:]])
        k = ratio_k(g)
        if not np.isfinite(k):
            raise EstimationError("all gains but the last are zero: k is undefined")
        idx = rng.integers(0, len(pairs), size=(self.n_bootstrap, len(pairs)))
        bp = pairs[idx]
        den = np.einsum("ij,ij->i", bp[..., 0], bp[..., 0])
        boot = np.where(den > 0, np.einsum("ij,ij->i", bp[..., 0], bp[..., 1]) / np.where(den > 0, den, 1), np.nan)
        boot = boot[np.isfinite(boot)]
        self.k_draws_ = boot
        self.estimates_ = {"k": summarize_draws("k", k, boot, self.level)}
        self.gains_ = g
        self.diagnostics_: dict[str, Any] = {"n_rounds": int(len(cap)), "n_pairs": int(len(pairs)),
                                            "n_bootstrap_used": int(len(boot)), "tolerance": self.tol}
        if compute_flop is not None:
            c = np.asarray(compute_flop, float)[1:]
            gpc = g / c
            kc = ratio_k(gpc)
            pc = np.column_stack([gpc[:-1], gpc[1:]])[idx]
            denc = np.einsum("ij,ij->i", pc[..., 0], pc[..., 0])
            bc = np.where(denc > 0, np.einsum("ij,ij->i", pc[..., 0], pc[..., 1]) / np.where(denc > 0, denc, 1), np.nan)
            self.estimates_["k_per_compute"] = summarize_draws("k_per_compute", kc, bc[np.isfinite(bc)], self.level)
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
        self.converged_ = True
        return self

    def result_dict(self) -> dict[str, Any]:
        self._check_fitted()
        k = self.estimates_["k"]
        out = {"k": k.value, "k_interval": list(k.interval) if k.interval else None, "k_se": k.se,
               "level": self.level, "p_k_gt_1": self.p_k_gt_1_, "regime": self.regime_,
               "regime_confidence": self.regime_confidence_, "regime_tolerance": self.tol,
               "k_by_capability": self.k_by_capability_, "gains": self.gains_.tolist(),
               "diagnostics": self.diagnostics_, "message": self.message_}
        if "k_per_compute" in self.estimates_:
            kc = self.estimates_["k_per_compute"]
            out["k_per_compute"] = kc.value
            out["k_per_compute_interval"] = list(kc.interval) if kc.interval else None
        return out

    def to_prior(self, source: str = "") -> dict[str, Any]:
        self._check_fitted()
        spec = ({"dist": "empirical", "samples": empirical_prior_samples(self.k_draws_)} if len(self.k_draws_) >= 2
                else {"dist": "fixed", "value": self.estimates_["k"].value})
        return {"quantity": "k", "spec": spec, "source": source or "self-improvement rounds"}
