"""Returns per round k from levels: recovery, the verdict rule, noise sources, refusals, properties."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rsilab.core.tolerances import RETURNS_TOLERANCE
from rsilab.errors import ConfigError, EstimationError
from rsilab.estimate.levels import Levels, geometric_sums, levels_from_values, log_marginal, theta_grid
from rsilab.estimate.rounds import RoundsFit, gain_ratio
from rsilab.estimate.verdict import VERDICTS, describe, verdict


def _capability(k, n=8, g0=1.0, c0=10.0):
    gains = g0 * k ** np.arange(n - 1)
    return np.r_[c0, c0 + np.cumsum(gains)]


@pytest.mark.parametrize("k,word", [(1.3, "explosion"), (1.0, "combustion"), (0.7, "fizzle")])
def test_exact_geometric_levels_give_k_and_the_verdict_of_their_interval(k, word):
    fit = RoundsFit().fit(_capability(k))
    lo, hi = fit.k_interval_
    # noiseless levels: the estimated noise SD collapses to its prior's floor (1e-6 of the levels'
    # range), so the interval is narrow; 1% either side is far wider than that
    assert lo <= k <= hi and hi - lo < 0.02 * k
    assert fit.k_ == pytest.approx(k, rel=0.01) and fit.regime_ == word == verdict((lo, hi))
    assert fit.noise_ == "estimated" and fit.k_ == fit.params_["k"]


def test_the_verdict_reads_the_interval_not_the_point():
    assert verdict((0.5, 0.97)) == "fizzle" and verdict((0.5, 0.99)) == "undetermined"
    assert verdict((1.03, 2.0)) == "explosion" and verdict((1.01, 2.0)) == "undetermined"
    assert verdict((0.985, 1.015)) == "combustion" and verdict((0.97, 1.015)) == "undetermined"
    edge = RETURNS_TOLERANCE
    assert verdict((0.5, 1 - edge)) == "undetermined" and verdict((0.5, 1 - 1.01 * edge)) == "fizzle"
    assert verdict(None) == "undetermined"


def test_each_verdict_is_described_in_words_with_or_without_p():
    """``fit rounds`` prints P(k > 1) in its k line and describes the word without it."""
    for word in VERDICTS:
        for p in (None, 0.4):
            line = describe(word, p, 0.9)
            assert line.startswith(word) and not line.endswith(" )"), line
            assert ("P(k > 1) = 0.40" in line) == (word == "undetermined" and p is not None), line


def test_known_noise_binomial_noise_and_estimated_noise_are_each_used():
    rng = np.random.default_rng(3)
    cap = _capability(0.8, n=7) + rng.normal(0, 0.05, 7)
    known = RoundsFit().fit(cap, se=np.full(7, 0.05))
    estimated = RoundsFit().fit(cap)
    assert known.noise_ == "known" and estimated.noise_ == "estimated"
    pct = [20.0, 31.0, 40.0, 47.5, 53.0, 57.0]
    binom = RoundsFit(transform="logit").fit(pct, n_items=[500] * 6)
    small = RoundsFit(transform="logit").fit(pct, n_items=[30] * 6)
    assert binom.noise_ == "binomial"
    # the same proportions on 30 items are far noisier than on 500: a wider interval
    assert np.ptp(small.k_interval_) > 2 * np.ptp(binom.k_interval_)


def test_a_value_at_the_bound_is_data_with_n_items():
    aime = [0.0, 3.3, 10.0, 13.3, 20.0]          # percent of 30 problems, the first at 0 %
    with pytest.raises(EstimationError, match="inside \\(0, 100\\).*n_items"):
        RoundsFit(transform="logit").fit(aime)
    fit = RoundsFit(transform="logit").fit(aime, n_items=[30] * 5)
    assert np.isfinite(fit.k_) and fit.regime_ in ("fizzle", "undetermined", "combustion", "explosion")


def test_se_is_moved_to_the_fitting_scale_by_the_transform_slope():
    v = np.array([20.0, 40.0, 50.0])
    lv = levels_from_values(v, se=[1.0, 1.0, 1.0], transform="logit", ceiling=100.0)
    p = v / 100
    assert lv.sd == pytest.approx(1.0 / (100 * p * (1 - p)))        # d logit(v/100) / dv
    lv = levels_from_values(v, se=[2.0, 2.0, 2.0], transform="log")
    assert lv.sd == pytest.approx(2.0 / v)


def test_a_loss_after_a_loss_is_not_compounding():
    # Self-Rewarding 70B on ARC-Challenge fell 57.51 -> 54.51 -> 53.13 (registry), then say it rose a
    # little: the gain ratio of the two losses is +0.46, "returns" that look like a slowing loop;
    # on the levels, with G > 0 (the path's gain is positive), the two losses carry no evidence
    # that gains compound or fizzle, and the interval stays wide
    cap = [57.51, 54.51, 53.13, 53.6]
    old = RoundsFit(method="ratio", min_rounds=3).fit(cap)
    assert old.k_ == pytest.approx(gain_ratio(np.diff(cap)[:-1], np.diff(cap)[1:]))
    new = RoundsFit(transform="logit", min_rounds=3).fit(cap, n_items=[1172] * 4)
    assert new.regime_ == "undetermined" and new.k_interval_[1] > 1.5, new


def test_fit_from_round_1_is_reported_beside_the_headline():
    cap = np.r_[0.0, 10.0, 10 + np.cumsum(1.0 * 0.9 ** np.arange(6))]   # a big round-0 step, then k = 0.9
    fit = RoundsFit().fit(cap)
    both = fit.by_start_
    assert both["from round 0"]["headline"] and not both["from round 1"]["headline"]
    assert both["from round 1"]["k"] == pytest.approx(0.9, rel=0.02)
    later = RoundsFit(from_round=1).fit(cap)
    assert later.headline_from_round_ == 1 and later.k_ == pytest.approx(0.9, rel=0.02)
    assert later.by_start_["from round 1"]["headline"]


def test_per_compute_k_removes_growing_compute():
    # gains double each round but so does the compute spent: per unit compute, k = 1
    cap = _capability(2.0)
    compute = np.r_[1.0, 2.0 ** np.arange(len(cap) - 1)] * 1e15
    fit = RoundsFit().fit(cap, compute_flop=compute)
    assert fit.k_ == pytest.approx(2.0, rel=0.01)
    lo, hi = fit.estimates_["k_per_compute"].interval
    assert lo <= 1.0 <= hi and hi - lo < 0.02


def test_refuses_too_few_rounds_and_no_gains():
    with pytest.raises(EstimationError, match="too few rounds"):
        RoundsFit().fit([1.0, 2.0, 3.0])
    with pytest.raises(EstimationError, match="no round gained"):
        RoundsFit().fit([5.0, 5.0, 4.0, 4.0, 3.0, 3.0])
    est = RoundsFit(tol=-0.1)        # scikit-learn's contract: __init__ stores, fit checks
    assert est.tol == -0.1
    with pytest.raises(ConfigError, match="tol"):
        est.fit(_capability(1.1))
    est = RoundsFit(method="ratio")
    est.n_bootstrap = 10
    with pytest.raises(ConfigError, match="n_bootstrap"):
        est.fit(_capability(1.1))
    with pytest.raises(ConfigError, match="method"):
        RoundsFit(method="median").fit(_capability(1.1))


def test_one_tolerance_for_k_about_1_in_fits_and_forecasts():
    from rsilab.simulate.scenario import DEFAULT_SIMULATION

    assert RoundsFit().tol == RETURNS_TOLERANCE == DEFAULT_SIMULATION["regime_tolerance"]


def test_the_ratio_method_is_kept_for_comparison():
    g = np.array([1.0, 2.0, 3.0, 5.0])
    assert gain_ratio(g[:-1], g[1:]) == pytest.approx((1 * 2 + 2 * 3 + 3 * 5) / (1 + 4 + 9))
    batch = gain_ratio(np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[2.0, 4.0], [1.0, 1.0]]))
    assert batch[0] == pytest.approx(2.0) and np.isnan(batch[1])   # all-zero earlier gains: undefined
    fit = RoundsFit(method="ratio").fit(_capability(1.3))
    assert fit.k_ == pytest.approx(1.3, rel=1e-12) and fit.guess(_capability(1.3))["k"] == pytest.approx(1.3)


def test_the_gaussian_marginal_matches_numerical_integration():
    # the closed form integrates c0 and G analytically (flat priors, G > 0); check it against a
    # brute-force 2-D quadrature at three values of k, to 1e-3 in log-likelihood differences
    rng = np.random.default_rng(0)
    t = np.arange(5.0)
    y = 1.0 + 2.0 * geometric_sums(np.array([0.8]), t)[0] / geometric_sums(np.array([0.8]), t)[0][-1]
    y = y + rng.normal(0, 0.2, 5)
    sd = np.full(5, 0.2)
    th = np.log([0.5, 0.8, 1.3])
    closed = log_marginal(Levels(t=t, y=y, sd=sd), th)
    c0 = np.linspace(-3, 5, 801)
    G = np.linspace(1e-6, 8, 801)
    brute = []
    for k in np.exp(th):
        S = geometric_sums(np.array([k]), t)[0]
        S = S / S[-1]
        mu = c0[:, None, None] + G[None, :, None] * S[None, None, :]
        ll = -0.5 * np.sum(((y - mu) / sd) ** 2, axis=2)
        brute.append(np.log(np.exp(ll - ll.max()).sum() * (c0[1] - c0[0]) * (G[1] - G[0])) + ll.max())
    assert np.diff(closed) == pytest.approx(np.diff(brute), abs=1e-3)


@settings(max_examples=20, deadline=None)
@given(k=st.floats(0.3, 3.0), g0=st.floats(0.01, 100.0), n=st.integers(5, 12))
def test_property_the_interval_holds_k_of_any_geometric_sequence(k, g0, n):
    fit = RoundsFit().fit(_capability(k, n=n, g0=g0))
    lo, hi = fit.k_interval_
    assert lo <= k * (1 + 1e-9) and k <= hi * (1 + 1e-9)


def test_prior_spec_is_empirical_over_posterior_draws():
    fit = RoundsFit().fit(_capability(1.2) + np.r_[0, 0.01, -0.01, 0.02, 0, 0, 0.01, 0])
    prior = fit.to_prior(source="x.csv")
    assert prior["quantity"] == "k" and prior["spec"]["dist"] == "empirical" and prior["source"] == "x.csv"
    samples = np.array(prior["spec"]["samples"])
    lo, hi = fit.k_interval_
    # the prior is the posterior: its own 5% and 95% points are the interval's (to the thinning's resolution)
    assert np.percentile(samples, [5, 95]) == pytest.approx([lo, hi], rel=0.02)


def test_a_repr_says_what_was_fitted():
    assert "not fitted" in repr(RoundsFit())
    text = repr(RoundsFit().fit(_capability(0.7)))
    assert "k=0.7 " in text and "fizzle" in text and "8 rounds" in text


def test_saturation_is_compared_and_can_be_told_apart_or_not():
    # constant returns on the logit scale toward a ceiling of 60 %, measured on 100,000 items: the
    # data favour saturation; the same path on 50 items cannot tell the two apart
    t = np.arange(8)
    sat = 60.0 / (1 + np.exp(-(-1.5 + 0.6 * t)))
    big = RoundsFit(transform="logit").fit(sat, n_items=[100_000] * 8)
    assert big.saturation_["favoured"] == "saturation"
    assert big.saturation_["saturation_ceiling"] == pytest.approx(60.0, rel=0.01)
    small = RoundsFit(transform="logit").fit(np.round(sat / 2) * 2, n_items=[50] * 8)
    assert small.saturation_["favoured"] == "neither"
    geo = RoundsFit().fit(_capability(1.2))
    assert geo.saturation_["favoured"] == "geometric"


def test_gains_that_overflow_a_float_are_one_clear_error():
    with pytest.raises(EstimationError, match="overflows a float: rescale"):
        RoundsFit().fit([-1e308, 1e308, 1.0, 2.0, 3.0, 3.5])


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
    path.write_text("round,capability,se,n_items\n" + "".join(f"{i},{10 + i},0.5,100\n" for i in range(6)))
    with pytest.raises(DataError, match="both se and n_items"):
        load_rounds(path)


def test_theta_grid_is_symmetric_about_k_equal_1():
    th = theta_grid()
    assert th[0] == pytest.approx(-th[-1]) and np.any(np.isclose(th, 0.0))
