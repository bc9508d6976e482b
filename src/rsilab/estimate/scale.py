"""k across scale: returns per round measured at several model sizes, and the trend in log scale.

Owns ``ScaleFit`` and ``load_scale_rounds`` (the CSV form of its input). Input: several series of
rounds (capability after each round), each at one scale (parameters, or FLOP per round).

- Per series: k with its bootstrap draws, from the rounds estimator (``RoundsFit``); a series
  the rounds estimator refuses (too few rounds, no gain) is listed in ``skipped_`` and left out.
- Across series: weighted least squares of k on x = log10(scale), k = a + b x, weights
  1 / se_i^2 (se_i from the series' own bootstrap, floored at ``se_floor`` so that one
  noiseless series cannot take all the weight).
- Intervals: a two-stage bootstrap: resample the series (with replacement), then replace each
  drawn series' k by a draw from its own bootstrap, and refit. It carries both the scatter
  between series (seeds) and the noise within each; it errs wide, never narrow.
- At the target scale ``at``: k with its band, P(k > 1); the scale where the trend crosses
  k = 1 with its interval, or None when the fitted line does not cross 1 within the fitted
  range; and how many orders of magnitude the target lies beyond the data. Nothing is widened
  by hand: the band is what the bootstrap gives.

Imports numpy and the rounds estimator only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rsilab.errors import ConfigError, DataError, EstimationError
from rsilab.estimate.result import Estimator, check_count, check_level, summarize_draws
from rsilab.estimate.rounds import RoundsFit

SCALE_COLUMNS = ("parameters", "params", "N", "flop_per_round", "scale")


def _wls(x: np.ndarray, k: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """(intercept, slope) of the weighted least-squares line; NaN when x does not vary."""
    sw = w.sum()
    xm, km = (w @ x) / sw, (w @ k) / sw
    sxx = w @ (x - xm) ** 2
    if not sxx > 1e-12 * max(1.0, sw):
        return float("nan"), float("nan")
    b = (w @ ((x - xm) * (k - km))) / sxx
    return float(km - b * xm), float(b)


def _wls_rows(x: np.ndarray, k: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_wls`` on every row of (B, n) arrays at once."""
    sw = w.sum(1)
    xm, km = (w * x).sum(1) / sw, (w * k).sum(1) / sw
    sxx = (w * (x - xm[:, None]) ** 2).sum(1)
    good = sxx > 1e-12 * np.maximum(1.0, sw)
    b = np.where(good, (w * (x - xm[:, None]) * (k - km[:, None])).sum(1) / np.where(good, sxx, 1.0), np.nan)
    return km - b * xm, b


class ScaleFit(Estimator):
    """Fit k = a + b log10(scale) across series; ``at`` is the target scale (default: the largest).

    ``to_prior()`` (the shared one) gives k at the target scale, from its bootstrap draws."""

    prior_quantity = "k_at_target"

    def __init__(self, *, at: float | None = None, n_bootstrap: int = 2000, rounds_bootstrap: int = 2000,
                 level: float = 0.9, min_rounds: int = 5, se_floor: float = 1e-3, seed: int | None = 0):
        self.at, self.n_bootstrap, self.rounds_bootstrap, self.level = at, n_bootstrap, rounds_bootstrap, level
        self.min_rounds, self.se_floor, self.seed = min_rounds, se_floor, seed

    @property
    def prior_source(self) -> str:  # type: ignore[override]
        return f"k across scale, extrapolated to {self.target_:.3g}"

    def _check_params(self) -> None:
        if self.at is not None and not (np.isfinite(self.at) and self.at > 0):
            raise ConfigError("at", self.at, "a scale > 0 (parameters or FLOP per round), such as 1e9")
        check_count("n_bootstrap", self.n_bootstrap, 100, "fewer resamples give no usable interval")
        check_level(self.level)

    def guess(self, scale: Sequence[float], capabilities: Sequence[Sequence[float]]) -> dict[str, float]:
        """Unweighted least squares of each series' closed-form k on log10(scale)."""
        x = np.log10(np.asarray(scale, float))
        k = np.array([RoundsFit().guess(c)["k"] for c in capabilities])
        ok = np.isfinite(k)
        slope, intercept = np.polyfit(x[ok], k[ok], 1)
        return {"intercept": float(intercept), "slope": float(slope)}

    def fit(self, scale: Sequence[float], capabilities: Sequence[Sequence[float]],
            labels: Sequence[str] | None = None) -> "ScaleFit":
        self._check_params()
        scale = np.asarray(scale, float)
        if len(scale) != len(capabilities):
            raise EstimationError(f"{len(scale)} scales for {len(capabilities)} series: one scale per series")
        labels = list(labels) if labels is not None else [f"series {i}" for i in range(len(scale))]
        if not np.all(np.isfinite(scale) & (scale > 0)):
            bad = int(np.flatnonzero(~(np.isfinite(scale) & (scale > 0)))[0])
            raise EstimationError(f"{labels[bad]}: scale = {scale[bad]!r} must be a number > 0")
        rng = np.random.default_rng(self.seed)
        series, skipped = [], []
        for i, (s, cap) in enumerate(zip(scale, capabilities)):
            try:
                rf = RoundsFit(n_bootstrap=self.rounds_bootstrap, level=self.level, min_rounds=self.min_rounds,
                               seed=int(rng.integers(2**31))).fit(np.asarray(cap, float))
            except EstimationError as exc:
                skipped.append({"label": labels[i], "scale": float(s), "reason": str(exc)})
                continue
            draws = rf.k_draws_
            lo, hi = np.percentile(draws, [5, 95]) if len(draws) > 1 else (rf.params_["k"],) * 2
            se = max(float(hi - lo) / (2 * 1.6449), self.se_floor)  # robust: ratio draws have heavy tails
            est = rf.estimates_["k"]
            series.append({"label": labels[i], "scale": float(s), "k": float(est.value), "se": se,
                           "k_interval": list(est.interval) if est.interval else None, "n_rounds": len(cap),
                           "draws": draws})
        self.skipped_ = skipped
        n_scales = len({s["scale"] for s in series})
        if len(series) < 3 or n_scales < 2:
            raise EstimationError(f"{len(series)} series with k at {n_scales} distinct scale(s): a trend needs at "
                                  f"least 3 series at 2 or more scales ({len(skipped)} series could not be fitted)")
        x = np.log10([s["scale"] for s in series])
        k = np.array([s["k"] for s in series])
        w = 1.0 / np.array([s["se"] for s in series]) ** 2
        a, b = _wls(x, k, w)
        n = len(series)
        B = self.n_bootstrap
        own = np.stack([rng.choice(s["draws"], B) for s in series])       # (n, B): each series' own draws
        idx = rng.integers(0, n, (B, n))                                   # (B, n): series resampled
        boot_a, boot_b = _wls_rows(x[idx], own[idx, np.arange(B)[:, None]], w[idx])
        ok = np.isfinite(boot_b)
        boot_a, boot_b = boot_a[ok], boot_b[ok]
        at = float(self.at) if self.at is not None else float(scale.max())
        xt = np.log10(at)
        x_lo, x_hi = float(x.min()), float(x.max())
        k_at = a + b * xt
        k_at_draws = boot_a + boot_b * xt
        self.series_ = [{kk: v for kk, v in s.items() if kk != "draws"} for s in series]
        self.estimates_ = {"slope": summarize_draws("slope (k per decade of scale)", b, boot_b, self.level),
                           "intercept": summarize_draws("intercept (k at scale 1)", a, boot_a, self.level),
                           "k_at_target": summarize_draws(f"k at {at:.3g}", k_at, k_at_draws, self.level,
                                                          quantity="k")}
        self.k_at_draws_ = k_at_draws
        self.p_slope_gt_0_ = float(np.mean(boot_b > 0))
        self.p_k_gt_1_at_target_ = float(np.mean(k_at_draws > 1))
        self.target_ = at
        self.scale_range_ = (float(10 ** x_lo), float(10 ** x_hi))
        self.extrapolation_orders_ = float(max(0.0, xt - x_hi, x_lo - xt))
        # where the line crosses k = 1: reported only inside the range the data cover
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = (1.0 - a) / b if b != 0 else float("nan")
            xc_draws = (1.0 - boot_a) / boot_b
        inside = bool(np.isfinite(xc) and x_lo <= xc <= x_hi)
        self.crossing_ = None
        if inside:
            d = xc_draws[np.isfinite(xc_draws)]
            tail = (1 - self.level) / 2 * 100
            lo_c, hi_c = np.percentile(d, [tail, 100 - tail])
            self.crossing_ = {"scale": float(10 ** xc), "interval": [float(10 ** lo_c), float(10 ** hi_c)],
                              "p_crosses_in_range": float(np.mean((d >= x_lo) & (d <= x_hi)))}
        self.crossing_note_ = ("k crosses 1 within the fitted range" if inside else
                               f"not within the fitted range ({self.scale_range_[0]:.3g} to {self.scale_range_[1]:.3g})")
        self.diagnostics_ = {"n_series": n, "n_scales": n_scales, "n_skipped": len(skipped),
                             "n_bootstrap_used": int(ok.sum()), "n_bootstrap_degenerate": int((~ok).sum())}
        self.message_ = ("weighted least squares of k on log10(scale); two-stage bootstrap (series, then each "
                         "series' own rounds bootstrap)")
        self.converged_ = True
        return self

    def predict(self, scale: Sequence[float] | float) -> dict[str, np.ndarray]:
        """k on the trend at ``scale``: the fit, and the band at ``level`` from the bootstrap."""
        self._check_fitted()
        xs = np.log10(np.atleast_1d(np.asarray(scale, float)))
        a, b = self.estimates_["intercept"], self.estimates_["slope"]
        draws = a.draws[:, None] + b.draws[:, None] * xs[None, :]
        tail = (1 - self.level) / 2 * 100
        lo, hi = np.percentile(draws, [tail, 100 - tail], axis=0)
        return {"scale": 10 ** xs, "k": a.value + b.value * xs, "low": lo, "high": hi}

    def result_dict(self) -> dict[str, Any]:
        self._check_fitted()
        slope, kt = self.estimates_["slope"], self.estimates_["k_at_target"]
        return {"slope_per_decade": slope.value, "slope_interval": list(slope.interval) if slope.interval else None,
                "p_slope_gt_0": self.p_slope_gt_0_, "intercept": self.estimates_["intercept"].value,
                "target_scale": self.target_, "k_at_target": kt.value,
                "k_at_target_interval": list(kt.interval) if kt.interval else None,
                "p_k_gt_1_at_target": self.p_k_gt_1_at_target_, "crossing": self.crossing_,
                "crossing_note": self.crossing_note_, "scale_range": list(self.scale_range_),
                "extrapolation_orders_of_magnitude": self.extrapolation_orders_, "level": self.level,
                "series": self.series_, "skipped": self.skipped_, "diagnostics": self.diagnostics_,
                "message": self.message_}


def load_scale_rounds(path: str | Path, scale_col: str | None = None) -> dict[str, Any]:
    """Series from a CSV with one row per round: a scale column, capability, and optionally
    ``series`` (rows of one series share it; without it, rows of one scale form one series) and
    ``round`` (the order within a series; without it, file order)."""
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
    keys = [row.get("series", "") for row in rows] if "series" in header else [f"{s:g}" for s in scale]
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    labels, scales, caps = [], [], []
    for key, idx in groups.items():
        if len({scale[i] for i in idx}) != 1:
            raise DataError(str(path), f"series {key!r} has more than one {scale_col}: one scale per series",
                            row=idx[0] + 1, column=scale_col)
        order = sorted(idx, key=lambda i: rnd[i])
        labels.append(key if "series" in header else f"{scale_col}={key}")
        scales.append(scale[idx[0]])
        caps.append(cap[order])
    return {"labels": labels, "scale": np.array(scales), "capability": caps, "scale_column": scale_col}
