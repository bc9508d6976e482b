"""Returns per round of self-improvement: k, the ratio of successive capability gains.

Owns ``RoundsFit``, the estimator of k from one series of rounds (capability after each round,
optionally its standard error or the benchmark's size, the compute and seconds each round cost).

The default method, ``levels``, fits the capability levels themselves: the geometric-gains model
c_t = c0 + g1 (1 - k^t) / (1 - k) with measurement noise on every level
(``rsilab.estimate.levels``: the noise from an ``se`` column, a binomial from ``n_items``, or
estimated), k's posterior on a grid (prior log-uniform on [1/20, 20], symmetric about 1), and
from that one posterior: k (its median), the interval, P(k > 1) and the draws a forecast prior is
made of. A regression of each gain on the previous one (the ``ratio`` method, kept for
comparison only) is biased toward 0: each gain is a difference of two noisy levels and
neighbouring gains share one level with opposite signs (errors in variables).

- The verdict comes from the interval by the one rule (``rsilab.estimate.verdict``): fizzle,
  combustion, explosion or undetermined with P(k > 1). tol defaults to the project's one band for
  "returns about 1", which the forecast's regime rule uses too.
- Direction: the first gain must be positive (G > 0 in the model), so a loss followed by a loss
  is no evidence of compounding.
- Round 0 (the model the loop starts from) is often a different kind of step (an instruct model
  to its first iteration): the fit is also made from round 1 on and reported beside it
  (``by_start``); ``from_round`` says which one is the headline.
- The geometric model is compared with constant returns toward a ceiling
  (``rsilab.estimate.saturation``), which says whether the data can tell them apart.
- ``k_per_compute``: the same model with each gain divided by its round's compute.

It refuses (EstimationError) rather than guesses with fewer than ``min_rounds`` rounds or when no
round gained anything. Imports numpy and the estimate modules only.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rsilab.core.tolerances import RETURNS_TOLERANCE
from rsilab.errors import ConfigError, EstimationError
from rsilab.estimate import levels as lv
from rsilab.estimate.kposterior import KPosterior
from rsilab.estimate.result import Estimator, ParamEstimate, check_count, check_level, summarize_draws
from rsilab.estimate.transforms import check_transform
from rsilab.estimate.verdict import verdict

METHODS = ("levels", "ratio")
N_DRAWS = 4000


def gain_ratio(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray | float:
    """Least-squares ratio sum(prev * nxt) / sum(prev^2) over the last axis; nan where every
    ``prev`` is 0. Leading axes are independent ratios (e.g. bootstrap resamples). The ``ratio``
    method's estimate, kept for comparison."""
    prev, nxt = np.asarray(prev, float), np.asarray(nxt, float)
    den = np.einsum("...i,...i->...", prev, prev)
    num = np.einsum("...i,...i->...", prev, nxt)
    out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def posterior_estimate(name: str, post: KPosterior, level: float, rng: np.random.Generator, *,
                       quantity: str | None = "k") -> ParamEstimate:
    """A ParamEstimate from a posterior of k: its median, equal-tailed interval and draws."""
    return ParamEstimate(name, post.median, None, post.interval(level), level, post.draws(N_DRAWS, rng), quantity)


class RoundsFit(Estimator):
    """Fit k to rounds. ``fit(capability, rounds=, se=, n_items=, compute_flop=, seconds=)`` returns self.

    Learned: ``k_`` (the posterior median), ``k_interval_``, ``p_k_gt_1_``, ``regime_`` (the
    verdict), ``posterior_`` (``KPosterior``), ``by_start_`` (the fit from round 0 and from round
    1), ``saturation_`` (the comparison with constant returns toward a ceiling), ``noise_``.
    """

    prior_quantity = "k"
    prior_source = "self-improvement rounds"

    def __init__(self, *, method: str = "levels", transform: str = "raw", ceiling: float | None = None,
                 level: float = 0.9, tol: float = RETURNS_TOLERANCE, min_rounds: int = 4, from_round: int | None = None,
                 n_bootstrap: int = 4000, seed: int | None = 0):
        self.method, self.transform, self.ceiling, self.level, self.tol = method, transform, ceiling, level, tol
        self.min_rounds, self.from_round, self.n_bootstrap, self.seed = min_rounds, from_round, n_bootstrap, seed

    def __repr__(self) -> str:
        if not hasattr(self, "estimates_"):
            return f"RoundsFit(method={self.method!r}, transform={self.transform!r}, level={self.level}) [not fitted]"
        lo, hi = self.k_interval_
        return (f"RoundsFit(k={self.k_:.3g} [{lo:.3g}, {hi:.3g}] ({self.level:.0%}), P(k > 1)={self.p_k_gt_1_:.2f}, "
                f"{self.regime_}; {self.diagnostics_['n_rounds']} rounds, noise {self.noise_}, "
                f"method {self.method})")

    # -- checks ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise ConfigError("method", self.method, f"one of {', '.join(METHODS)}")
        check_transform(self.transform)
        if not isinstance(self.tol, (int, float)) or not 0 <= self.tol < 1:
            raise ConfigError("tol", self.tol, "a number in [0, 1): how close to 1 counts as k = 1")
        check_count("min_rounds", self.min_rounds, 3, "3 levels make the 2 gains a ratio needs")
        check_count("n_bootstrap", self.n_bootstrap, 100, "fewer resamples give no usable interval")
        if self.from_round is not None:
            check_count("from_round", self.from_round, 0, "a round number")
        check_level(self.level)

    def _check_data(self, cap: np.ndarray) -> None:
        if cap.ndim != 1 or len(cap) < self.min_rounds:
            raise EstimationError(f"too few rounds: {len(cap)}; at least {self.min_rounds} are needed to estimate k "
                                  f"(min_rounds; 3 is the least any estimate can use)")
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

    def guess(self, capability) -> dict[str, float]:
        """A starting value: the least-squares ratio of successive gains (the ``ratio`` method's k)."""
        g = np.diff(np.asarray(capability, float))
        return {"k": gain_ratio(g[:-1], g[1:])}

    # -- fit ---------------------------------------------------------------------------------
    def fit(self, capability, compute_flop=None, seconds=None, rounds=None, *, se=None, n_items=None) -> "RoundsFit":
        self._check_params()
        cap = np.asarray(capability, float)
        rounds = np.arange(len(cap), dtype=float) if rounds is None else np.asarray(rounds, float)
        cols = {"compute_flop": compute_flop, "seconds": seconds, "se": se, "n_items": n_items}
        cols = {k: (None if v is None else np.asarray(v, float)) for k, v in cols.items()}
        if cap.size == 0:
            self._check_data(cap)                # "too few rounds: 0"
        start = rounds.min() if self.from_round is None else float(self.from_round)
        keep = rounds >= start
        if not keep.any():
            raise EstimationError(f"no round at or after from_round = {self.from_round}")
        self._check_data(cap[keep])
        rng = np.random.default_rng(self.seed)
        self.gains_ = np.diff(cap[keep])
        fit = self._fit_method(cap[keep], rounds[keep], {k: (None if v is None else v[keep]) for k, v in cols.items()}, rng)
        self.estimates_ = {"k": fit["k"]}
        if cols["compute_flop"] is not None:
            self.estimates_["k_per_compute"] = fit["k_per_compute"]
        self.posterior_ = fit.get("posterior")
        self.noise_ = fit["noise"]
        k = self.estimates_["k"]
        self.k_, self.k_interval_, self.k_draws_ = k.value, k.interval, k.draws
        self.p_k_gt_1_ = fit["p_k_gt_1"]
        self.regime_ = verdict(k.interval, self.tol)
        self.headline_from_round_ = int(start)
        self.by_start_ = self._by_start(cap, rounds, cols, rng, int(start), fit)
        self.saturation_ = fit.get("saturation")
        self.fitted_ = fit.get("fitted")
        if self.fitted_ is not None:
            self.fitted_["data"] = cap[keep].tolist()
        self.diagnostics_: dict[str, Any] = {"n_rounds": int(keep.sum()), "first_round": int(start),
                                            "tolerance": self.tol, "method": self.method, **fit["diagnostics"]}
        if cols["seconds"] is not None:
            self.diagnostics_["gain_per_second"] = (self.gains_ / cols["seconds"][keep][1:]).tolist()
        self.k_by_capability_ = _pair_ratios(cap[keep])
        self.message_ = fit["message"]
        self.converged_ = True   # a grid posterior or a closed form: nothing iterative to fail
        return self

    def _fit_method(self, cap, rounds, cols, rng, *, side_results: bool = True) -> dict[str, Any]:
        """k (and k per compute) by the method; ``side_results``: the saturation comparison and
        the fitted path too (the headline's, not the fit beside it)."""
        if self.method == "ratio":
            return self._fit_ratio(cap, cols, rng)
        levels = self._levels(cap, rounds, cols)
        post = lv.posterior(levels)
        out: dict[str, Any] = {"k": posterior_estimate("k", post, self.level, rng), "posterior": post,
                               "p_k_gt_1": post.p_greater(1.0), "noise": levels.noise,
                               "message": f"posterior on a grid of ln k; noise {levels.noise}"}
        if cols["compute_flop"] is not None and side_results:
            if not np.array_equal(np.diff(rounds), np.ones(len(rounds) - 1)):
                raise EstimationError("k per compute needs consecutive rounds (each gain's own compute)")
            costed = lv.Levels(**{**levels.__dict__, "cost": cols["compute_flop"] / np.mean(cols["compute_flop"])})
            out["k_per_compute"] = posterior_estimate("k_per_compute", lv.posterior(costed), self.level, rng,
                                                      quantity="k")
        if side_results:
            from rsilab.estimate.saturation import compare_saturation

            out["saturation"] = compare_saturation(levels)
            out["fitted"] = _fitted(levels, rounds, out["k"], self.level)
        out["diagnostics"] = {"sd_ln_k": post.sd_log(), "prior": f"ln k uniform on [ln {lv.K_LOW:g}, ln {lv.K_HIGH:g}]"}
        return out

    def _levels(self, cap, rounds, cols) -> lv.Levels:
        ceiling = self.ceiling
        if ceiling is None and (self.transform in ("logit", "neglog-error") or cols["n_items"] is not None):
            ceiling = 100.0
        return lv.levels_from_values(cap, rounds, se=cols["se"], n_items=cols["n_items"],
                                     transform=self.transform, ceiling=ceiling)

    def _fit_ratio(self, cap, cols, rng) -> dict[str, Any]:
        from rsilab.estimate.transforms import apply_transform

        ceiling = self.ceiling if self.ceiling is not None else 100.0
        y = apply_transform(cap, self.transform, ceiling) if self.transform != "raw" else cap
        g = np.diff(y)
        k = gain_ratio(g[:-1], g[1:])
        if not np.isfinite(k):
            raise EstimationError("all gains but the last are zero: k is undefined")
        pairs = np.column_stack([g[:-1], g[1:]])
        idx = rng.integers(0, len(pairs), size=(self.n_bootstrap, len(pairs)))
        boot = gain_ratio(pairs[idx, 0], pairs[idx, 1])
        out = {"k": summarize_draws("k", k, boot, self.level, quantity="k"), "noise": "ignored (ratio method)",
               "p_k_gt_1": float(np.mean(boot[np.isfinite(boot)] > 1)),
               "message": "ratio method (for comparison only): least-squares ratio of successive gains, "
                          "bootstrap over pairs",
               "diagnostics": {"n_bootstrap": int(self.n_bootstrap),
                               "n_bootstrap_undefined": int((~np.isfinite(boot)).sum())}}
        if cols["compute_flop"] is not None:
            gpc = g / cols["compute_flop"][1:]
            pc = np.column_stack([gpc[:-1], gpc[1:]])[idx]
            out["k_per_compute"] = summarize_draws("k_per_compute", gain_ratio(gpc[:-1], gpc[1:]),
                                                   gain_ratio(pc[..., 0], pc[..., 1]), self.level, quantity="k")
        return out

    def _by_start(self, cap, rounds, cols, rng, start, headline) -> dict[str, Any]:
        """The fit from round 0 and from round 1, side by side (one of them is the headline's)."""
        out = {}
        for first in (int(rounds.min()), int(rounds.min()) + 1):
            if first == start:
                fit = headline
            else:
                keep = rounds >= first
                try:
                    self._check_data(cap[keep])
                    fit = self._fit_method(cap[keep], rounds[keep],
                                           {k: (None if v is None else v[keep]) for k, v in cols.items()}, rng,
                                           side_results=False)
                except EstimationError as exc:
                    out[f"from round {first}"] = {"k": None, "note": str(exc)}
                    continue
            k = fit["k"]
            out[f"from round {first}"] = {"k": k.value, "k_interval": list(k.interval) if k.interval else None,
                                          "p_k_gt_1": fit["p_k_gt_1"], "regime": verdict(k.interval, self.tol),
                                          "n_rounds": int((rounds >= first).sum()), "headline": first == start}
        return out

    def result_dict(self) -> dict[str, Any]:
        self._check_fitted()
        k = self.estimates_["k"]
        out = {"k": k.value, "k_interval": list(k.interval) if k.interval else None, "level": self.level,
               "p_k_gt_1": self.p_k_gt_1_, "regime": self.regime_, "regime_tolerance": self.tol,
               "method": self.method, "transform": self.transform, "noise": self.noise_,
               "headline_from_round": self.headline_from_round_, "by_start": self.by_start_,
               "saturation": self.saturation_, "fitted": self.fitted_, "k_by_capability": self.k_by_capability_,
               "gains": self.gains_.tolist(), "diagnostics": self.diagnostics_, "message": self.message_,
               "converged": self.converged_}
        if "k_per_compute" in self.estimates_:
            kc = self.estimates_["k_per_compute"]
            out["k_per_compute"] = kc.value
            out["k_per_compute_interval"] = list(kc.interval) if kc.interval else None
        return out


def _fitted(levels: lv.Levels, rounds: np.ndarray, k: ParamEstimate, level: float) -> dict[str, Any]:
    """The fitted levels in the metric's units at k's median, and the band of the fitted path over
    k's posterior draws (c0 and G at their best values for each draw)."""
    from rsilab.estimate.transforms import invert_transform

    def values(theta):
        return invert_transform(lv.best_path(levels, np.atleast_1d(theta)), levels.transform, levels.ceiling)

    draws = np.sort(k.draws)[np.linspace(0, len(k.draws) - 1, 201).round().astype(int)]
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(values(np.log(draws)), [tail, 100 - tail], axis=0)
    return {"round": rounds.tolist(), "level": values(np.log(k.value))[0].tolist(), "band": [lo.tolist(), hi.tolist()]}


def _pair_ratios(cap: np.ndarray) -> dict[str, Any]:
    """Each pair's ratio of successive gains against the capability where it was measured: a
    description of the data (noisy: each ratio divides by a difference of noisy levels)."""
    g = np.diff(cap)
    nz = g[:-1] != 0
    return {"capability": cap[1:-1][nz].tolist(), "k": (g[1:][nz] / g[:-1][nz]).tolist()}
