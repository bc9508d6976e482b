"""The outcome models' Monte Carlo summary (rsilab.simulate.outcomes): quantiles of metrics that
may not be reached within the horizon, and quantile bands of series with undefined stretches."""
import numpy as np
import pytest

from rsilab.dynamics.base import Metric
from rsilab.simulate.outcomes import censored_quantiles, column_quantiles, summarise_metric

RNG = np.random.default_rng(7)


def test_without_nan_the_quantiles_are_numpys():
    x = RNG.lognormal(size=1001)
    for by_horizon in (True, False):
        got = censored_quantiles(x, by_horizon=by_horizon)
        # the same linear rule on the same numbers: equal to rounding
        assert got == pytest.approx(np.quantile(x, [0.1, 0.5, 0.9]).tolist(), rel=1e-14)


def test_a_sample_not_reached_ranks_after_every_reached_one():
    # 10 samples, 3 not reached: over all 10, p10 and the median lie among the reached ones
    # (ranks 0.9 and 4.5 of 0..9), p90 (rank 8.1) among the unreached: None, never a date
    x = np.array([5.0, 1.0, np.nan, 3.0, 2.0, np.nan, 4.0, 7.0, 6.0, np.nan])
    p10, median, p90 = censored_quantiles(x, by_horizon=True)
    assert p10 == pytest.approx(1.0 + 0.9 * (2.0 - 1.0))
    assert median == pytest.approx(5.0 + 0.5 * (6.0 - 5.0))
    assert p90 is None
    # a quantile whose interpolation reaches an unreached sample is unknown too (rank 6.3 of
    # 0..9 with 7 reached: between the last reached and the first unreached)
    assert censored_quantiles(x, qs=(0.7,), by_horizon=True) == [None]
    # not by horizon, NaN is "undefined": the quantiles are those of the 7 defined values
    assert censored_quantiles(x, by_horizon=False) == pytest.approx(
        np.quantile(x[~np.isnan(x)], [0.1, 0.5, 0.9]).tolist())


def test_all_unreached_and_empty():
    assert censored_quantiles(np.full(4, np.nan), by_horizon=True) == [None, None, None]
    assert censored_quantiles(np.full(4, np.nan), by_horizon=False) == [None, None, None]


def test_summary_entry_carries_the_fraction_reached_with_its_standard_error():
    x = np.array([0.5, np.nan, 1.5, 2.5])
    m = Metric("ASI", "milestones", "years_after_sc", "years", "", by_horizon=True)
    e = summarise_metric(x, m)
    assert e["fraction_reached"] == 0.75
    assert e["fraction_reached_se"] == pytest.approx(np.sqrt(0.75 * 0.25 / 4))
    assert set(e["years_after_sc"]) == {"p10", "median", "p90"}
    e2 = summarise_metric(x, Metric("g", "phase_years", "years", "years", ""))
    assert e2["fraction_defined"] == 0.75 and "fraction_reached" not in e2


def test_column_bands_match_numpys_nanpercentile_where_defined():
    rows = RNG.normal(size=(500, 6))
    rows[:100, 2] = np.nan           # a column defined for 80% of the rows
    rows[:, 5] = np.nan              # a column defined nowhere
    bands, defined = column_quantiles(rows, (5, 50, 95))
    want = np.nanpercentile(rows[:, :5], (5, 50, 95), axis=0)
    np.testing.assert_allclose(bands[:, :5], want, rtol=1e-13)
    assert np.isnan(bands[:, 5]).all()
    np.testing.assert_allclose(defined, [1, 1, 0.8, 1, 1, 0])
