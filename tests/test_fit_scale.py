"""``fit scale``: a planted trend of k in log N recovered with calibrated intervals; the CLI on a
CSV; the bridge to ``forecast --returns-from``."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from rsilab.cli import cli
from rsilab.errors import EstimationError
from rsilab.estimate.scale import ScaleFit

SCALES = np.repeat([1e3, 1e4, 1e5, 1e6], 3)   # four sizes, three seeds each
A, B = 0.6, 0.1                                # planted: k = 0.6 + 0.1 log10(N), so k = 1 at N = 1e4


def _series(rng: np.random.Generator, n_rounds: int = 12, noise: float = 0.1) -> list[np.ndarray]:
    """Capability per round whose gains grow by k(N) a round, each gain times lognormal noise."""
    out = []
    for n in SCALES:
        k = A + B * np.log10(n)
        gains = 0.1 * k ** np.arange(n_rounds - 1) * np.exp(noise * rng.standard_normal(n_rounds - 1))
        out.append(np.concatenate([[1.0], 1.0 + np.cumsum(gains)]))
    return out


@pytest.mark.slow
def test_planted_trend_recovered_with_interval_coverage_over_repeated_draws():
    # Tolerances, fixed before running: over 100 synthetic data sets the 90% intervals of the
    # slope and of k at 1e7 (one decade beyond the data) must each cover the truth in at least
    # 80% of them: 0.80 is more than 3 binomial standard deviations (0.03) below 0.90, and the
    # two-stage bootstrap is built to err wide. Power: the slope's interval must exclude 0 in at
    # least 90% (the planted 0.1 per decade is ~5 standard errors from 0 at this noise). The
    # mean slope must be within 0.02 of 0.1 (the ratio estimator's bias at 10% noise is ~1%).
    rng = np.random.default_rng(20261129)
    cover_slope = cover_k = excludes_zero = 0
    slopes = []
    n_sets = 100
    for i in range(n_sets):
        est = ScaleFit(at=1e7, n_bootstrap=1000, rounds_bootstrap=1000, seed=i).fit(SCALES, _series(rng))
        lo, hi = est.estimates_["slope"].interval
        klo, khi = est.estimates_["k_at_target"].interval
        cover_slope += lo <= B <= hi
        cover_k += klo <= A + B * 7 <= khi
        excludes_zero += lo > 0
        slopes.append(est.params_["slope"])
    found = {"slope coverage": cover_slope / n_sets, "k(1e7) coverage": cover_k / n_sets,
             "slope > 0 detected": excludes_zero / n_sets, "mean slope": float(np.mean(slopes))}
    assert found["slope coverage"] >= 0.80, found
    assert found["k(1e7) coverage"] >= 0.80, found
    assert found["slope > 0 detected"] >= 0.90, found
    assert abs(found["mean slope"] - B) <= 0.02, found


def test_fit_reports_extrapolation_crossing_and_a_prior():
    est = ScaleFit(at=1e9, n_bootstrap=500, seed=0).fit(SCALES, _series(np.random.default_rng(1)))
    r = est.result_dict()
    assert r["extrapolation_orders_of_magnitude"] == pytest.approx(3.0)
    assert r["scale_range"] == [1e3, 1e6]
    # the planted line crosses k = 1 at 1e4, inside the data: its interval must hold it
    assert r["crossing"] is not None and r["crossing"]["interval"][0] < 1e4 < r["crossing"]["interval"][1], r["crossing"]
    # The planted slope is ~5 standard errors above 0 at this noise (see the coverage test), and the
    # planted k at 1e9 is 1.5: even three decades beyond the data its bootstrap spread (about three
    # slope standard errors, ~0.06, plus the intercept's) leaves 1 several spreads below, so both
    # probabilities must be near 1. 0.95 and 0.9 leave room for the bootstrap's own noise.
    assert r["p_slope_gt_0"] > 0.95 and r["p_k_gt_1_at_target"] > 0.9, r
    prior = est.to_prior()
    assert prior["quantity"] == "k" and prior["spec"]["dist"] == "empirical"
    # the prior's draws are the bootstrap's draws of k at the target; their median and the point
    # estimate differ by the bootstrap's bias, which is well under its spread (~0.1 at 1e9)
    assert np.median(prior["spec"]["samples"]) == pytest.approx(r["k_at_target"], abs=0.1)


def test_flat_k_gives_no_crossing_within_the_range():
    rng = np.random.default_rng(3)
    caps = [np.concatenate([[1.0], 1.0 + np.cumsum(0.1 * 0.8 ** np.arange(9) * np.exp(0.05 * rng.standard_normal(9)))])
            for _ in SCALES]
    r = ScaleFit(n_bootstrap=500).fit(SCALES, caps).result_dict()
    assert r["crossing"] is None and r["crossing_note"].startswith("not within the fitted range")
    assert r["extrapolation_orders_of_magnitude"] == 0.0   # default target: the largest scale


def test_too_few_scales_is_refused():
    caps = _series(np.random.default_rng(0))[:3]
    with pytest.raises(EstimationError, match="2 or more scales"):
        ScaleFit(n_bootstrap=200).fit([1e3, 1e3, 1e3], caps)


def test_cli_on_a_csv_feeds_forecast_returns_from(tmp_path):
    caps = _series(np.random.default_rng(7))
    lines = ["series,parameters,round,capability"]
    for i, (n, cap) in enumerate(zip(SCALES, caps)):
        lines += [f"s{i},{n:g},{r},{float(c)!r}" for r, c in enumerate(cap)]
    csv = tmp_path / "rounds.csv"
    csv.write_text("\n".join(lines) + "\n")
    store = str(tmp_path / "s.sqlite")
    out = CliRunner().invoke(cli, ["fit", "scale", str(csv), "--at", "1e6", "--bootstrap", "500", "--json",
                                   "--plot", str(tmp_path / "scale.png"), "--store", store])
    assert out.exit_code == 0, out.output
    fit = json.loads(out.output)
    assert len(fit["series"]) == 12 and fit["prior"]["quantity"] == "k"
    # an empty 640x480 canvas saves to under 10 kB; points, error bars and a band make it larger
    assert (tmp_path / "scale.png").stat().st_size > 10_000
    fit_path = tmp_path / "fit.json"
    fit_path.write_text(out.output)
    res = CliRunner().invoke(cli, ["forecast", "--returns-from", str(fit_path), "--samples", "2000", "--json",
                                   "--out", str(tmp_path / "out"), "--store", store])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["returns_prior"]["parameter"] == "k"
    # the forecast's k is the fit's k at 1e6 (planted 1.2): its median carries over
    assert summary["effective_returns"]["median"] == pytest.approx(fit["k_at_target"], abs=0.05)
    text = CliRunner().invoke(cli, ["fit", "scale", str(csv), "--at", "1e9", "--bootstrap", "300", "--store", store])
    assert text.exit_code == 0 and "3.00 orders of magnitude beyond the data" in text.output, text.output


def test_cli_csv_without_a_scale_column_is_one_line(tmp_path):
    csv = tmp_path / "r.csv"
    csv.write_text("round,capability\n0,1\n1,2\n")
    out = CliRunner().invoke(cli, ["fit", "scale", str(csv)])
    assert out.exit_code == 2 and "no scale column" in out.output and out.output.count("\n") == 1, out.output
