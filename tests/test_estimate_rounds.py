"""Returns per round k: recovery on geometric sequences, regimes, refusals, properties."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rsilab.errors import ConfigError, EstimationError
from rsilab.core.tolerances import RETURNS_TOLERANCE
from rsilab.estimate.rounds import RoundsFit, classify, gain_ratio


def _capability(k, n=8, g0=1.0, c0=10.0):
    gains = g0 * k ** np.arange(n - 1)
    return np.r_[c0, c0 + np.cumsum(gains)]


@pytest.mark.parametrize("k,regime", [(1.3, "explosion"), (1.0, "combustion"), (0.7, "fizzle")])
def test_geometric_gains_give_exact_k_and_regime(k, regime):
    fit = RoundsFit(n_bootstrap=500).fit(_capability(k))
    assert fit.params_["k"] == pytest.approx(k, rel=1e-12)
    assert fit.regime_ == regime and fit.regime_confidence_ == pytest.approx(1.0)
    assert fit.p_k_gt_1_ == (1.0 if k > 1 else 0.0)


def test_noisy_gains_interval_and_confidence():
    rng = np.random.default_rng(0)
    gains = 1.0 * 1.1 ** np.arange(15) * np.exp(rng.normal(0, 0.1, 15))
    fit = RoundsFit(n_bootstrap=2000, seed=1).fit(np.r_[0, np.cumsum(gains)])
    lo, hi = fit.estimates_["k"].interval
    assert lo < fit.params_["k"] < hi
    # the verdict's confidence is the share of bootstrap draws in the verdict's region
    draws = fit.estimates_["k"].draws
    tol = fit.tol
    region = {"explosion": draws > 1 + tol, "fizzle": draws < 1 - tol,
              "combustion": np.abs(draws - 1) <= tol}[fit.regime_]
    assert fit.regime_confidence_ == pytest.approx(region.mean(), abs=1e-12)
    assert fit.p_k_gt_1_ == pytest.approx((draws > 1).mean(), abs=1e-12) and fit.p_k_gt_1_ > 0.5


def test_per_compute_k_removes_growing_compute():
    # gains double each round but so does the compute spent: per unit compute, k = 1
    cap = _capability(2.0)
    compute = np.r_[1.0, 2.0 ** np.arange(len(cap) - 1)] * 1e15
    fit = RoundsFit(n_bootstrap=200).fit(cap, compute_flop=compute)
    assert fit.params_["k"] == pytest.approx(2.0)
    assert fit.params_["k_per_compute"] == pytest.approx(1.0)


def test_refuses_too_few_rounds_and_no_gains():
    with pytest.raises(EstimationError, match="too few rounds"):
        RoundsFit().fit([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(EstimationError, match="no round gained"):
        RoundsFit().fit([5.0, 5.0, 4.0, 4.0, 3.0, 3.0])
    est = RoundsFit(tol=-0.1)        # scikit-learn's contract: __init__ stores, fit checks
    assert est.tol == -0.1
    with pytest.raises(ConfigError, match="tol"):
        est.fit(_capability(1.1))
    est = RoundsFit()
    est.n_bootstrap = 10
    with pytest.raises(ConfigError, match="n_bootstrap"):
        est.fit(_capability(1.1))


def test_classify_tolerance_edges():
    assert classify(1.05, 0.05) == "combustion" and classify(1.0501, 0.05) == "explosion"
    assert classify(0.95, 0.05) == "combustion" and classify(0.9499, 0.05) == "fizzle"


def test_one_tolerance_for_k_about_1_in_fits_and_forecasts():
    from rsilab.simulate.scenario import DEFAULT_SIMULATION

    assert RoundsFit().tol == RETURNS_TOLERANCE == DEFAULT_SIMULATION["regime_tolerance"]
    assert classify(1 + RETURNS_TOLERANCE) == "combustion" and classify(1 + 1.01 * RETURNS_TOLERANCE) == "explosion"


def test_gain_ratio_is_one_function_for_point_bootstrap_and_compute():
    g = np.array([1.0, 2.0, 3.0, 5.0])
    assert gain_ratio(g[:-1], g[1:]) == pytest.approx((1 * 2 + 2 * 3 + 3 * 5) / (1 + 4 + 9))
    batch = gain_ratio(np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[2.0, 4.0], [1.0, 1.0]]))
    assert batch[0] == pytest.approx(2.0) and np.isnan(batch[1])   # all-zero earlier gains: undefined
    assert RoundsFit().guess(_capability(1.3))["k"] == pytest.approx(1.3)


@settings(max_examples=30, deadline=None)
@given(k=st.floats(0.3, 3.0), g0=st.floats(0.01, 100.0), n=st.integers(5, 12))
def test_property_recovers_k_of_any_geometric_sequence(k, g0, n):
    fit = RoundsFit(n_bootstrap=100).fit(_capability(k, n=n, g0=g0))
    assert fit.params_["k"] == pytest.approx(k, rel=1e-9)


def test_prior_spec_is_empirical_over_bootstrap_draws():
    fit = RoundsFit(n_bootstrap=300).fit(_capability(1.2) + np.r_[0, 0.01, -0.01, 0.02, 0, 0, 0.01, 0])
    prior = fit.to_prior(source="x.csv")
    assert prior["quantity"] == "k" and prior["spec"]["dist"] == "empirical" and prior["source"] == "x.csv"
    assert len(prior["spec"]["samples"]) == 300


def test_an_all_empty_optional_column_is_absent_and_a_partly_empty_one_is_an_error(tmp_path):
    from rsilab.errors import DataError
    from rsilab.estimate.io import load_rounds

    path = tmp_path / "rounds.csv"
    path.write_text("round,capability,compute_flop,seconds\n" + "".join(f"{i},{1.1 ** i},,\n" for i in range(6)))
    loaded = load_rounds(path)
    assert loaded["compute_flop"] is None and loaded["seconds"] is None
    path.write_text("round,capability,compute_flop\n" + "".join(f"{i},{1.1 ** i},{'' if i == 3 else 1e9}\n" for i in range(6)))
    with pytest.raises(DataError, match="row 4.*compute_flop"):
        load_rounds(path)


def test_gains_that_overflow_a_float_are_one_clear_error():
    from rsilab.errors import EstimationError

    with pytest.raises(EstimationError, match="overflows a float: rescale"):
        RoundsFit().fit([-1e308, 1e308, 1.0, 2.0, 3.0, 3.5])
