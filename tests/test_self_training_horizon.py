"""The length horizon (the self-training capability): interpolation and bootstrap on hand-made tables."""
from __future__ import annotations

import numpy as np
import pytest

from rsilab.experiments.self_training import horizon as hz


# -- the horizon of one accuracy table -------------------------------------------------------------
def test_horizon_interpolates_between_the_lengths_around_the_crossing():
    # 0.8 at length 3, 0.4 at length 4: 0.5 is crossed three quarters of the way from 3 to 4.
    assert hz.horizon([1.0, 1.0, 0.8, 0.4, 0.0], 0.5) == (pytest.approx(3.75), False)
    # at 80% the same table crosses exactly at length 3
    assert hz.horizon([1.0, 1.0, 0.8, 0.4, 0.0], 0.8) == (pytest.approx(3.0), False)
    # below the level already at length 1: interpolated from length 0, which counts as solved
    assert hz.horizon([0.2, 0.0], 0.5) == (pytest.approx(0.625), False)


def test_a_dip_below_the_level_does_not_cut_the_horizon_short():
    # 0.4 at length 2 then 0.6 at length 3: the non-increasing fit pools them to 0.5, 0.5.
    assert list(hz.monotone([1.0, 0.4, 0.6, 0.0])) == pytest.approx([1.0, 0.5, 0.5, 0.0])
    assert hz.horizon([1.0, 0.4, 0.6, 0.0], 0.45) == (pytest.approx(3.1), False)
    # weights: a length measured on more instances pulls the pooled value towards itself
    assert list(hz.monotone([0.4, 0.6], [3, 1])) == pytest.approx([0.45, 0.45])


def test_a_curve_above_the_level_at_the_longest_length_is_censored():
    assert hz.horizon([1.0, 0.9, 0.7], 0.5) == (3.0, True)
    with pytest.raises(ValueError, match="level"):
        hz.horizon([1.0, 0.5], 1.0)


# -- the bootstrap over evaluation instances ------------------------------------------------------------
def test_certain_answers_give_a_zero_width_interval():
    shares = [np.ones(50)] * 4 + [np.zeros(50)] * 3  # every instance right up to length 4, wrong after
    boot = hz.bootstrap_horizons(shares, [0.5, 0.8], n_boot=200, seed=1)
    assert boot.shape == (200, 2)
    assert np.all(boot[:, 0] == 4.5) and np.all(boot[:, 1] == pytest.approx(4.2))


@pytest.mark.slow   # many repeated draws, each with its bootstrap
def test_interval_covers_the_true_horizon_about_as_often_as_stated():
    # True accuracy falls linearly; 2 models, 100 instances per length, as in the cpu profile.
    true_acc = np.clip(1.25 - np.arange(1, 21) / 12, 0.0, 1.0)
    truth, _ = hz.horizon(true_acc, 0.5)
    rng = np.random.default_rng(7)
    draws, covered = 120, 0
    for i in range(draws):
        shares = [(rng.random((2, 100)) < p).mean(axis=0) for p in true_acc]
        lo, hi = hz.interval(hz.bootstrap_horizons(shares, [0.5], n_boot=300, seed=i)[:, 0])
        covered += lo <= truth <= hi
    # Stated before running: a 90% interval over 120 draws. Binomial s.d. of the coverage is
    # 0.027; percentile intervals of a monotone-fit statistic may undercover a little, so we
    # accept 0.78..0.98 (about -4.5 to +3 s.d.) and fail on an interval that is clearly off.
    assert 0.78 <= covered / draws <= 0.98, f"coverage {covered / draws:.3f}"


def test_same_instances_in_every_round_make_gains_joint():
    rng = np.random.default_rng(3)
    shares = [(rng.random((2, 100)) < p).mean(axis=0) for p in np.linspace(1.0, 0.0, 12)]
    a = hz.bootstrap_horizons(shares, [0.5], n_boot=300, seed=11)[:, 0]
    b = hz.bootstrap_horizons(shares, [0.5], n_boot=300, seed=11)[:, 0]
    # Replicate b of two rounds redraws the same instances: an unchanged model gains exactly 0.
    assert hz.interval(b - a) == (0.0, 0.0)
    assert hz.interval(a)[1] - hz.interval(a)[0] > 0.1  # while each round alone has real noise


def test_k_from_noise_alone_is_undefined_when_the_previous_gain_is_not_resolved():
    h0, h1 = np.full(100, 5.0), np.full(100, 5.0) + np.linspace(-0.2, 0.2, 100)  # gain straddles 0
    assert hz.gain_ratio_interval([h0, h1, h1 + 1.0]) is None
    h1 = np.full(100, 6.0) + np.linspace(-0.1, 0.1, 100)  # gain 1 +- 0.1
    lo, hi = hz.gain_ratio_interval([h0, h1, h1 + 0.5])  # next gain exactly 0.5 in every replicate
    assert lo == pytest.approx(0.5 / 1.09, rel=0.01) and hi == pytest.approx(0.5 / 0.91, rel=0.01)


def test_verdicts_round_trip_through_the_record():
    rows = hz.encode_correct([[2, 0, 1], [0, 0, 2]])
    assert rows == ["201", "002"]
    back = hz.decode_correct(rows, n_models=2)
    assert [list(r) for r in back] == [[1.0, 0.0, 0.5], [0.0, 0.0, 1.0]]
