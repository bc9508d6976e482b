"""k across scale: returns per round measured at several model sizes, and the trend in log scale.

Owns ``ScaleFit`` and ``load_scale_rounds`` (the CSV form of its input). Input: several series of
rounds (capability after each round, with its noise when known), each at one scale (parameters,
or FLOP per round). The model is hierarchical, on theta = ln k:

    theta_i = a + b (x_i - x_mean) + v_i,   v_i ~ N(0, tau^2),   x = log10(scale)
    levels of series i | theta_i: the levels model (``rsilab.estimate.levels``), its nuisance
                                  parameters and unknown noise integrated out: L_i(theta)
    priors: a ~ N(0, 1) (as the pooled model's mu), b flat on [-B_MAX, B_MAX] per decade,
            tau half-normal(TAU_PRIOR_SD) on the pooled model's grid of taus

Each series enters through its own posterior's likelihood, not a bootstrap over a few pairs;
the posterior of (a, b, tau) is computed on a grid (refined where its mass is) and exactly
integrated: nothing is resampled, so nothing can be silently dropped. Reported: the slope
(ln k per decade, and the factor e^b), k of the trend at the target scale and of a new series
there, P(k > 1) at the target, how many orders of magnitude the target lies beyond the data, and
the scale where the trend crosses k = 1, only when the slope's interval excludes 0 and the
crossing lies within the fitted range (otherwise it says why not); the draws whose trend would
cross only more than ``FAR`` decades away are counted.

Imports numpy and the estimate modules.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rsilab.core.tolerances import RETURNS_TOLERANCE
from rsilab.errors import ConfigError, DataError, EstimationError
from rsilab.estimate.hierarchy import (MU_PRIOR_SD, TAU_GRID, gaussian_kernel, log_convolve, tau_log_prior,
                                       theta_grid)
from rsilab.estimate.levels import Levels, levels_from_values, likelihood, posterior
from rsilab.estimate.result import Estimator, ParamEstimate, check_level
from rsilab.estimate.verdict import verdict

SCALE_COLUMNS = ("parameters", "params", "N", "flop_per_round", "scale")
B_MAX = 3.0        # |slope| per decade the prior allows: k changes by e^3 = 20x per decade at the extremes
FAR = 100.0        # decades: a trend crossing k = 1 farther away than this is "does not cross"
N_A, N_B = 121, 121
# tau here is the spread of ln k between series of one experiment at one scale (seeds): smaller
# than the pooled model's spread between published methods. The registry's pooled fit puts the
# spread between benchmarks of one published run (tau_series) well below 0.4 (docs/evidence.md);
# half-normal(0.2) keeps 0.4 within two SDs. The pooled model's half-normal(0.5) widens the
# slope's interval for a spread seeds rarely have (docs/returns_across_scale.md, calibration).
TAU_PRIOR_SD = 0.2
N_DRAWS = 4000


def _log_post_grid(C: np.ndarray, dx: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sum over series of the convolved log-likelihood at a + b dx_i, on the (a, b) grid: (A, B)."""
    th = theta_grid()
    out = np.zeros((len(a), len(b)))
    for Ci, d in zip(C, dx):
        t = a[:, None] + b[None, :] * d
        vals = np.interp(t, th, Ci, left=-np.inf, right=-np.inf)
        out += vals
    return out


class ScaleFit(Estimator):
    """Fit ln k = a + b (log10 scale - mean) across series; ``at`` is the target scale (default: the largest).

    ``to_prior()`` (the shared one) gives the k of a new series at the target scale."""

    prior_quantity = "k_new_series_at_target"

    def __init__(self, *, at: float | None = None, level: float = 0.9, tol: float = RETURNS_TOLERANCE,
                 min_rounds: int = 4, transform: str = "raw", ceiling: float | None = None, seed: int | None = 0):
        self.at, self.level, self.tol, self.min_rounds = at, level, tol, min_rounds
        self.transform, self.ceiling, self.seed = transform, ceiling, seed

    @property
    def prior_source(self) -> str:  # type: ignore[override]
        return f"k across scale, a new series at {self.target_:.3g}"

    def _check_params(self) -> None:
        if self.at is not None and not (np.isfinite(self.at) and self.at > 0):
            raise ConfigError("at", self.at, "a scale > 0 (parameters or FLOP per round), such as 1e9")
        check_level(self.level)

    def guess(self, scale: Sequence[float], capabilities: Sequence[Sequence[float]]) -> dict[str, float]:
        """Least squares of each series' posterior median ln k on log10(scale)."""
        x = np.log10(np.asarray(scale, float))
        th = np.log([posterior(levels_from_values(c)).median for c in capabilities])
        slope, intercept = np.polyfit(x, th, 1)
        return {"intercept": float(intercept), "slope": float(slope)}

    def fit(self, scale: Sequence[float], capabilities: Sequence[Sequence[float]], labels: Sequence[str] | None = None,
            *, se: Sequence[Sequence[float] | None] | None = None,
            n_items: Sequence[Sequence[float] | None] | None = None) -> "ScaleFit":
        """Series given as capabilities per round (rounds 0, 1, ...), their noise optional per series."""
        self._check_params()
        labels = list(labels) if labels is not None else [f"series {i}" for i in range(len(scale))]
        if len(scale) != len(capabilities):
            raise EstimationError(f"{len(scale)} scales for {len(capabilities)} series: one scale per series")
        ceiling = self.ceiling if self.ceiling is not None else (
            100.0 if self.transform in ("logit", "neglog-error") or n_items is not None else None)
        levels: list[Levels | None] = []
        reasons: dict[int, str] = {}
        for i, cap in enumerate(capabilities):
            cap = np.asarray(cap, float)
            try:
                if len(cap) < self.min_rounds:
                    raise EstimationError(f"{len(cap)} rounds; at least {self.min_rounds} (--min-rounds)")
                if not np.any(np.diff(cap) > 0):
                    raise EstimationError("no round gained capability")
                levels.append(levels_from_values(cap, se=None if se is None else se[i],
                                                 n_items=None if n_items is None else n_items[i],
                                                 transform=self.transform, ceiling=ceiling))
            except EstimationError as exc:
                levels.append(None)
                reasons[i] = str(exc)
        return self.fit_levels(scale, levels, labels, reasons=reasons)

    def fit_levels(self, scale: Sequence[float], levels: Sequence[Levels | None],
                   labels: Sequence[str] | None = None, *, reasons: dict[int, str] | None = None) -> "ScaleFit":
        """Series given as ``Levels``; None leaves a series out, for ``reasons[i]``."""
        self._check_params()
        scale = np.asarray(scale, float)
        labels = list(labels) if labels is not None else [f"series {i}" for i in range(len(scale))]
        if not np.all(np.isfinite(scale) & (scale > 0)):
            bad = int(np.flatnonzero(~(np.isfinite(scale) & (scale > 0)))[0])
            raise EstimationError(f"{labels[bad]}: scale = {scale[bad]!r} must be a number > 0")
        reasons = reasons or {}
        self.skipped_ = [{"label": labels[i], "scale": float(scale[i]), "reason": reasons.get(i, "no levels")}
                         for i, lv in enumerate(levels) if lv is None]
        keep = [i for i, lv in enumerate(levels) if lv is not None]
        n_scales = len({scale[i] for i in keep})
        if len(keep) < 3 or n_scales < 2:
            raise EstimationError(f"{len(keep)} series with k at {n_scales} distinct scale(s): a trend needs at "
                                  f"least 3 series at 2 or more scales ({len(self.skipped_)} series could not be fitted)")
        rng = np.random.default_rng(self.seed)
        th = theta_grid()
        lik = [likelihood(levels[i], th) for i in keep]
        L = np.array([np.nan_to_num(m, nan=-np.inf) for m, _, _ in lik])
        self._profile = np.array([np.nan_to_num(p, nan=-np.inf) for _, p, _ in lik])
        x = np.log10(scale[keep])
        xm = float(x.mean())
        dx = x - xm
        # convolve each series' likelihood with N(0, tau^2) for every tau on the grid
        C = {j: log_convolve(L, gaussian_kernel(float(t))) for j, t in enumerate(TAU_GRID)}
        lp_tau = tau_log_prior(TAU_GRID, TAU_PRIOR_SD)
        def grid_posterior(a_rng, b_rng):
            a, b = np.linspace(*a_rng, N_A), np.linspace(*b_rng, N_B)
            logp = np.stack([_log_post_grid(C[j], dx, a, b) + lp_tau[j] for j in range(len(TAU_GRID))])  # (T, A, B)
            logp += (-0.5 * (a / MU_PRIOR_SD) ** 2)[None, :, None]
            if not np.isfinite(logp).any():
                raise EstimationError("no trend fits every series' levels within the prior's range of k")
            mass = np.exp(logp - logp.max())
            return a, b, mass / mass.sum()

        # a coarse grid, then a fine one over the region that holds the mass
        a, b, mass = grid_posterior((th[0], th[-1]), (-B_MAX, B_MAX))
        ab = mass.sum(axis=0)
        ia, ib = np.flatnonzero((ab > 1e-10 * ab.max()).any(axis=1)), np.flatnonzero((ab > 1e-10 * ab.max()).any(axis=0))
        da, db = a[1] - a[0], b[1] - b[0]
        a, b, mass = grid_posterior((max(a[ia[0]] - da, th[0]), min(a[ia[-1]] + da, th[-1])),
                                    (max(b[ib[0]] - db, -B_MAX), min(b[ib[-1]] + db, B_MAX)))
        da, db = a[1] - a[0], b[1] - b[0]
        # draws from the grid posterior (jittered within their cell)
        flat = rng.choice(mass.size, size=N_DRAWS, p=mass.ravel())
        jt, ja, jb = np.unravel_index(flat, mass.shape)
        ad = a[ja] + (rng.random(N_DRAWS) - 0.5) * da
        bd = b[jb] + (rng.random(N_DRAWS) - 0.5) * db
        taud = TAU_GRID[jt]
        at = float(self.at) if self.at is not None else float(scale[keep].max())
        xt = np.log10(at) - xm
        trend_t = ad + bd * xt
        new_t = trend_t + rng.standard_normal(N_DRAWS) * taud
        x_lo, x_hi = float(x.min()), float(x.max())
        tail = (1 - self.level) / 2 * 100

        def est(name, values, quantity=None, ln=True):
            v = np.exp(values) if ln else values
            lo, hi = np.percentile(v, [tail, 100 - tail])
            return ParamEstimate(name, float(np.median(v)), None, (float(lo), float(hi)), self.level, v, quantity)

        self.estimates_ = {"slope": est("slope (ln k per decade of scale)", bd, ln=False),
                           "intercept": est(f"k at the data's mean scale {10 ** xm:.3g}", ad),
                           "k_at_target": est(f"k of the trend at {at:.3g}", trend_t, "k"),
                           "k_new_series_at_target": est(f"k of a new series at {at:.3g}", new_t, "k")}
        self.k_at_draws_ = np.exp(trend_t)
        self.p_slope_gt_0_ = float(np.mean(bd > 0))
        self.p_k_gt_1_at_target_ = float(np.mean(trend_t > 0))
        self.p_new_k_gt_1_at_target_ = float(np.mean(new_t > 0))
        self.target_ = at
        self.x_mean_ = xm
        self.scale_range_ = (float(10 ** x_lo), float(10 ** x_hi))
        self.extrapolation_orders_ = float(max(0.0, np.log10(at) - x_hi, x_lo - np.log10(at)))
        self.tau_ = {"median": float(np.median(taud)), "mean": float(np.mean(taud))}
        self._crossing(ad, bd, xm, x_lo, x_hi)
        self.series_ = []
        for j, i in enumerate(keep):
            p = posterior(levels[i])
            lo, hi = p.interval(self.level)
            self.series_.append({"label": labels[i], "scale": float(scale[i]), "k": p.median, "k_interval": [lo, hi],
                                 "p_k_gt_1": p.p_greater(1.0), "regime": verdict((lo, hi), self.tol),
                                 "n_rounds": levels[i].n, "noise": levels[i].noise})
        self._dx, self._grid = dx, (a, b)
        self.diagnostics_ = {"n_series": len(keep), "n_scales": n_scales, "n_skipped": len(self.skipped_),
                             "n_draws": N_DRAWS, "draws_not_crossing_within_far": self.n_far_,
                             "grid": {"a": [float(a[0]), float(a[-1]), N_A], "b": [float(b[0]), float(b[-1]), N_B]}}
        self.message_ = ("hierarchical regression of ln k on log10(scale); each series' likelihood of ln k from "
                         "its levels; exact on a grid")
        self.converged_ = True
        return self

    def _crossing(self, ad: np.ndarray, bd: np.ndarray, xm: float, x_lo: float, x_hi: float) -> None:
        """Where the trend crosses k = 1: reported only when the slope's interval excludes 0 and the
        crossing's median lies within the fitted range."""
        tail = (1 - self.level) / 2
        lo_b, hi_b = np.quantile(bd, [tail, 1 - tail])
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = xm - ad / bd
        far = ~np.isfinite(xc) | (np.abs(xc - xm) > FAR)
        self.n_far_ = int(far.sum())
        self.crossing_ = None
        if lo_b <= 0 <= hi_b:
            self.crossing_note_ = (f"no established trend: the slope's {self.level:.0%} interval "
                                   f"[{lo_b:.3g}, {hi_b:.3g}] contains 0")
            return
        d = xc[~far]
        med = float(np.median(d)) if d.size else float("nan")
        if not (np.isfinite(med) and x_lo <= med <= x_hi):
            self.crossing_note_ = (f"not within the fitted range ({10 ** x_lo:.3g} to {10 ** x_hi:.3g})"
                                   + (f": the trend crosses k = 1 near {10 ** med:.3g}" if np.isfinite(med) else ""))
            return
        lo_c, hi_c = np.quantile(d, [tail, 1 - tail])
        self.crossing_ = {"scale": float(10 ** med), "interval": [float(10 ** lo_c), float(10 ** hi_c)],
                          "p_crosses_in_range": float(np.mean((xc >= x_lo) & (xc <= x_hi)))}
        self.crossing_note_ = "k crosses 1 within the fitted range"

    def oracle_slope_interval(self) -> tuple[float, float]:
        """The slope's profile-likelihood interval under the true model's form with no spread between
        series (tau = 0), each series' nuisance parameters at their best: the narrowest honest
        interval these data allow, the calibration's yardstick for width."""
        from scipy.stats import chi2

        th = theta_grid()
        b = np.linspace(-B_MAX, B_MAX, 1201)
        a = np.linspace(th[0], th[-1], 481)
        prof = _log_post_grid(self._profile, self._dx, a, b).max(axis=0)
        inside = b[prof >= prof.max() - 0.5 * chi2.ppf(self.level, 1)]
        return float(inside.min()), float(inside.max())

    def predict(self, scale: Sequence[float] | float) -> dict[str, np.ndarray]:
        """k of the trend at ``scale``: its median and the band at ``level``."""
        self._check_fitted()
        xs = np.log10(np.atleast_1d(np.asarray(scale, float))) - self.x_mean_
        a, b = np.log(self.estimates_["intercept"].draws), self.estimates_["slope"].draws
        draws = np.exp(a[:, None] + b[:, None] * xs[None, :])
        tail = (1 - self.level) / 2 * 100
        lo, med, hi = np.percentile(draws, [tail, 50, 100 - tail], axis=0)
        return {"scale": 10 ** (xs + self.x_mean_), "k": med, "low": lo, "high": hi}

    def result_dict(self) -> dict[str, Any]:
        self._check_fitted()
        slope, kt, kn = self.estimates_["slope"], self.estimates_["k_at_target"], self.estimates_["k_new_series_at_target"]
        return {"slope_per_decade": slope.value, "slope_interval": list(slope.interval),
                "k_factor_per_decade": float(np.exp(slope.value)), "p_slope_gt_0": self.p_slope_gt_0_,
                "k_at_mean_scale": self.estimates_["intercept"].value, "mean_scale": float(10 ** self.x_mean_),
                "target_scale": self.target_, "k_at_target": kt.value, "k_at_target_interval": list(kt.interval),
                "p_k_gt_1_at_target": self.p_k_gt_1_at_target_,
                "regime_at_target": verdict(kt.interval, self.tol),
                "k_new_series_at_target": kn.value, "k_new_series_at_target_interval": list(kn.interval),
                "p_new_series_k_gt_1_at_target": self.p_new_k_gt_1_at_target_,
                "crossing": self.crossing_, "crossing_note": self.crossing_note_, "tau": self.tau_,
                "scale_range": list(self.scale_range_), "extrapolation_orders_of_magnitude": self.extrapolation_orders_,
                "level": self.level, "series": self.series_, "skipped": self.skipped_,
                "diagnostics": self.diagnostics_, "message": self.message_}


def load_scale_rounds(path: str | Path, scale_col: str | None = None) -> dict[str, Any]:
    """Series from a CSV with one row per round: a scale column, capability, and optionally
    ``series`` (rows of one series share it; without it, rows of one scale form one series),
    ``round`` (the order within a series; without it, file order), and ``se`` or ``n_items``
    (the measurement noise, on every row of a series or none)."""
    from rsilab.estimate.io import numeric_column, read_table, require_columns

    header, rows = read_table(path)
    if scale_col is None:
        scale_col = next((c for c in SCALE_COLUMNS if c in header), None)
        if scale_col is None:
            raise DataError(str(path), f"no scale column: name one with --scale-col, or call it one of "
                                       f"{', '.join(SCALE_COLUMNS)}; columns are {header}")
    require_columns(path, header, (scale_col, "capability"))
    scale = numeric_column(path, rows, scale_col, positive=True, why=" (a model size or FLOP per round)")
    cap = numeric_column(path, rows, "capability")
    rnd = numeric_column(path, rows, "round") if "round" in header else np.arange(len(rows), dtype=float)
    noise = {c: numeric_column(path, rows, c, positive=True, allow_empty=True) if c in header else None
             for c in ("se", "n_items")}
    keys = [row.get("series", "") for row in rows] if "series" in header else [f"{s:g}" for s in scale]
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    labels, scales, caps = [], [], []
    per_noise: dict[str, list] = {"se": [], "n_items": []}
    for key, idx in groups.items():
        if len({scale[i] for i in idx}) != 1:
            raise DataError(str(path), f"series {key!r} has more than one {scale_col}: one scale per series",
                            row=idx[0] + 1, column=scale_col)
        order = sorted(idx, key=lambda i: rnd[i])
        labels.append(key if "series" in header else f"{scale_col}={key}")
        scales.append(scale[idx[0]])
        caps.append(cap[order])
        for c, col in noise.items():
            if col is None:
                per_noise[c].append(None)
                continue
            vals = col[order]
            if np.isnan(vals).all():
                per_noise[c].append(None)
            elif np.isnan(vals).any():
                raise DataError(str(path), f"series {key!r} gives {c} on some rows only: on every row or none",
                                row=order[int(np.flatnonzero(np.isnan(vals))[0])] + 1, column=c)
            else:
                per_noise[c].append(vals)
    return {"labels": labels, "scale": np.array(scales), "capability": caps, "scale_column": scale_col,
            "se": per_noise["se"] if any(v is not None for v in per_noise["se"]) else None,
            "n_items": per_noise["n_items"] if any(v is not None for v in per_noise["n_items"]) else None}
