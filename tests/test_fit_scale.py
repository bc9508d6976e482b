"""``fit scale``: a planted trend of ln k in log10(scale) recovered with calibrated intervals, a flat
k = 1 that rarely reports a crossing, the CLI on a CSV, and the bridge to ``forecast --returns-from``."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from rsilab.cli import cli
from rsilab.errors import EstimationError
from rsilab.estimate.calibration import SCALE_DESIGN, simulate, tally_scale
from rsilab.estimate.scale import ScaleFit

Z = 2.33  # one-sided 1%


def _se(p: float, n: int) -> float:
    return float(np.sqrt(p * (1 - p) / n))


@pytest.mark.slow
def test_planted_trend_calibration():
    # Targets, fixed before the run: over 100 simulated sweeps (3 sizes x 3 seeds, 6 levels each,
    # noise 0.25 of the first gain, ln k = ln 0.8 + 0.15 per decade) the slope's 90% interval covers
    # the truth in 85-95% and is on average at most 1.3x as wide as the oracle's (the
    # profile-likelihood interval that knows there is no spread between series). Both are targets
    # on true rates and means: the test fails when the observed figure is beyond the target by more
    # than 2.33 of its Monte Carlo standard errors (the one-sided 1% level), as the other
    # calibration tests do. (Measured: 1.27 and 1.32x in two sets of 100 with this trend, 1.36x with
    # k = 1 at every size: at the target's edge; docs/returns_across_scale.md.)
    r = tally_scale(0.15, 0.8, 100, seed=101)
    lo, hi = 0.85 - Z * _se(0.85, 100), 0.95 + Z * _se(0.95, 100)
    assert lo <= r["coverage"] <= hi, r
    assert r["width_vs_oracle"] <= 1.3 + Z * r["width_vs_oracle_se"], r
    assert abs(r["mean_slope"] - 0.15) <= 0.03, r


@pytest.mark.slow
def test_k_equal_to_1_at_every_scale_rarely_reports_a_crossing():
    # Target: with k = 1 at every scale, a crossing "within the fitted range" in at most 10% of data
    # sets (fails beyond 2.33 standard errors of 0.10 at 100 sets)
    r = tally_scale(0.0, 1.0, 100, seed=202)
    assert r["share_crossing_in_range"] <= 0.10 + Z * _se(0.10, 100), r


def _sweep(rng, slope=0.15, k_mid=0.8):
    caps, ses = [], []
    for s in SCALE_DESIGN:
        d = simulate(float(np.exp(np.log(k_mid) + slope * (np.log10(s) - 7.0))), 6, 0.1, "unbounded", rng)
        caps.append(d["values"])
        ses.append(d["se"])
    return caps, ses


def test_fit_reports_extrapolation_and_a_prior():
    caps, ses = _sweep(np.random.default_rng(1))
    est = ScaleFit(at=1e10).fit(SCALE_DESIGN, caps, se=ses)
    r = est.result_dict()
    assert r["extrapolation_orders_of_magnitude"] == pytest.approx(2.0)
    assert r["scale_range"] == [1e6, 1e8]
    # planted slope 0.15 per decade at noise 0.1: about 4 standard errors from 0
    lo, hi = r["slope_interval"]
    assert lo > 0 and lo < 0.15 < hi and r["p_slope_gt_0"] > 0.95, r
    prior = est.to_prior()
    assert prior["quantity"] == "k" and prior["spec"]["dist"] == "empirical"
    # the prior is a new series' k at the target: its median is the trend's there (same draws, plus
    # the spread between series, symmetric in ln k)
    assert np.median(prior["spec"]["samples"]) == pytest.approx(r["k_at_target"], rel=0.1)


def test_a_crossing_is_reported_only_with_an_established_trend():
    # planted crossing at 1e7 (k_mid = 1) with a steep slope: reported, its interval holding 1e7
    caps, ses = _sweep(np.random.default_rng(2), slope=0.4, k_mid=1.0)
    r = ScaleFit().fit(SCALE_DESIGN, caps, se=ses).result_dict()
    assert r["crossing"] is not None and r["crossing"]["interval"][0] < 1e7 < r["crossing"]["interval"][1], r
    # flat k below 1 everywhere: no crossing, and the note says why
    caps, ses = _sweep(np.random.default_rng(3), slope=0.0, k_mid=0.7)
    r = ScaleFit().fit(SCALE_DESIGN, caps, se=ses).result_dict()
    assert r["crossing"] is None and r["crossing_note"].startswith(("no established trend", "not within")), r


def test_too_few_scales_and_short_series_are_refused_or_listed():
    caps, _ = _sweep(np.random.default_rng(0))
    with pytest.raises(EstimationError, match="2 or more scales"):
        ScaleFit().fit([1e6, 1e6, 1e6], caps[:3])
    est = ScaleFit().fit(list(SCALE_DESIGN) + [1e8], caps + [np.array([1.0, 2.0])])
    assert est.skipped_ and "at least 4" in est.skipped_[0]["reason"]


def test_cli_on_a_csv_feeds_forecast_returns_from(tmp_path):
    caps, ses = _sweep(np.random.default_rng(7), slope=0.15, k_mid=1.0)
    lines = ["series,parameters,round,capability,se"]
    for i, (n, cap, se) in enumerate(zip(SCALE_DESIGN, caps, ses)):
        lines += [f"s{i},{n:g},{r},{float(c)!r},{float(e)!r}" for r, (c, e) in enumerate(zip(cap, se))]
    csv = tmp_path / "rounds.csv"
    csv.write_text("\n".join(lines) + "\n")
    store = str(tmp_path / "s.sqlite")
    out = CliRunner().invoke(cli, ["fit", "scale", str(csv), "--at", "1e8", "--json",
                                   "--plot", str(tmp_path / "scale.png"), "--store", store])
    assert out.exit_code == 0, out.output
    fit = json.loads(out.output)
    assert len(fit["series"]) == 9 and fit["prior"]["quantity"] == "k"
    assert {s["noise"] for s in fit["series"]} == {"known"}
    # an empty 640x480 canvas saves to under 10 kB; points, error bars and a band make it larger
    assert (tmp_path / "scale.png").stat().st_size > 10_000
    fit_path = tmp_path / "fit.json"
    fit_path.write_text(out.output)
    res = CliRunner().invoke(cli, ["forecast", "--returns-from", str(fit_path), "--samples", "2000", "--json",
                                   "--out", str(tmp_path / "out"), "--store", store])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["returns_prior"]["parameter"] == "k"
    # the forecast draws k from a new series at 1e8: its median carries over (2000 draws)
    assert summary["effective_returns"]["median"] == pytest.approx(fit["k_new_series_at_target"], rel=0.1)
    text = CliRunner().invoke(cli, ["fit", "scale", str(csv), "--at", "1e10", "--store", store])
    assert text.exit_code == 0 and "2.00 orders of magnitude beyond the data" in text.output, text.output


def test_cli_csv_without_a_scale_column_is_one_line(tmp_path):
    csv = tmp_path / "r.csv"
    csv.write_text("round,capability\n0,1\n1,2\n")
    out = CliRunner().invoke(cli, ["fit", "scale", str(csv)])
    assert out.exit_code == 2 and "no scale column" in out.output and out.output.count("\n") == 1, out.output
